-- squawk changing-column-type; strong_migrations change_column
-- expect: SS105
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ALTER COLUMN id TYPE bigint;
