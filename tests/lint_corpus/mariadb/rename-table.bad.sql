-- strong_migrations rename_table
-- expect: SS306
SET SESSION lock_wait_timeout = 5;
RENAME TABLE orders TO purchases;
