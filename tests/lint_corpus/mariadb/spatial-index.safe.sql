-- MariaDB online DDL: SPATIAL indexes take no LOCK=NONE
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
CREATE TABLE places_v2 (id BIGINT PRIMARY KEY, g POINT NOT NULL, SPATIAL INDEX places_v2_g (g));
