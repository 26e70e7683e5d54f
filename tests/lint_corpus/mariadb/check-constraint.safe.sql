-- strong_migrations add_check_constraint (MySQL and MariaDB)
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
CREATE TABLE refunds (id BIGINT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL, CHECK (amount >= 0));
