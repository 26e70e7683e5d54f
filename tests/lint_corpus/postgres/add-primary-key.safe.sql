-- squawk adding-primary-key-constraint
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS events_pk_idx ON events (id);
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pk_idx;
