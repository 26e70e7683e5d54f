-- MariaDB: OPTIMIZE TABLE on InnoDB is a rebuild
-- expect: SS303
SET SESSION lock_wait_timeout = 5;
OPTIMIZE TABLE orders;
