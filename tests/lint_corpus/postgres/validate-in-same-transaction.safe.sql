-- squawk constraint-missing-not-valid (validated in the adding transaction); strong_migrations validate_check_constraint
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
BEGIN;
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;
COMMIT;
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
