-- squawk require-timeout-settings; strong_migrations lock_timeout
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
