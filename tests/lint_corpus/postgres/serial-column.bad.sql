-- squawk prefer-identity
-- expect: SS141
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS accounts (id bigserial PRIMARY KEY);
