-- strong_migrations add_column auto_increment (identity)
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE events ADD COLUMN IF NOT EXISTS seq bigint;
