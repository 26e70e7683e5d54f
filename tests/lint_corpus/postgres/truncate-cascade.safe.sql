-- squawk ban-truncate-cascade
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
DELETE FROM orders WHERE id < 1000;
