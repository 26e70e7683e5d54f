-- MariaDB online DDL: FULLTEXT indexes (CREATE INDEX form)
-- expect: SS301
SET SESSION lock_wait_timeout = 5;
CREATE FULLTEXT INDEX articles_body ON articles (body);
