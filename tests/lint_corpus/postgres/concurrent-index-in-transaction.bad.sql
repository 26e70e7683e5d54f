-- squawk ban-concurrent-index-creation-in-transaction
-- expect: SS113
SET lock_timeout = '2s';
SET statement_timeout = '5s';
BEGIN;
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);
COMMIT;
