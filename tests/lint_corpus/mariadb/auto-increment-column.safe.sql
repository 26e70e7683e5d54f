-- MariaDB online DDL: a new AUTO_INCREMENT column
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE events ADD COLUMN seq BIGINT;
