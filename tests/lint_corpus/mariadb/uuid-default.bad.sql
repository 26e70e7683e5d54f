-- strong_migrations add_column default (MariaDB: a DEFAULT evaluated per row)
-- expect: SS308
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD COLUMN token CHAR(36) DEFAULT (UUID());
