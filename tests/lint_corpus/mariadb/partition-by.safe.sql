-- MariaDB partitioning: PARTITION BY on a filled table
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
CREATE TABLE metrics (id BIGINT NOT NULL, at DATE NOT NULL, PRIMARY KEY (id, at))
  PARTITION BY RANGE COLUMNS (at) (PARTITION p2026 VALUES LESS THAN ('2027-01-01'));
