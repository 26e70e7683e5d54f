-- squawk adding-not-nullable-field; strong_migrations change_column_null
-- expect: SS120
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ALTER COLUMN region SET NOT NULL;
