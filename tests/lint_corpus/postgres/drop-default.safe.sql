-- DBA: DROP DEFAULT breaks inserts that relied on it
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ALTER COLUMN region SET DEFAULT 'us';
