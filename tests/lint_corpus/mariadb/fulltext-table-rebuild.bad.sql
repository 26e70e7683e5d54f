-- MariaDB online DDL: a table with a FULLTEXT index is not rebuilt with LOCK=NONE
-- expect: SS308
SET SESSION lock_wait_timeout = 5;
ALTER TABLE searchable ADD COLUMN lang CHAR(2);
