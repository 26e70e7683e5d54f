-- MariaDB partitioning: PARTITION BY on a filled table
-- expect: SS308
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders PARTITION BY HASH (id) PARTITIONS 4;
