-- squawk adding-field-with-default (PostgreSQL 11+: a constant default is safe)
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS status text DEFAULT 'new';
