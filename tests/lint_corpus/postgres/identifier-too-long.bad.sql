-- squawk identifier-too-long
-- expect: SS145
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, the_date_on_which_this_account_was_last_reviewed_by_the_compliance_team timestamptz);
