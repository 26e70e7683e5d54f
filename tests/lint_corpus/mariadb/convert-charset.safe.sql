-- MariaDB online DDL: CONVERT TO CHARACTER SET
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE customers DEFAULT CHARACTER SET utf8mb4;
