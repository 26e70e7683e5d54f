-- MariaDB backups: FLUSH TABLES WITH READ LOCK stops every write
-- expect: SS304
SET SESSION lock_wait_timeout = 5;
FLUSH TABLES WITH READ LOCK;
UNLOCK TABLES;
