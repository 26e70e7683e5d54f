-- A migration as an application repository keeps it. shardshift lint checks it in CI.
SET lock_timeout = '2s';

CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_placed_at_idx ON orders (placed_at);

-- A new nullable column with no default is a catalog change only: no rewrite.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS gift_note text;
