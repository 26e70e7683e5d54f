-- MySQL's deduplicating ALTER IGNORE
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE customers ADD CONSTRAINT customers_email UNIQUE (email);
