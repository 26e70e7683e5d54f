-- strong_migrations backfilling data (in the migration's transaction)
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
BEGIN;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text;
COMMIT;
UPDATE orders SET region = 'eu' WHERE id BETWEEN 1 AND 10000 AND region IS NULL;
