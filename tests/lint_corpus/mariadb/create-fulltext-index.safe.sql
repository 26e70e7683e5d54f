-- MariaDB online DDL: FULLTEXT indexes (CREATE INDEX form)
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
DROP INDEX orders_customer ON orders;
CREATE INDEX orders_customer_created ON orders (customer_id, created_at);
