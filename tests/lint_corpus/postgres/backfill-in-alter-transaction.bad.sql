-- strong_migrations backfilling data (in the migration's transaction)
-- expect: SS117
SET lock_timeout = '2s';
SET statement_timeout = '5s';
BEGIN;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text;
UPDATE orders SET region = 'eu';
COMMIT;
