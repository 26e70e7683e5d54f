#!/usr/bin/env python3
"""Writes tests/lint_corpus/mariadb/: a bad and a safe MariaDB migration for every check of
strong_migrations that applies to MySQL/MariaDB, the operations MariaDB's online DDL documentation
says cannot run with LOCK=NONE, and cases DBAs fear (issue 19). Each file's second line says what
shardshift must report: `-- expect: SS3xx` (a bad case must report that rule) or `-- expect: nothing`
(a safe case must report no finding at all). Every case runs against schema.sql, the tables as they
stand before the migration (given to lint as `--schema`). Each file is a unit test
(LintCorpusTest.Mariadb*), and LintCorpusServerTest runs each on a MariaDB server to check what the
server does with it. Run this again after editing a case; it rewrites the folder."""
import os
import shutil

P = "SET SESSION lock_wait_timeout = 5;\n"  # what a careful migration starts with

SCHEMA = """-- The tables the corpus's migrations run against, as mysqldump --no-data prints them.
CREATE TABLE `customers` (
  `id` bigint(20) NOT NULL,
  `email` varchar(100) NOT NULL,
  `name` varchar(100) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci;

CREATE TABLE `orders` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `customer_id` bigint(20) NOT NULL,
  `total` decimal(10,2) NOT NULL,
  `quantity` int(11) DEFAULT NULL,
  `code` varchar(50) DEFAULT NULL,
  `status` enum('new','paid') NOT NULL DEFAULT 'new',
  `flags` set('gift','rush') DEFAULT NULL,
  `region` varchar(20) DEFAULT NULL,
  `note` text DEFAULT NULL,
  `legacy_flag` tinyint(4) DEFAULT NULL,
  `created_at` datetime NOT NULL DEFAULT current_timestamp(),
  PRIMARY KEY (`id`),
  KEY `orders_customer` (`customer_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `articles` (
  `id` bigint(20) NOT NULL,
  `title` varchar(200) DEFAULT NULL,
  `body` text DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `searchable` (
  `id` bigint(20) NOT NULL,
  `body` text DEFAULT NULL,
  `score` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  FULLTEXT KEY `searchable_body` (`body`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `places` (
  `id` bigint(20) NOT NULL,
  `g` point NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `events` (
  `id` bigint(20) NOT NULL,
  `payload` text DEFAULT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `old_events` (
  `id` bigint(20) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
"""

