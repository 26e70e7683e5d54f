-- MariaDB: MODIFY restates the whole column; one without NOT NULL makes it nullable
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY total DECIMAL(10,2) NOT NULL COMMENT 'gross';
