-- squawk disallowed-unique-constraint; strong_migrations add_unique_constraint
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS orders_code_idx ON orders (code);
ALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE USING INDEX orders_code_idx;
