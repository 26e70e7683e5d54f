-- MariaDB online DDL: SPATIAL indexes take no LOCK=NONE
-- expect: SS301
SET SESSION lock_wait_timeout = 5;
ALTER TABLE places ADD SPATIAL INDEX places_g (g);
