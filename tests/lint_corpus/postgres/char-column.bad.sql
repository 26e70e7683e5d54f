-- squawk ban-char-field
-- expect: SS144
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS countries (id bigint PRIMARY KEY, code char(2));
