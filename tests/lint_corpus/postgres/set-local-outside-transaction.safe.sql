-- DBA: SET LOCAL outside a transaction does nothing
-- expect: nothing
SET statement_timeout = '5s';
BEGIN;
SET LOCAL lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
COMMIT;
