-- The example application database on MariaDB: users, their orders and order lines.
-- Loaded by `shardshift demo` into the sandbox database my_app. seq_1_to_N is MariaDB's
-- Sequence engine.
CREATE TABLE users (
  id            BIGINT NOT NULL PRIMARY KEY,
  email         VARCHAR(255) NOT NULL,
  name          VARCHAR(255) NOT NULL,
  status        VARCHAR(16) NOT NULL DEFAULT 'active',
  bio           TEXT,
  profile_image BLOB,
  created_at    TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY users_email_key (email),
  KEY users_status_created (status, created_at DESC)
) ENGINE = InnoDB;

CREATE TABLE orders (
  id        BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id   BIGINT NOT NULL,
  total     DECIMAL(12, 2) NOT NULL,
  placed_at DATETIME(6) NOT NULL,
  note      TEXT,
  KEY orders_user_placed (user_id, placed_at),
  CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE order_items (
  order_id BIGINT NOT NULL,
  line_no  INT NOT NULL,
  sku      VARCHAR(32) NOT NULL,
  quantity INT NOT NULL,
  PRIMARY KEY (order_id, line_no),
  CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
) ENGINE = InnoDB;

INSERT INTO users (id, email, name, status, bio, created_at)
SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('User ', seq),
       IF(seq % 10 = 0, 'suspended', 'active'), IF(seq % 3 = 0, REPEAT('bio ', 20), NULL),
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq MINUTE
FROM seq_1_to_20000;

INSERT INTO orders (user_id, total, placed_at)
SELECT 1 + (seq * 7919) % 20000, (seq % 1000) / 10.0 + 1,
       TIMESTAMP '2024-02-01 00:00:00' + INTERVAL (seq * 37) SECOND
FROM seq_1_to_50000;

INSERT INTO order_items (order_id, line_no, sku, quantity)
SELECT o.seq, l.seq, CONCAT('SKU-', (o.seq * l.seq) % 500), 1 + (o.seq + l.seq) % 5
FROM seq_1_to_50000 AS o, seq_1_to_2 AS l;

ANALYZE TABLE users, orders, order_items PERSISTENT FOR ALL;
