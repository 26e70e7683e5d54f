-- DBA: an explicit LOCK TABLE
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
BEGIN;
SELECT id FROM orders WHERE id = 1 FOR UPDATE;
UPDATE orders SET note = '' WHERE id = 1;
COMMIT;
