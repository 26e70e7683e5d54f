-- MariaDB: OPTIMIZE TABLE on InnoDB is a rebuild
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ANALYZE TABLE orders;
