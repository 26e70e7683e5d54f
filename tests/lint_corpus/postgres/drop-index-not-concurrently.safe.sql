-- squawk require-concurrent-index-deletion; strong_migrations remove_index
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
DROP INDEX CONCURRENTLY IF EXISTS orders_customer_idx;
