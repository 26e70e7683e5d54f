-- squawk adding-required-field
-- expect: SS103
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text NOT NULL;
