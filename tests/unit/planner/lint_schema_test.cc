// `lint --schema DUMP`: a schema dump gives the existing tables' columns as --db does, for CI with
// no database; and the MariaDB verdicts that need them (the table's charset, a DEFAULT that reads
// a column, partitioning).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "planner/lint.h"
#include "plans/input_error.h"

namespace shardshift::planner {
namespace {

std::set<std::string> PgWithDump(const std::string& sql, const SchemaDump* schema) {
  std::set<std::string> out;
  for (const LintFinding& f : LintPostgresSql(sql, "m.sql", nullptr, schema)) out.insert(f.rule);
  return out;
}

std::set<std::string> MyWithDump(const std::string& sql, const SchemaDump* schema) {
  std::set<std::string> out;
  for (const LintFinding& f : LintMariadbSql(sql, "m.sql", nullptr, schema)) out.insert(f.rule);
  return out;
}

const std::string kPgTimeout = "SET lock_timeout = '2s';\nSET statement_timeout = '5s';\n";
const std::string kMyTimeout = "SET SESSION lock_wait_timeout = 5;\n";

TEST(LintSchemaTest, APgDumpGivesTheTypesATypeChangeIsJudgedFrom) {
  // As pg_dump --schema-only writes it: SET lines, a schema-qualified table, psql's \restrict.
  const SchemaDump dump{"SET statement_timeout = 0;\nSET lock_timeout = 0;\n\\restrict abc\n"
                        "CREATE TABLE public.orders (\n    id integer NOT NULL,\n    note character varying(50)\n);\n"
                        "ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);\n",
                        "dump.sql"};
  const std::string widen = kPgTimeout + "ALTER TABLE orders ALTER COLUMN note TYPE varchar(100);\n";
  const std::string bigint = kPgTimeout + "ALTER TABLE orders ALTER COLUMN id TYPE bigint;\n";
  EXPECT_EQ(PgWithDump(widen, &dump), std::set<std::string>{});  // binary-coercible: no rewrite
  EXPECT_EQ(PgWithDump(widen, nullptr), std::set<std::string>{"SS137"});  // without the type: cannot tell
  EXPECT_EQ(PgWithDump(bigint, &dump), std::set<std::string>{"SS105"});
  // The dump's SET lock_timeout = 0 is not the migration's: the migration without one is reported.
  EXPECT_EQ(PgWithDump("ALTER TABLE orders ALTER COLUMN id TYPE bigint;\n", &dump).count("SS112"), 1u);
  // A table of the dump is not created by the migration: its drops are reported.
  EXPECT_EQ(PgWithDump(kPgTimeout + "ALTER TABLE orders DROP COLUMN note;\n", &dump).count("SS108"), 1u);
}

TEST(LintSchemaTest, ADumpThatIsNotSqlIsRefusedNamingTheDump) {
  const SchemaDump dump{"CREATE TABLE orders (id bigint,\n  note text\n;\n", "dump.sql"};
  try {
    LintPostgresSql(kPgTimeout + "SELECT 1;\n", "m.sql", nullptr, &dump);
    FAIL() << "a dump that does not parse was accepted";
  } catch (const plans::InputError& e) {
    EXPECT_EQ(e.pos().file, "dump.sql");
    EXPECT_EQ(e.pos().line, 3);
  }
  const SchemaDump open{"CREATE TABLE orders (id bigint, note text COMMENT 'unclosed);\n", "dump.sql"};
  try {
    LintMariadbSql(kMyTimeout + "SELECT 1;\n", "m.sql", nullptr, &open);
    FAIL() << "a dump with a quote left open was accepted";
  } catch (const plans::InputError& e) {
    EXPECT_EQ(e.pos().file, "dump.sql");
  }
}

TEST(LintSchemaTest, AMysqldumpGivesTypesCharsetsAndFulltextIndexes) {
  const SchemaDump dump{"/*!40101 SET NAMES utf8mb4 */;\n"
                        "CREATE TABLE `latin` (\n  `id` bigint(20) NOT NULL,\n  `code` varchar(50) DEFAULT NULL,\n"
                        "  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=latin1;\n"
                        "CREATE TABLE `wide` (\n  `id` bigint(20) NOT NULL,\n  `code` varchar(50) DEFAULT NULL,\n"
                        "  `total` decimal(10,2) NOT NULL,\n  `body` text,\n  PRIMARY KEY (`id`)\n"
                        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
                        "CREATE TABLE `docs` (\n  `id` bigint(20) NOT NULL,\n  `body` text,\n  PRIMARY KEY (`id`),\n"
                        "  FULLTEXT KEY `docs_body` (`body`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
                        "dump.sql"};
  // 200 characters: 200 bytes in latin1 (one length byte still), 800 in utf8mb4 (a copy).
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE latin MODIFY code VARCHAR(200);\n", &dump), std::set<std::string>{});
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE wide MODIFY code VARCHAR(200);\n", &dump), std::set<std::string>{"SS302"});
  // total is NOT NULL: a MODIFY that leaves it out makes it nullable, a rebuild.
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE wide MODIFY total DECIMAL(10,2) COMMENT 'gross';\n", &dump),
            std::set<std::string>{"SS303"});
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE wide MODIFY total DECIMAL(10,2) NOT NULL COMMENT 'gross';\n", &dump),
            std::set<std::string>{});
  // A column added to a table with a FULLTEXT index rebuilds it under a lock; elsewhere it is INSTANT.
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE docs ADD COLUMN lang CHAR(2);\n", &dump), std::set<std::string>{"SS308"});
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE wide ADD COLUMN lang CHAR(2);\n", &dump), std::set<std::string>{});
  // The dump's tables exist already: dropping a column of one is reported, unlike one the file makes.
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE wide DROP COLUMN body;\n", &dump), std::set<std::string>{"SS306"});
}

