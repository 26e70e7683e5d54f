-- MariaDB online DDL: a new AUTO_INCREMENT column
-- expect: SS308
SET SESSION lock_wait_timeout = 5;
ALTER TABLE events ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT, ADD UNIQUE KEY events_seq (seq);
