-- MariaDB: a DEFAULT computed from another column
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD COLUMN seen_at DATETIME DEFAULT CURRENT_TIMESTAMP;
