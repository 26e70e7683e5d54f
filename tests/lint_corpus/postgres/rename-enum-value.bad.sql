-- DBA: ALTER TYPE … RENAME VALUE
-- expect: SS133
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TYPE order_state RENAME VALUE 'shipped' TO 'sent';
