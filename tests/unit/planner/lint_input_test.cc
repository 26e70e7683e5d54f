// What lint does with input that is not a plain migration: bytes that are not text, psql's own
// lines, MariaDB quotes left open and DELIMITER blocks, positions in characters, and what the file
// itself says about transactions, tables it made and column types (issue 19's robustness items).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "planner/lint.h"
#include "plans/input_error.h"
#include "plans/toml_reader.h"

namespace shardshift::planner {
namespace {

std::set<std::string> Pg(const std::string& sql, const db::SchemaInfo* live = nullptr) {
  std::set<std::string> out;
  for (const LintFinding& f : LintPostgresSql(sql, "m.sql", live)) out.insert(f.rule);
  return out;
}

// The InputError's "file:line:column" and reason, or "" when none was thrown.
template <class F>
std::string Refusal(F&& lint) {
  try {
    lint();
  } catch (const plans::InputError& e) {
    return e.pos().ToString() + " " + e.reason();
  }
  return "";
}

TEST(LintInputTest, ANulByteOrBytesThatAreNotUtf8AreRefusedAtTheirPlaceInBothDialects) {
  const std::string nul = std::string("SET lock_timeout = '1s';\nCREATE INDEX i ON t (a);\0DROP TABLE t;\n", 62);
  EXPECT_NE(Refusal([&] { LintPostgresSql(nul, "m.sql"); }).find("m.sql:2:25 holds a NUL byte"), std::string::npos)
      << Refusal([&] { LintPostgresSql(nul, "m.sql"); });
  EXPECT_NE(Refusal([&] { LintMariadbSql(nul, "m.sql"); }).find("m.sql:2:25 holds a NUL byte"), std::string::npos);
  const std::string latin1 = "SET lock_timeout = '1s';\nUPDATE t SET name = 'caf\xE9' WHERE id = 1;\n";
  EXPECT_NE(Refusal([&] { LintPostgresSql(latin1, "m.sql"); }).find("m.sql:2:25 is not UTF-8"), std::string::npos)
      << Refusal([&] { LintPostgresSql(latin1, "m.sql"); });
  EXPECT_NE(Refusal([&] { LintMariadbSql(latin1, "m.sql"); }).find("m.sql:2:25 is not UTF-8"), std::string::npos);
  const std::string overlong = "SELECT '\xC0\xAF';\n";  // an overlong "/"
  EXPECT_NE(Refusal([&] { LintPostgresSql(overlong, "m.sql"); }).find("m.sql:1:9"), std::string::npos);
}

TEST(LintInputTest, ADirectoryGivenAsAFileIsRefused) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  EXPECT_NE(Refusal([&] { plans::ReadFileText(dir); }).find("is a directory"), std::string::npos);
}

TEST(LintInputTest, ColumnsCountCharactersNotBytes) {
  const std::vector<LintFinding> f =
      LintPostgresSql("SET lock_timeout = '1s'; SELECT 'éé'; CREATE INDEX i ON t (a);\n", "m.sql");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "SS101");
  EXPECT_EQ(f[0].column, 39);  // 41 bytes in
}

TEST(LintInputTest, PsqlMetaCommandsAndPgDumpCopyDataAreSkippedWithANoteAndTheRestLinted) {
  const std::string dump =
      "\\set ON_ERROR_STOP on\n"
      "SET lock_timeout = '1s';\n"
      "COPY public.orders (id, note) FROM stdin;\n"
      "1\tfirst; DROP TABLE x\n"
      "2\t\\N\n"
      "\\.\n"
      "\\connect other\n"
      "CREATE INDEX orders_note ON public.orders (note);\n";
  const std::vector<LintFinding> f = LintPostgresSql(dump, "dump.sql");
  std::vector<std::pair<std::string, int>> got;
  for (const LintFinding& x : f) got.emplace_back(x.rule, x.line);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int>>{{"SS101", 8}, {"SS100", 1}, {"SS100", 4}, {"SS100", 7}}));
}

TEST(LintInputTest, AMariadbQuoteBacktickOrCommentLeftOpenIsRefusedWhereItOpens) {
  EXPECT_NE(Refusal([] { LintMariadbSql("SET lock_wait_timeout = 5;\nUPDATE t SET a = 'x;\nDROP TABLE t;\n", "m.sql"); })
                .find("m.sql:2:18 a quote opened here is never closed"),
            std::string::npos);
  EXPECT_NE(Refusal([] { LintMariadbSql("ALTER TABLE `t ADD INDEX (a);\n", "m.sql"); }).find("m.sql:1:13 a backtick"),
            std::string::npos);
  EXPECT_NE(Refusal([] { LintMariadbSql("/* start\nDROP TABLE t;\n", "m.sql"); }).find("m.sql:1:1 a /* comment"),
            std::string::npos);
}

