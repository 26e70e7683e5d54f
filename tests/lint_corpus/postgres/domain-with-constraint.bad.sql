-- squawk ban-create-domain-with-constraint
-- expect: SS128
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE DOMAIN positive_amount AS numeric CHECK (VALUE > 0);
