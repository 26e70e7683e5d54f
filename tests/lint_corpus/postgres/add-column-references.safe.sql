-- squawk adding-foreign-key-constraint (inline); strong_migrations add_reference foreign_key
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS coupon_id bigint;
ALTER TABLE orders ADD CONSTRAINT orders_coupon_fk FOREIGN KEY (coupon_id) REFERENCES coupons (id) NOT VALID;
