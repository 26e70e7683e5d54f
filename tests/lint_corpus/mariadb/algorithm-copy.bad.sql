-- MariaDB online DDL: ALGORITHM=COPY written
-- expect: SS307
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD INDEX orders_created (created_at), ALGORITHM=COPY;
