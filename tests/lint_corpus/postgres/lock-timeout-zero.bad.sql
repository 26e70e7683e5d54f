-- DBA: lock_timeout = 0 means no limit
-- expect: SS112
SET lock_timeout = 0;
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
