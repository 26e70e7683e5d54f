-- squawk prefer-bigint-over-int
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY);
