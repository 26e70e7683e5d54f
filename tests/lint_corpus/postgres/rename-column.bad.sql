-- squawk renaming-column; strong_migrations rename_column
-- expect: SS109
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders RENAME COLUMN total TO amount;
