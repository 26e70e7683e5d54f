-- gh-ost and pt-online-schema-change exist for this
-- expect: nothing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders COMMENT = 'customer orders';
