-- squawk adding-field-with-default (PostgreSQL 11+: a constant default is safe)
-- expect: SS104
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS seen_at timestamptz DEFAULT clock_timestamp();
