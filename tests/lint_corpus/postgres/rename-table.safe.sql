-- squawk renaming-table; strong_migrations rename_table
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE OR REPLACE VIEW purchases AS SELECT * FROM orders;
