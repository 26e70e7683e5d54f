-- MariaDB online DDL: ENUM values (appended: INSTANT; inserted: a copy)
-- expect: SS302
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY status ENUM('new','pending','paid') NOT NULL DEFAULT 'new';
