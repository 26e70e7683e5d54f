-- MariaDB online DDL: a table with a FULLTEXT index is not rebuilt with LOCK=NONE
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE searchable ADD INDEX searchable_score (score);
