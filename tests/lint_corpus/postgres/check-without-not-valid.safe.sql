-- squawk constraint-missing-not-valid; strong_migrations add_check_constraint
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;
