-- squawk prefer-repack
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ANALYZE orders;
