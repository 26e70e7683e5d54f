-- strong_migrations add_column default (MariaDB: a DEFAULT evaluated per row)
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD COLUMN token CHAR(36);
