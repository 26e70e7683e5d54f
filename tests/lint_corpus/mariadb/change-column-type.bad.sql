-- strong_migrations change_column
-- expect: SS302
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY total DECIMAL(14,2) NOT NULL;
