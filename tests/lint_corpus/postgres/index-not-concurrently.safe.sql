-- squawk require-concurrent-index-creation; strong_migrations add_index
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);
