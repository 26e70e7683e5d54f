-- squawk ban-alter-domain-with-add-constraint
-- expect: SS123
SET lock_timeout = '2s';
SET statement_timeout = '5s';
ALTER DOMAIN positive_amount ADD CONSTRAINT positive CHECK (VALUE > 0);