TEST(LintInputTest, AMariadbDelimiterBlockIsOneStatementWhoseBodyIsNotLintedAsStatements) {
  const std::string sql =
      "SET SESSION lock_wait_timeout = 5;\n"
      "DELIMITER //\n"
      "CREATE PROCEDURE purge() BEGIN\n"
      "  DROP TABLE old_events;\n"
      "  LOCK TABLES t WRITE;\n"
      "END //\n"
      "DELIMITER ;\n"
      "ALTER TABLE t ADD FULLTEXT INDEX (a);\n";
  const std::vector<LintFinding> f = LintMariadbSql(sql, "m.sql");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "SS301");
  EXPECT_EQ(f[0].line, 8);
}

TEST(LintInputTest, ALockTimeoutCountsOnlyWhenItLimitsTheWait) {
  EXPECT_TRUE(Pg("SET lock_timeout = 0;\nALTER TABLE t ADD COLUMN a text;\n").count("SS112"));
  EXPECT_TRUE(Pg("SET lock_timeout = '1h';\nALTER TABLE t ADD COLUMN a text;\n").count("SS112"));
  EXPECT_FALSE(Pg("SET lock_timeout = 2000;\nALTER TABLE t ADD COLUMN a text;\n").count("SS112"));
  EXPECT_FALSE(Pg("SELECT set_config('lock_timeout', '2s', false);\nALTER TABLE t ADD COLUMN a text;\n").count("SS112"));
  // SET LOCAL holds until the transaction ends; outside one it does nothing.
  EXPECT_FALSE(Pg("BEGIN;\nSET LOCAL lock_timeout = '2s';\nALTER TABLE t ADD COLUMN a text;\nCOMMIT;\n").count("SS112"));
  EXPECT_TRUE(Pg("BEGIN;\nSET LOCAL lock_timeout = '2s';\nCOMMIT;\nALTER TABLE t ADD COLUMN a text;\n").count("SS112"));
  EXPECT_EQ(Pg("SET LOCAL lock_timeout = '2s';\nALTER TABLE t ADD COLUMN a text;\n"),
            (std::set<std::string>{"SS135", "SS112"}));
}

TEST(LintInputTest, WhatTheFileCreatedWaitsOnNoOne) {
  EXPECT_EQ(Pg("CREATE TABLE scratch (id bigint);\nCREATE INDEX s ON scratch (id);\nALTER TABLE scratch ALTER COLUMN "
               "id SET NOT NULL;\nDROP TABLE scratch;\n"),
            std::set<std::string>{});
  EXPECT_EQ(Pg("SET lock_timeout = '1s';\nBEGIN;\nCREATE TABLE a (id bigint);\nALTER TABLE a ADD COLUMN n text;\nALTER "
               "TABLE orders ADD COLUMN n text;\nCOMMIT;\n"),
            std::set<std::string>{});  // one existing table locked: no SS115
}

TEST(LintInputTest, ATypeChangeIsJudgedFromTheLiveColumnWithDb) {
  db::SchemaInfo live;
  db::TableInfo t;
  t.schema = "public";
  t.name = "orders";
  db::ColumnInfo code;
  code.name = "code";
  code.type = "character varying(50)";
  db::ColumnInfo total;
  total.name = "total";
  total.type = "numeric(10,2)";
  db::ColumnInfo id;
  id.name = "id";
  id.type = "integer";
  t.columns = {code, total, id};
  live.tables = {t};
  const std::string set = "SET lock_timeout = '1s';\n";
  EXPECT_EQ(Pg(set + "ALTER TABLE orders ALTER COLUMN code TYPE varchar(100);\n", &live), std::set<std::string>{});
  EXPECT_EQ(Pg(set + "ALTER TABLE orders ALTER COLUMN code TYPE text;\n", &live), std::set<std::string>{});
  EXPECT_EQ(Pg(set + "ALTER TABLE public.orders ALTER COLUMN code TYPE varchar(20);\n", &live),
            std::set<std::string>{"SS105"});
  EXPECT_EQ(Pg(set + "ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,2);\n", &live), std::set<std::string>{});
  EXPECT_EQ(Pg(set + "ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,3);\n", &live),
            std::set<std::string>{"SS105"});
  EXPECT_EQ(Pg(set + "ALTER TABLE orders ALTER COLUMN id TYPE bigint;\n", &live), std::set<std::string>{"SS105"});
  // Without --db lint cannot tell a widening from a rewrite, and says so (a warning, not an error).
  EXPECT_EQ(Pg(set + "ALTER TABLE orders ALTER COLUMN code TYPE varchar(100);\n"), std::set<std::string>{"SS137"});
}

TEST(LintInputTest, FortyThousandStatementsAreLintedWithEveryPosition) {
  std::string sql = "SET lock_timeout = '1s';\n";
  for (int i = 0; i < 40000; ++i) sql += "CREATE INDEX i" + std::to_string(i) + " ON t (a);\n";
  const std::vector<LintFinding> f = LintPostgresSql(sql, "m.sql");
  ASSERT_EQ(f.size(), 40000u);
  EXPECT_EQ(f.back().line, 40001);
  EXPECT_EQ(f.back().column, 1);
}

}  // namespace
}  // namespace shardshift::planner
