-- strong_migrations change_column (widening an integer)
-- expect: SS302
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY quantity BIGINT;
