-- squawk ban-truncate-cascade
-- expect: SS131
SET lock_timeout = '2s';
SET statement_timeout = '5s';
TRUNCATE orders CASCADE;
