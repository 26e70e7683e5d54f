-- strong_migrations add_foreign_key
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
SET SESSION foreign_key_checks = 0;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
SET SESSION foreign_key_checks = 1;