TEST(LintSchemaTest, MariadbDefaultsThatCopyAreThoseEvaluatedPerRow) {
  const SchemaDump dump{"CREATE TABLE t (id BIGINT PRIMARY KEY, total DECIMAL(10,2) NOT NULL);\n", "dump.sql"};
  auto add = [&](const std::string& column) { return MyWithDump(kMyTimeout + "ALTER TABLE t ADD COLUMN " + column + ";\n", &dump); };
  EXPECT_EQ(add("x CHAR(36) DEFAULT UUID()"), std::set<std::string>{"SS308"});
  EXPECT_EQ(add("x CHAR(36) DEFAULT (UUID())"), std::set<std::string>{"SS308"});
  EXPECT_EQ(add("x DATETIME DEFAULT SYSDATE()"), std::set<std::string>{"SS308"});
  EXPECT_EQ(add("x BIGINT DEFAULT (total * 100)"), std::set<std::string>{"SS308"});
  EXPECT_EQ(add("x BIGINT DEFAULT (`total`+1)"), std::set<std::string>{"SS308"});
  EXPECT_EQ(add("x INT DEFAULT (1 + 1)"), std::set<std::string>{});
  EXPECT_EQ(add("x DATETIME DEFAULT CURRENT_TIMESTAMP"), std::set<std::string>{});
  EXPECT_EQ(add("x DATETIME(6) DEFAULT (NOW(6))"), std::set<std::string>{});
  EXPECT_EQ(add("x VARCHAR(9) DEFAULT 'total' COMMENT 'DEFAULT (total)'"), std::set<std::string>{});
}

TEST(LintSchemaTest, MariadbPartitioningCopiesEvenWithAlgorithmInstantWritten) {
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE t PARTITION BY HASH (id) PARTITIONS 4;\n", nullptr), std::set<std::string>{"SS308"});
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE t ALGORITHM=INSTANT PARTITION BY HASH (id) PARTITIONS 4;\n", nullptr),
            std::set<std::string>{"SS308"});
  // LOCK=NONE makes the server refuse it rather than block.
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE t LOCK=NONE PARTITION BY HASH (id) PARTITIONS 4;\n", nullptr),
            std::set<std::string>{});
  EXPECT_EQ(MyWithDump(kMyTimeout + "ALTER TABLE t REMOVE PARTITIONING;\n", nullptr), std::set<std::string>{"SS308"});
}

}  // namespace
}  // namespace shardshift::planner
