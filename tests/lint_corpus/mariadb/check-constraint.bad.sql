-- strong_migrations add_check_constraint (MySQL and MariaDB)
-- expect: SS308
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);
