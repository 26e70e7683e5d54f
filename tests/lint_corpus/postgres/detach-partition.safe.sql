-- DBA: DETACH PARTITION without CONCURRENTLY
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;
