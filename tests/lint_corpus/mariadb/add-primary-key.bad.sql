-- squawk adding-primary-key-constraint (MariaDB: a rebuild)
-- expect: SS303
SET SESSION lock_wait_timeout = 5;
ALTER TABLE events ADD PRIMARY KEY (id);
