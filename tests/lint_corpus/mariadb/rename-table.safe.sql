-- strong_migrations rename_table
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
CREATE TABLE purchases LIKE orders;
