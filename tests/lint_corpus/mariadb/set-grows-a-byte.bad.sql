-- MariaDB online DDL: SET values (a ninth one needs a second byte)
-- expect: SS302
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY flags SET('gift','rush','fragile','bulk','cold','hot','dry','wet','late');
