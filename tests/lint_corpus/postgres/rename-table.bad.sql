-- squawk renaming-table; strong_migrations rename_table
-- expect: SS109
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders RENAME TO purchases;
