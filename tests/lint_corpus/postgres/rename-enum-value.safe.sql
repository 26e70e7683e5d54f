-- DBA: ALTER TYPE … RENAME VALUE
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'sent';
