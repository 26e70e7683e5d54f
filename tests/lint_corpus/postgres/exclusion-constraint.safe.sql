-- strong_migrations add_exclusion_constraint
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE TABLE IF NOT EXISTS bookings_v2 (room bigint, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));
