-- squawk ban-drop-not-null
-- expect: SS132
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ALTER COLUMN region DROP NOT NULL;
