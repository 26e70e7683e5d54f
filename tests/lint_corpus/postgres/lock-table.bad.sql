-- DBA: an explicit LOCK TABLE
-- expect: SS111
SET lock_timeout = '2s';
SET statement_timeout = '5s';
BEGIN;
LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;
UPDATE orders SET note = '' WHERE id = 1;
COMMIT;
