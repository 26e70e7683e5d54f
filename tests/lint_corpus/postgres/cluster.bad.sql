-- squawk prefer-repack
-- expect: SS110
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CLUSTER orders USING orders_pkey;
