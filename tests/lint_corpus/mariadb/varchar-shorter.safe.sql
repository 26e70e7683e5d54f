-- strong_migrations change_column (a VARCHAR made shorter)
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY code VARCHAR(50) COMMENT 'coupon code';
