-- Range shard 0 of the example users table: ids 1 to 100000. Loaded by `shardshift demo`.
CREATE TABLE users (
  id         bigint PRIMARY KEY,
  email      text NOT NULL UNIQUE,
  name       text NOT NULL,
  status     text NOT NULL DEFAULT 'active',
  bio        text,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO users (id, email, name, status, bio, created_at)
SELECT g, 'user' || g || '@example.com', 'User ' || g,
       CASE WHEN g % 10 = 0 THEN 'suspended' ELSE 'active' END,
       CASE WHEN g % 3 = 0 THEN repeat('bio ', 20) END,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute'
FROM generate_series(1, 100000) AS g;
ANALYZE users;
