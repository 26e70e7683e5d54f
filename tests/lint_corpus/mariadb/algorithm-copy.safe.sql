-- MariaDB online DDL: ALGORITHM=COPY written
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD INDEX orders_created (created_at), ALGORITHM=INPLACE, LOCK=NONE;
