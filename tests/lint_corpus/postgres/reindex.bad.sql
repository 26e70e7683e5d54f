-- DBA: REINDEX without CONCURRENTLY
-- expect: SS125
SET lock_timeout = '2s';
SET statement_timeout = '5s';
REINDEX INDEX orders_customer_idx;
