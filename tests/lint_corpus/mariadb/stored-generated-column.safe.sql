-- strong_migrations add_column virtual stored
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders ADD COLUMN total_cents BIGINT AS (total * 100) VIRTUAL;