CASES = [
    # (name, source, rule, bad, safe)
    ("fulltext-index", "MariaDB online DDL: FULLTEXT indexes take no LOCK=NONE", "SS301",
     "ALTER TABLE articles ADD FULLTEXT INDEX articles_body (body);",
     "ALTER TABLE articles ADD INDEX articles_title (title);"),
    ("create-fulltext-index", "MariaDB online DDL: FULLTEXT indexes (CREATE INDEX form)", "SS301",
     "CREATE FULLTEXT INDEX articles_body ON articles (body);",
     "DROP INDEX orders_customer ON orders;\nCREATE INDEX orders_customer_created ON orders (customer_id, created_at);"),
    ("spatial-index", "MariaDB online DDL: SPATIAL indexes take no LOCK=NONE", "SS301",
     "ALTER TABLE places ADD SPATIAL INDEX places_g (g);",
     "CREATE TABLE places_v2 (id BIGINT PRIMARY KEY, g POINT NOT NULL, SPATIAL INDEX places_v2_g (g));"),
    ("change-column-type", "strong_migrations change_column", "SS302",
     "ALTER TABLE orders MODIFY total DECIMAL(14,2) NOT NULL;",
     "ALTER TABLE orders ADD COLUMN total_v2 DECIMAL(14,2);"),
    ("int-to-bigint", "strong_migrations change_column (widening an integer)", "SS302",
     "ALTER TABLE orders MODIFY quantity BIGINT;",
     "ALTER TABLE orders MODIFY quantity INT DEFAULT 1;"),
    ("varchar-past-255-bytes", "strong_migrations change_column (a VARCHAR made longer)", "SS302",
     "ALTER TABLE orders MODIFY code VARCHAR(100);",
     "ALTER TABLE orders MODIFY code VARCHAR(60);"),
    ("varchar-shorter", "strong_migrations change_column (a VARCHAR made shorter)", "SS302",
     "ALTER TABLE orders MODIFY code VARCHAR(40);",
     "ALTER TABLE orders MODIFY code VARCHAR(50) COMMENT 'coupon code';"),
    ("enum-value-inserted", "MariaDB online DDL: ENUM values (appended: INSTANT; inserted: a copy)", "SS302",
     "ALTER TABLE orders MODIFY status ENUM('new','pending','paid') NOT NULL DEFAULT 'new';",
     "ALTER TABLE orders MODIFY status ENUM('new','paid','refunded') NOT NULL DEFAULT 'new';"),
    ("set-grows-a-byte", "MariaDB online DDL: SET values (a ninth one needs a second byte)", "SS302",
     "ALTER TABLE orders MODIFY flags SET('gift','rush','fragile','bulk','cold','hot','dry','wet','late');",
     "ALTER TABLE orders MODIFY flags SET('gift','rush','fragile');"),
    ("null-to-not-null", "strong_migrations change_column_null", "SS303",
     "ALTER TABLE orders MODIFY region VARCHAR(20) NOT NULL;",
     "ALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';"),
    ("modify-forgets-not-null", "MariaDB: MODIFY restates the whole column; one without NOT NULL makes it nullable",
     "SS303",
     "ALTER TABLE orders MODIFY total DECIMAL(10,2) COMMENT 'gross';",
     "ALTER TABLE orders MODIFY total DECIMAL(10,2) NOT NULL COMMENT 'gross';"),
    ("add-primary-key", "squawk adding-primary-key-constraint (MariaDB: a rebuild)", "SS303",
     "ALTER TABLE events ADD PRIMARY KEY (id);",
     "CREATE TABLE events_v2 (id BIGINT NOT NULL PRIMARY KEY, payload TEXT);"),
    ("row-format", "MariaDB online DDL: ROW_FORMAT rebuilds", "SS303",
     "ALTER TABLE orders ROW_FORMAT=COMPRESSED;",
     "ALTER TABLE orders AUTO_INCREMENT = 1000000;"),
    ("force-rebuild", "gh-ost and pt-online-schema-change exist for this", "SS303",
     "ALTER TABLE orders FORCE;",
     "ALTER TABLE orders COMMENT = 'customer orders';"),
    ("optimize-table", "MariaDB: OPTIMIZE TABLE on InnoDB is a rebuild", "SS303",
     "OPTIMIZE TABLE orders;",
     "ANALYZE TABLE orders;"),
    ("explicit-lock-tables", "strong_migrations execute (raw locks); MariaDB LOCK TABLES", "SS304",
     "LOCK TABLES orders WRITE;\nUPDATE orders SET note = '' WHERE id = 1;\nUNLOCK TABLES;",
     "START TRANSACTION;\nUPDATE orders SET note = '' WHERE id = 1;\nCOMMIT;"),
    ("flush-tables-with-read-lock", "MariaDB backups: FLUSH TABLES WITH READ LOCK stops every write", "SS304",
     "FLUSH TABLES WITH READ LOCK;\nUNLOCK TABLES;",
     "BACKUP STAGE START;\nBACKUP STAGE END;"),
    ("no-lock-wait-timeout", "squawk require-timeout-settings (MariaDB: lock_wait_timeout)", "SS305",
     "ALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';",
     "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';"),
    ("drop-column", "strong_migrations remove_column", "SS306",
     "ALTER TABLE orders DROP COLUMN legacy_flag;",
     "CREATE TABLE import_scratch (id BIGINT PRIMARY KEY, raw TEXT);\nALTER TABLE import_scratch DROP COLUMN raw;"),
    ("rename-column", "strong_migrations rename_column", "SS306",
     "ALTER TABLE orders RENAME COLUMN note TO notes;",
     "ALTER TABLE orders ADD COLUMN notes TEXT;"),
    ("rename-table", "strong_migrations rename_table", "SS306",
     "RENAME TABLE orders TO purchases;",
     "CREATE TABLE purchases LIKE orders;"),
    ("drop-table", "strong_migrations drop_table (squawk ban-drop-table)", "SS306",
     "DROP TABLE old_events;",
     "CREATE TABLE import_scratch (id BIGINT PRIMARY KEY);\nDROP TABLE import_scratch;"),
    ("algorithm-copy", "MariaDB online DDL: ALGORITHM=COPY written", "SS307",
     "ALTER TABLE orders ADD INDEX orders_created (created_at), ALGORITHM=COPY;",
     "ALTER TABLE orders ADD INDEX orders_created (created_at), ALGORITHM=INPLACE, LOCK=NONE;"),
    ("lock-exclusive", "MariaDB online DDL: LOCK=EXCLUSIVE written", "SS307",
     "ALTER TABLE orders ADD COLUMN channel VARCHAR(20), LOCK=EXCLUSIVE;",
     "ALTER TABLE orders ADD COLUMN channel VARCHAR(20), ALGORITHM=INSTANT;"),
    ("lock-shared", "MariaDB online DDL: LOCK=SHARED written", "SS307",
     "ALTER TABLE orders ADD INDEX orders_region (region), LOCK=SHARED;",
     "ALTER TABLE orders ADD INDEX orders_region (region), LOCK=NONE;"),
    ("foreign-key-with-checks", "strong_migrations add_foreign_key", "SS308",
     "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);",
     "SET SESSION foreign_key_checks = 0;\n"
     "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);\n"
     "SET SESSION foreign_key_checks = 1;"),
    ("check-constraint", "strong_migrations add_check_constraint (MySQL and MariaDB)", "SS308",
     "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);",
     "CREATE TABLE refunds (id BIGINT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL, CHECK (amount >= 0));"),
    ("convert-charset", "MariaDB online DDL: CONVERT TO CHARACTER SET", "SS308",
     "ALTER TABLE customers CONVERT TO CHARACTER SET utf8mb4;",
     "ALTER TABLE customers DEFAULT CHARACTER SET utf8mb4;"),
    ("uuid-default", "strong_migrations add_column default (MariaDB: a DEFAULT evaluated per row)", "SS308",
     "ALTER TABLE orders ADD COLUMN token CHAR(36) DEFAULT (UUID());",
     "ALTER TABLE orders ADD COLUMN token CHAR(36);"),
    ("column-default", "MariaDB: a DEFAULT computed from another column", "SS308",
     "ALTER TABLE orders ADD COLUMN total_cents BIGINT DEFAULT (total * 100);",
     "ALTER TABLE orders ADD COLUMN seen_at DATETIME DEFAULT CURRENT_TIMESTAMP;"),
    ("stored-generated-column", "strong_migrations add_column virtual stored", "SS308",
     "ALTER TABLE orders ADD COLUMN total_cents BIGINT AS (total * 100) STORED;",
     "ALTER TABLE orders ADD COLUMN total_cents BIGINT AS (total * 100) VIRTUAL;"),
    ("auto-increment-column", "MariaDB online DDL: a new AUTO_INCREMENT column", "SS308",
     "ALTER TABLE events ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT, ADD UNIQUE KEY events_seq (seq);",
     "ALTER TABLE events ADD COLUMN seq BIGINT;"),
    ("drop-primary-key", "MariaDB online DDL: dropping a primary key without adding one", "SS308",
     "ALTER TABLE articles DROP PRIMARY KEY;",
     "CREATE TABLE articles_v2 (id BIGINT NOT NULL, title VARCHAR(200), body TEXT, KEY articles_v2_id (id));"),
    ("alter-ignore-unique", "MySQL's deduplicating ALTER IGNORE", "SS308",
     "ALTER IGNORE TABLE customers ADD UNIQUE KEY customers_email (email);",
     "ALTER TABLE customers ADD CONSTRAINT customers_email UNIQUE (email);"),
    ("partition-by", "MariaDB partitioning: PARTITION BY on a filled table", "SS308",
     "ALTER TABLE orders PARTITION BY HASH (id) PARTITIONS 4;",
     "CREATE TABLE metrics (id BIGINT NOT NULL, at DATE NOT NULL, PRIMARY KEY (id, at))\n"
     "  PARTITION BY RANGE COLUMNS (at) (PARTITION p2026 VALUES LESS THAN ('2027-01-01'));"),
    ("fulltext-table-rebuild", "MariaDB online DDL: a table with a FULLTEXT index is not rebuilt with LOCK=NONE",
     "SS308",
     "ALTER TABLE searchable ADD COLUMN lang CHAR(2);",
     "ALTER TABLE searchable ADD INDEX searchable_score (score);"),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "mariadb")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with open(os.path.join(out, "schema.sql"), "w") as f:
        f.write(SCHEMA)
    for name, source, rule, bad, safe in CASES:
        for kind, body, expect in (("bad", bad, rule), ("safe", safe, "nothing")):
            # The SS305 case is about the timeout line itself; every other case starts with it.
            prefix = "" if rule == "SS305" else P
            with open(os.path.join(out, f"{name}.{kind}.sql"), "w") as f:
                f.write(f"-- {source}\n-- expect: {expect}\n{prefix}{body}\n")


main()
