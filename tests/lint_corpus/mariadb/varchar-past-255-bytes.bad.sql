-- strong_migrations change_column (a VARCHAR made longer)
-- expect: SS302
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY code VARCHAR(100);
