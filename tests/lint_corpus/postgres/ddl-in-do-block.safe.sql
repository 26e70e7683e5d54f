-- DBA: DDL hidden in a DO block
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
DO $$ BEGIN RAISE NOTICE 'checked'; END $$;
