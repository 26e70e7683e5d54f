-- strong_migrations rename_schema
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE SCHEMA IF NOT EXISTS invoicing;
