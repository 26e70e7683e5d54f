-- squawk disallowed-unique-constraint; strong_migrations add_unique_constraint
-- expect: SS107
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE (code);
