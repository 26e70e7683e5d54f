-- DBA: REFRESH MATERIALIZED VIEW without CONCURRENTLY
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
REFRESH MATERIALIZED VIEW CONCURRENTLY daily_totals;
