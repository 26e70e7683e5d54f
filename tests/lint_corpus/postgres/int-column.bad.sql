-- squawk prefer-bigint-over-int
-- expect: SS140
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS accounts (id int PRIMARY KEY);
