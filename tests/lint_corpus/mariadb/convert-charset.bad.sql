-- MariaDB online DDL: CONVERT TO CHARACTER SET
-- expect: SS308
SET SESSION lock_wait_timeout = 5;
ALTER TABLE customers CONVERT TO CHARACTER SET utf8mb4;
