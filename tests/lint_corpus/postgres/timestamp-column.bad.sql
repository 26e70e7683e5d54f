-- squawk prefer-timestamptz
-- expect: SS143
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, created_at timestamp);
