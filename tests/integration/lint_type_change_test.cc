// SS105/SS137 against the server: for each column type change, lint with the live column's type
// (--db) says "rewrites the table" exactly when PostgreSQL gives the table a new relfilenode.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "planner/lint.h"
#include "tests/integration/harness.h"

namespace shardshift {
namespace {

TEST(LintTypeChangeTest, PostgresVerdictsMatchWhetherTheServerRewritesTheTable) {
  db::Catalog catalog = testing::TestCatalog();
  auto c = catalog.Connect("pg_range_0");
  struct Change {
    std::string from, to;
  };
  const std::vector<Change> changes = {
      {"varchar(50)", "varchar(100)"},  {"varchar(50)", "text"},          {"varchar(50)", "varchar(20)"},
      {"varchar(50)", "varchar"},       {"text", "varchar"},              {"text", "varchar(10)"},
      {"numeric(10,2)", "numeric(14,2)"}, {"numeric(10,2)", "numeric(14,3)"}, {"numeric(10,2)", "numeric"},
      {"numeric", "numeric(10,2)"},     {"cidr", "inet"},                 {"inet", "cidr"},
      {"integer", "bigint"},            {"smallint", "integer"},          {"date", "timestamptz"},
      {"char(10)", "text"},             {"varbit(8)", "varbit(16)"},      {"integer", "text"},
      {"varchar(50)[]", "varchar(100)[]"}, {"text", "text"},
  };
  for (const Change& ch : changes) {
    c->Execute("DROP TABLE IF EXISTS sst_lint_type");
    c->Execute("CREATE TABLE sst_lint_type (id bigint PRIMARY KEY, v " + ch.from + ")");
    c->Execute("INSERT INTO sst_lint_type SELECT g, NULL FROM generate_series(1, 10) g");
    const db::SchemaInfo live = c->Introspect({"public", "sst_lint_type", false});
    const std::string before = c->Query("SELECT pg_relation_filenode('sst_lint_type')::text AS f").Text(0, "f");
    const std::string alter = "ALTER TABLE sst_lint_type ALTER COLUMN v TYPE " + ch.to;
    c->Execute(alter);
    const std::string after = c->Query("SELECT pg_relation_filenode('sst_lint_type')::text AS f").Text(0, "f");
    const bool rewrote = before != after;
    bool says_rewrite = false;
    for (const planner::LintFinding& f :
         planner::LintPostgresSql("SET lock_timeout = '1s';\n" + alter + ";\n", "m.sql", &live)) {
      says_rewrite = says_rewrite || f.rule == "SS105" || f.rule == "SS137";
    }
    EXPECT_EQ(says_rewrite, rewrote) << ch.from << " -> " << ch.to << ": the server "
                                     << (rewrote ? "rewrote" : "did not rewrite") << " the table";
  }
  // timestamp to timestamptz: a rewrite unless the session's TimeZone is UTC, so lint says it may
  // rewrite (SS137) and names the setting; the server does what it says both ways.
  for (const std::string zone : {"UTC", "Europe/Paris"}) {
    c->Execute("DROP TABLE IF EXISTS sst_lint_type");
    c->Execute("CREATE TABLE sst_lint_type (id bigint PRIMARY KEY, v timestamp)");
    c->Execute("INSERT INTO sst_lint_type SELECT g, now() FROM generate_series(1, 10) g");
    const db::SchemaInfo live = c->Introspect({"public", "sst_lint_type", false});
    c->Execute("SET TimeZone = '" + zone + "'");
    const std::string before = c->Query("SELECT pg_relation_filenode('sst_lint_type')::text AS f").Text(0, "f");
    const std::string alter = "ALTER TABLE sst_lint_type ALTER COLUMN v TYPE timestamptz";
    c->Execute(alter);
    const bool rewrote = before != c->Query("SELECT pg_relation_filenode('sst_lint_type')::text AS f").Text(0, "f");
    EXPECT_EQ(rewrote, zone != "UTC") << zone;
    const std::vector<planner::LintFinding> f =
        planner::LintPostgresSql("SET lock_timeout = '1s';\n" + alter + ";\n", "m.sql", &live);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].rule, "SS137");
    EXPECT_NE(f[0].message.find("TimeZone is UTC"), std::string::npos) << f[0].message;
  }
  c->Execute("RESET TimeZone");
  c->Execute("DROP TABLE IF EXISTS sst_lint_type");
}

}  // namespace
}  // namespace shardshift
