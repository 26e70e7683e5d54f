-- squawk adding-foreign-key-constraint (inline); strong_migrations add_reference foreign_key
-- expect: SS122
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS coupon_id bigint REFERENCES coupons (id);
