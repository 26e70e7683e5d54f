-- MariaDB online DDL: ENUM values (appended: INSTANT; inserted: a copy)
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY status ENUM('new','paid','refunded') NOT NULL DEFAULT 'new';
