-- strong_migrations change_column_null
-- expect: SS303
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY region VARCHAR(20) NOT NULL;
