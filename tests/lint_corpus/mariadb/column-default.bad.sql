-- MariaDB: a DEFAULT computed from another column
-- expect: SS308
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD COLUMN total_cents BIGINT DEFAULT (total * 100);
