-- strong_migrations execute (raw locks); MariaDB LOCK TABLES
-- expect: SS304
SET SESSION lock_wait_timeout = 5;
LOCK TABLES orders WRITE;
UPDATE orders SET note = '' WHERE id = 1;
UNLOCK TABLES;
