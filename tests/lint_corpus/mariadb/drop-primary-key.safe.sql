-- MariaDB online DDL: dropping a primary key without adding one
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
CREATE TABLE articles_v2 (id BIGINT NOT NULL, title VARCHAR(200), body TEXT, KEY articles_v2_id (id));
