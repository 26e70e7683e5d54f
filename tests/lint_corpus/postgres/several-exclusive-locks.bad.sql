-- DBA: several ACCESS EXCLUSIVE locks in one transaction
-- expect: SS115
SET lock_timeout = '2s';
SET statement_timeout = '5s';
BEGIN;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
ALTER TABLE customers ADD COLUMN IF NOT EXISTS note text;
COMMIT;
