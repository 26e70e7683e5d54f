-- MariaDB online DDL: FULLTEXT indexes take no LOCK=NONE
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE articles ADD INDEX articles_title (title);
