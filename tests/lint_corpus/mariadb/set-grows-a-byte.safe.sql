-- MariaDB online DDL: SET values (a ninth one needs a second byte)
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY flags SET('gift','rush','fragile');
