-- DBA: an enum value added and used in one transaction
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'refunded';
UPDATE orders SET state = 'refunded' WHERE refunded_at IS NOT NULL;
