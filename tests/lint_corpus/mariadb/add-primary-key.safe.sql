-- squawk adding-primary-key-constraint (MariaDB: a rebuild)
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
CREATE TABLE events_v2 (id BIGINT NOT NULL PRIMARY KEY, payload TEXT);
