-- squawk identifier-too-long
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, last_compliance_review_at timestamptz);
