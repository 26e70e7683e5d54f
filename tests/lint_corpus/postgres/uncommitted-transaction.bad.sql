-- squawk ban-uncommitted-transaction
-- expect: SS119
SET lock_timeout = '2s';
SET statement_timeout = '5s';
BEGIN;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
