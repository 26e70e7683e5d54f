#!/usr/bin/env python3
"""Writes tests/lint_corpus/postgres/: a bad and a safe migration for every rule of squawk 2.66 and
every check of strong_migrations that applies to SQL, plus cases DBAs fear (issue 19). Each file's
second line says what shardshift must report: `-- expect: SS1xx` (a bad case must report that rule)
or `-- expect: nothing` (a safe case must report no finding at all). Each file is a unit test
(LintCorpusTest) and a row of the squawk comparison (tests/lint_corpus/compare.sh).
Run it again after editing a case; it rewrites the folder."""
import os
import shutil

P = "SET lock_timeout = '2s';\nSET statement_timeout = '5s';\n"  # what a careful migration starts with

CASES = [
    # (name, source, rule, bad, safe)
    ("add-column-volatile-default", "squawk adding-field-with-default; strong_migrations add_column default", "SS104",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS token uuid DEFAULT gen_random_uuid();",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS token uuid;"),
    ("add-column-constant-default-safe", "squawk adding-field-with-default (PostgreSQL 11+: a constant default is safe)", "SS104",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS seen_at timestamptz DEFAULT clock_timestamp();",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS status text DEFAULT 'new';"),
    ("add-stored-generated-column", "squawk adding-field-with-default (generated); strong_migrations add_column virtual stored", "SS121",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS total_cents bigint GENERATED ALWAYS AS (total * 100) STORED;",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS total_cents bigint;"),
    ("add-foreign-key", "squawk adding-foreign-key-constraint; strong_migrations add_foreign_key", "SS106",
     "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);",
     "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;"),
    ("add-column-references", "squawk adding-foreign-key-constraint (inline); strong_migrations add_reference foreign_key", "SS122",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS coupon_id bigint REFERENCES coupons (id);",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS coupon_id bigint;\n"
     "ALTER TABLE orders ADD CONSTRAINT orders_coupon_fk FOREIGN KEY (coupon_id) REFERENCES coupons (id) NOT VALID;"),
    ("set-not-null", "squawk adding-not-nullable-field; strong_migrations change_column_null", "SS120",
     "ALTER TABLE orders ALTER COLUMN region SET NOT NULL;",
     "ALTER TABLE orders ADD CONSTRAINT orders_region_nn CHECK (region IS NOT NULL) NOT VALID;\n"
     "ALTER TABLE orders VALIDATE CONSTRAINT orders_region_nn;\n"
     "ALTER TABLE orders ALTER COLUMN region SET NOT NULL;\n"
     "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_region_nn;"),
    ("add-primary-key", "squawk adding-primary-key-constraint", "SS107",
     "ALTER TABLE events ADD PRIMARY KEY (id);",
     "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS events_pk_idx ON events (id);\n"
     "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pk_idx;"),
    ("add-required-column", "squawk adding-required-field", "SS103",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text NOT NULL;",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS region text NOT NULL DEFAULT 'eu';"),
    ("alter-domain-add-constraint", "squawk ban-alter-domain-with-add-constraint", "SS123",
     "ALTER DOMAIN positive_amount ADD CONSTRAINT positive CHECK (VALUE > 0);",
     "ALTER DOMAIN positive_amount ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID;"),
    ("char-column", "squawk ban-char-field", "SS144",
     "CREATE TABLE IF NOT EXISTS countries (id bigint PRIMARY KEY, code char(2));",
     "CREATE TABLE IF NOT EXISTS countries (id bigint PRIMARY KEY, code text);"),
    ("concurrent-index-in-transaction", "squawk ban-concurrent-index-creation-in-transaction", "SS113",
     "BEGIN;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);\nCOMMIT;",
     "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);"),
    ("domain-with-constraint", "squawk ban-create-domain-with-constraint", "SS128",
     "CREATE DOMAIN positive_amount AS numeric CHECK (VALUE > 0);",
     "CREATE DOMAIN amount AS numeric;"),
    ("drop-column", "squawk ban-drop-column; strong_migrations remove_column", "SS108",
     "ALTER TABLE orders DROP COLUMN IF EXISTS legacy_flag;",
     "CREATE TABLE IF NOT EXISTS import_scratch (id bigint PRIMARY KEY, raw text);\n"
     "ALTER TABLE import_scratch DROP COLUMN IF EXISTS raw;"),
    ("drop-database", "squawk ban-drop-database", "SS130",
     "DROP DATABASE IF EXISTS reporting;",
     "CREATE DATABASE reporting_v2;"),
    ("drop-not-null", "squawk ban-drop-not-null", "SS132",
     "ALTER TABLE orders ALTER COLUMN region DROP NOT NULL;",
     "ALTER TABLE orders ALTER COLUMN region SET DEFAULT 'eu';"),
    ("drop-table", "squawk ban-drop-table; strong_migrations drop_table", "SS108",
     "DROP TABLE IF EXISTS old_events;",
     "CREATE TABLE IF NOT EXISTS import_scratch (id bigint PRIMARY KEY);\nDROP TABLE IF EXISTS import_scratch;"),
    ("truncate-cascade", "squawk ban-truncate-cascade", "SS131",
     "TRUNCATE orders CASCADE;",
     "DELETE FROM orders WHERE id < 1000;"),
    ("uncommitted-transaction", "squawk ban-uncommitted-transaction", "SS119",
     "BEGIN;\nALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;",
     "BEGIN;\nALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\nCOMMIT;"),
    ("change-column-type", "squawk changing-column-type; strong_migrations change_column", "SS105",
     "ALTER TABLE orders ALTER COLUMN id TYPE bigint;",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS id_v2 bigint;"),
    ("check-without-not-valid", "squawk constraint-missing-not-valid; strong_migrations add_check_constraint", "SS106",
     "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0);",
     "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;"),
    ("validate-in-same-transaction", "squawk constraint-missing-not-valid (validated in the adding transaction); strong_migrations validate_check_constraint", "SS114",
     "BEGIN;\nALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;\n"
     "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;\nCOMMIT;",
     "BEGIN;\nALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID;\nCOMMIT;\n"
     "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;"),
    ("unique-constraint", "squawk disallowed-unique-constraint; strong_migrations add_unique_constraint", "SS107",
     "ALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE (code);",
     "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS orders_code_idx ON orders (code);\n"
     "ALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE USING INDEX orders_code_idx;"),
    ("identifier-too-long", "squawk identifier-too-long", "SS145",
     "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, "
     "the_date_on_which_this_account_was_last_reviewed_by_the_compliance_team timestamptz);",
     "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, last_compliance_review_at timestamptz);"),
    ("int-column", "squawk prefer-bigint-over-int", "SS140",
     "CREATE TABLE IF NOT EXISTS accounts (id int PRIMARY KEY);",
     "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY);"),
    ("smallint-column", "squawk prefer-bigint-over-smallint", "SS140",
     "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, tier smallint);",
     "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, tier bigint);"),
    ("serial-column", "squawk prefer-identity", "SS141",
     "CREATE TABLE IF NOT EXISTS accounts (id bigserial PRIMARY KEY);",
     "CREATE TABLE IF NOT EXISTS accounts (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);"),
    ("vacuum-full", "squawk prefer-repack", "SS110",
     "VACUUM FULL orders;",
     "VACUUM (ANALYZE) orders;"),
    ("cluster", "squawk prefer-repack", "SS110",
     "CLUSTER orders USING orders_pkey;",
     "ANALYZE orders;"),
    ("concurrent-index-not-rerunnable", "squawk prefer-robust-stmts", "SS146",
     "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);",
     "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);"),
    ("varchar-column", "squawk prefer-text-field", "SS142",
     "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, email varchar(255));",
     "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, email text CHECK (length(email) <= 255));"),
    ("timestamp-column", "squawk prefer-timestamptz", "SS143",
     "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, created_at timestamp);",
     "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY, created_at timestamptz);"),
    ("rename-column", "squawk renaming-column; strong_migrations rename_column", "SS109",
     "ALTER TABLE orders RENAME COLUMN total TO amount;",
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS amount numeric;"),
    ("rename-table", "squawk renaming-table; strong_migrations rename_table", "SS109",
     "ALTER TABLE orders RENAME TO purchases;",
     "CREATE OR REPLACE VIEW purchases AS SELECT * FROM orders;"),
    ("index-not-concurrently", "squawk require-concurrent-index-creation; strong_migrations add_index", "SS101",
     "CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id);",
     "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);"),
    ("drop-index-not-concurrently", "squawk require-concurrent-index-deletion; strong_migrations remove_index", "SS102",
     "DROP INDEX IF EXISTS orders_customer_idx;",
     "DROP INDEX CONCURRENTLY IF EXISTS orders_customer_idx;"),
    ("no-lock-timeout", "squawk require-timeout-settings; strong_migrations lock_timeout", "SS112",
     None,  # written below without the preamble
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;"),
    ("lock-timeout-zero", "DBA: lock_timeout = 0 means no limit", "SS112",
     None,
     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;"),
    ("transaction-nesting", "squawk transaction-nesting", "SS118",
     "BEGIN;\nBEGIN;\nALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\nCOMMIT;\nCOMMIT;",
     "BEGIN;\nALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\nCOMMIT;"),
    ("add-serial-column", "squawk adding-serial-primary-key-field; strong_migrations add_column auto_increment", "SS126",
     "ALTER TABLE events ADD COLUMN IF NOT EXISTS seq bigserial;",
     "ALTER TABLE events ADD COLUMN IF NOT EXISTS seq bigint;"),
    ("add-identity-column", "strong_migrations add_column auto_increment (identity)", "SS126",
     "ALTER TABLE events ADD COLUMN IF NOT EXISTS seq bigint GENERATED BY DEFAULT AS IDENTITY;",
     "ALTER TABLE events ADD COLUMN IF NOT EXISTS seq bigint;"),
    ("exclusion-constraint", "strong_migrations add_exclusion_constraint", "SS127",
     "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
     "CREATE TABLE IF NOT EXISTS bookings_v2 (room bigint, during tstzrange, "
     "EXCLUDE USING gist (room WITH =, during WITH &&));"),
    ("json-column", "strong_migrations add_column json", "SS147",
     "ALTER TABLE events ADD COLUMN IF NOT EXISTS payload json;",
     "ALTER TABLE events ADD COLUMN IF NOT EXISTS payload jsonb;"),
    ("rename-schema", "strong_migrations rename_schema", "SS134",
     "ALTER SCHEMA billing RENAME TO invoicing;",
     "CREATE SCHEMA IF NOT EXISTS invoicing;"),
    ("backfill-in-alter-transaction", "strong_migrations backfilling data (in the migration's transaction)", "SS117",
     "BEGIN;\nALTER TABLE orders ADD COLUMN IF NOT EXISTS region text;\nUPDATE orders SET region = 'eu';\nCOMMIT;",
     "BEGIN;\nALTER TABLE orders ADD COLUMN IF NOT EXISTS region text;\nCOMMIT;\n"
     "UPDATE orders SET region = 'eu' WHERE id BETWEEN 1 AND 10000 AND region IS NULL;"),
    ("lock-table", "DBA: an explicit LOCK TABLE", "SS111",
     "BEGIN;\nLOCK TABLE orders IN ACCESS EXCLUSIVE MODE;\nUPDATE orders SET note = '' WHERE id = 1;\nCOMMIT;",
     "BEGIN;\nSELECT id FROM orders WHERE id = 1 FOR UPDATE;\nUPDATE orders SET note = '' WHERE id = 1;\nCOMMIT;"),
    ("detach-partition", "DBA: DETACH PARTITION without CONCURRENTLY", "SS124",
     "ALTER TABLE events DETACH PARTITION events_2024;",
     "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;"),
    ("reindex", "DBA: REINDEX without CONCURRENTLY", "SS125",
     "REINDEX INDEX orders_customer_idx;",
     "REINDEX INDEX CONCURRENTLY orders_customer_idx;"),
    ("enum-value-used-in-transaction", "DBA: an enum value added and used in one transaction", "SS116",
     "BEGIN;\nALTER TYPE order_state ADD VALUE IF NOT EXISTS 'refunded';\n"
     "UPDATE orders SET state = 'refunded' WHERE refunded_at IS NOT NULL;\nCOMMIT;",
     "ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'refunded';\n"
     "UPDATE orders SET state = 'refunded' WHERE refunded_at IS NOT NULL;"),
    ("refresh-materialized-view", "DBA: REFRESH MATERIALIZED VIEW without CONCURRENTLY", "SS110",
     "REFRESH MATERIALIZED VIEW daily_totals;",
     "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_totals;"),
    ("set-unlogged", "DBA: SET UNLOGGED / SET LOGGED rewrite the table", "SS110",
     "ALTER TABLE events SET UNLOGGED;",
     "ALTER TABLE events SET (fillfactor = 90);"),
    ("set-tablespace", "DBA: SET TABLESPACE copies the table", "SS110",
     "ALTER TABLE events SET TABLESPACE fast_disks;",
     "ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0.01);"),
    ("ddl-in-do-block", "DBA: DDL hidden in a DO block", "SS129",
     "DO $$ BEGIN EXECUTE 'ALTER TABLE orders ADD COLUMN note text'; END $$;",
     "DO $$ BEGIN RAISE NOTICE 'checked'; END $$;"),
    ("drop-default", "DBA: DROP DEFAULT breaks inserts that relied on it", "SS136",
     "ALTER TABLE orders ALTER COLUMN region DROP DEFAULT;",
     "ALTER TABLE orders ALTER COLUMN region SET DEFAULT 'us';"),
    ("rename-enum-value", "DBA: ALTER TYPE … RENAME VALUE", "SS133",
     "ALTER TYPE order_state RENAME VALUE 'shipped' TO 'sent';",
     "ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'sent';"),
    ("set-local-outside-transaction", "DBA: SET LOCAL outside a transaction does nothing", "SS135",
     None,
     "BEGIN;\nSET LOCAL lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\nCOMMIT;"),
    ("several-exclusive-locks", "DBA: several ACCESS EXCLUSIVE locks in one transaction", "SS115",
     "BEGIN;\nALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\n"
     "ALTER TABLE customers ADD COLUMN IF NOT EXISTS note text;\nCOMMIT;",
     "BEGIN;\nALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\nCOMMIT;\n"
     "BEGIN;\nALTER TABLE customers ADD COLUMN IF NOT EXISTS note text;\nCOMMIT;"),
]

# Bad cases about the timeout settings themselves: no preamble, or a preamble that does not work.
RAW_BAD = {
    "no-lock-timeout": "SET statement_timeout = '5s';\nALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\n",
    "lock-timeout-zero": "SET lock_timeout = 0;\nSET statement_timeout = '5s';\n"
                         "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\n",
    "set-local-outside-transaction": "SET LOCAL lock_timeout = '2s';\nSET statement_timeout = '5s';\n"
                                     "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\n",
}
RAW_SAFE = {"set-local-outside-transaction": "SET statement_timeout = '5s';\n"}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "postgres")
shutil.rmtree(here, ignore_errors=True)
os.makedirs(here)
for name, source, rule, bad, safe in CASES:
    head = f"-- {source}\n"
    with open(os.path.join(here, f"{name}.bad.sql"), "w") as f:
        f.write(head + f"-- expect: {rule}\n" + (RAW_BAD[name] if bad is None else P + bad + "\n"))
    with open(os.path.join(here, f"{name}.safe.sql"), "w") as f:
        f.write(head + "-- expect: nothing\n" + RAW_SAFE.get(name, P) + safe + "\n")
print(f"{len(CASES)} cases, {2 * len(CASES)} files in {here}")
