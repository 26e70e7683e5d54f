-- strong_migrations execute (raw locks); MariaDB LOCK TABLES
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
START TRANSACTION;
UPDATE orders SET note = '' WHERE id = 1;
COMMIT;
