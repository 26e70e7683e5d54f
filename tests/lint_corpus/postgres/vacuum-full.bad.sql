-- squawk prefer-repack
-- expect: SS110
SET lock_timeout = '2s';
SET statement_timeout = '5s';
VACUUM FULL orders;
