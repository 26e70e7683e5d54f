-- squawk adding-field-with-default; strong_migrations add_column default
-- expect: SS104
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS token uuid DEFAULT gen_random_uuid();
