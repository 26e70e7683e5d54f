-- MariaDB backups: FLUSH TABLES WITH READ LOCK stops every write
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
BACKUP STAGE START;
BACKUP STAGE END;
