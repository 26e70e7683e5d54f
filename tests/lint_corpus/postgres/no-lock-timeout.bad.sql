-- squawk require-timeout-settings; strong_migrations lock_timeout
-- expect: SS112
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
