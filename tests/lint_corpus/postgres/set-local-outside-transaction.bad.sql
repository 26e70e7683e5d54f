-- DBA: SET LOCAL outside a transaction does nothing
-- expect: SS135
SET LOCAL lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
