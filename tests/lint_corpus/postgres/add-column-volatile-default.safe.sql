-- squawk adding-field-with-default; strong_migrations add_column default
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS token uuid;
