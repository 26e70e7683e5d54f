-- strong_migrations change_column
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD COLUMN total_v2 DECIMAL(14,2);
