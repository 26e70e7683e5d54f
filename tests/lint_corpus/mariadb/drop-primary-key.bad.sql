-- MariaDB online DDL: dropping a primary key without adding one
-- expect: SS308
SET SESSION lock_wait_timeout = 5;
ALTER TABLE articles DROP PRIMARY KEY;
