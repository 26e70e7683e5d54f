-- DBA: REINDEX without CONCURRENTLY
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
REINDEX INDEX CONCURRENTLY orders_customer_idx;
