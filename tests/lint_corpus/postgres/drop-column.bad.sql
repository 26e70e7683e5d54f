-- squawk ban-drop-column; strong_migrations remove_column
-- expect: SS108
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders DROP COLUMN IF EXISTS legacy_flag;
