-- squawk ban-create-domain-with-constraint
-- expect: nothing
SET lock_timeout = '2s';
SET statement_timeout = '5s';
CREATE DOMAIN amount AS numeric;
