-- MariaDB online DDL: ROW_FORMAT rebuilds
-- expect: SS303
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ROW_FORMAT=COMPRESSED;
