-- MariaDB online DDL: LOCK=EXCLUSIVE written
-- expect: SS307
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD COLUMN channel VARCHAR(20), LOCK=EXCLUSIVE;
