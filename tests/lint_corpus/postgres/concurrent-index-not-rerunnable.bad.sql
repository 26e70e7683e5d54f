-- squawk prefer-robust-stmts
-- expect: SS146
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);
