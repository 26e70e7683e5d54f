-- strong_migrations add_foreign_key
-- expect: SS308
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
