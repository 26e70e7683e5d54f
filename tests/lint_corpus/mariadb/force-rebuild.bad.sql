-- gh-ost and pt-online-schema-change exist for this
-- expect: SS303
SET SESSION lock_wait_timeout = 5;
ALTER TABLE orders FORCE;
