-- DBA: DDL hidden in a DO block
-- expect: SS129
SET lock_timeout = '2s';
SET statement_timeout = '5s';
DO $$ BEGIN EXECUTE 'ALTER TABLE orders ADD COLUMN note text'; END $$;
