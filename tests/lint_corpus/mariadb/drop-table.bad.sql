-- strong_migrations drop_table (squawk ban-drop-table)
-- expect: SS306
SET SESSION lock_wait_timeout = 5;
DROP TABLE old_events;
