-- MariaDB online DDL: LOCK=SHARED written
-- expect: SS307
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD INDEX orders_region (region), LOCK=SHARED;
