-- squawk transaction-nesting
-- expect: SS118
SET lock_timeout = '2s';
SET statement_timeout = '5s';
BEGIN;
BEGIN;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
COMMIT;
COMMIT;
