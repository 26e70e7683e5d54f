-- squawk ban-drop-table; strong_migrations drop_table
-- expect: SS108
SET lock_timeout = '2s';
SET statement_timeout = '5s';
DROP TABLE IF EXISTS old_events;
