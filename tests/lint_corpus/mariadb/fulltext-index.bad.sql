-- MariaDB online DDL: FULLTEXT indexes take no LOCK=NONE
-- expect: SS301
SET SESSION lock_wait_timeout = 5;
ALTER TABLE articles ADD FULLTEXT INDEX articles_body (body);
