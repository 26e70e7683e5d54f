-- squawk changing-column-type; strong_migrations change_column
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS id_v2 bigint;
