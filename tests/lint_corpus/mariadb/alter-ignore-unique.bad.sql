-- MySQL's deduplicating ALTER IGNORE
-- expect: SS308
SET SESSION lock_wait_timeout = 5;
ALTER IGNORE TABLE customers ADD UNIQUE KEY customers_email (email);
