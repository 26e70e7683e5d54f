-- strong_migrations change_column (widening an integer)
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY quantity INT DEFAULT 1;
