-- DBA: REFRESH MATERIALIZED VIEW without CONCURRENTLY
-- expect: SS110
SET lock_timeout = '2s';
SET statement_timeout = '5s';
REFRESH MATERIALIZED VIEW daily_totals;
