-- strong_migrations add_exclusion_constraint
-- expect: SS127
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);
