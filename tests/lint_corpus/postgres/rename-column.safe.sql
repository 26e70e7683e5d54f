-- squawk renaming-column; strong_migrations rename_column
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS amount numeric;
