-- MariaDB online DDL: ROW_FORMAT rebuilds
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders AUTO_INCREMENT = 1000000;
