-- strong_migrations add_column json
-- expect: SS147
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE events ADD COLUMN IF NOT EXISTS payload json;
