-- squawk adding-primary-key-constraint
-- expect: SS107
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER TABLE events ADD PRIMARY KEY (id);
