-- squawk prefer-text-field
-- expect: SS142
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, email varchar(255));
