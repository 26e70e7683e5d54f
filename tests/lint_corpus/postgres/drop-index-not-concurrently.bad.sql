-- squawk require-concurrent-index-deletion; strong_migrations remove_index
-- expect: SS102
SET lock_timeout = '2s';
SET statement_timeout = '5s';
DROP INDEX IF EXISTS orders_customer_idx;
