-- squawk adding-field-with-default (generated); strong_migrations add_column virtual stored
-- expect: SS121
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS total_cents bigint GENERATED ALWAYS AS (total * 100) STORED;
