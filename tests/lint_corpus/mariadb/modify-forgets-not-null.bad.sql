-- MariaDB: MODIFY restates the whole column; one without NOT NULL makes it nullable
-- expect: SS303
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders MODIFY total DECIMAL(10,2) COMMENT 'gross';
