// The migration linter: every rule's bad example in docs/lint.md is reported with that rule and
// its good example is not; positions are the statement's own line and column; disable comments
// work per statement and per file; SQL that does not parse is bad input with its position.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>

#include "planner/lint.h"
#include "plans/input_error.h"

namespace shardshift::planner {
namespace {

struct Example {
  std::string kind;  // bad or good
  std::string rule;
  std::string sql;
};

std::vector<Example> DocExamples(const std::string& fence = "```sql ") {
  std::ifstream in(std::string(SHARDSHIFT_SOURCE_DIR) + "/docs/lint.md");
  std::vector<Example> out;
  Example* current = nullptr;
  for (std::string line; std::getline(in, line);) {
    if (!current && line.starts_with(fence)) {
      const std::string rest = line.substr(fence.size());
      out.push_back({rest.substr(0, rest.find(' ')), rest.substr(rest.find(' ') + 1), ""});
      current = &out.back();
    } else if (current && line == "```") {
      current = nullptr;
    } else if (current) {
      current->sql += line + "\n";
    }
  }
  return out;
}

std::set<std::string> Rules(const std::string& sql) {  // PostgreSQL
  std::set<std::string> out;
  for (const LintFinding& f : LintPostgresSql(sql, "m.sql")) out.insert(f.rule);
  return out;
}

// Each bad example of a fence kind reports its rule, each good one does not, and every rule whose
// id starts with prefix has a bad example.
void CheckExamples(const std::string& fence, const std::string& prefix,
                   const std::function<std::vector<LintFinding>(const std::string&)>& lint) {
  std::set<std::string> bad_rules;
  for (const Example& e : DocExamples(fence)) {
    std::set<std::string> found;
    for (const LintFinding& f : lint(e.sql)) found.insert(f.rule);
    if (e.kind == "bad") {
      bad_rules.insert(e.rule);
      EXPECT_TRUE(found.count(e.rule)) << e.rule << " not reported for:\n" << e.sql;
    } else {
      EXPECT_FALSE(found.count(e.rule)) << e.rule << " reported for the good example:\n" << e.sql;
    }
  }
  for (const LintRule& r : LintRules()) {
    if (r.id.starts_with(prefix)) {
      EXPECT_TRUE(bad_rules.count(r.id)) << r.id << " has no example in docs/lint.md";
    }
  }
}

TEST(LintTest, EveryDocumentedRuleHasABadAndAGoodExampleThatBehave) {
  CheckExamples("```sql ", "SS1", [](const std::string& sql) { return LintPostgresSql(sql, "m.sql"); });
}

TEST(LintTest, EveryMariadbRuleHasABadAndAGoodExampleThatBehave) {
  CheckExamples("```mariadb ", "SS3", [](const std::string& sql) { return LintMariadbSql(sql, "m.sql"); });
}

TEST(LintTest, EveryPlanRuleHasABadAndAGoodExampleThatBehave) {
  CheckExamples("```plan ", "SS20", [](const std::string& text) {
    return LintPlan(plans::ParsePlan(text, "p.toml", false), text, "p.toml");
  });
}

TEST(LintTest, EverySpecRuleHasABadAndAGoodExampleThatBehave) {
  CheckExamples("```spec ", "SS21", [](const std::string& text) {
    return LintSpec(plans::ParseSpec(text, "s.toml"), text, "s.toml");
  });
}

TEST(LintTest, SpecFindingsPointAtTheLineThatSaysIt) {
  const std::string text = "[migration]\nname = \"r\"\nkind = \"reshard\"\n\n[options]\nchunk_rows = 10\n"
                           "lock_timeout_ms = 30000\n\n[reshard]\ntable = \"users\"\nkey = [\"id\"]\n"
                           "[reshard.source]\nlayout = \"single\"\ndatabase = \"a\"\n"
                           "[reshard.target]\ndatabases = [\"b\", \"c\"]\n";
  std::vector<LintFinding> f = LintSpec(plans::ParseSpec(text, "s.toml"), text, "s.toml");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "SS211");
  EXPECT_EQ(f[0].line, 7);
  EXPECT_NE(f[0].message.find("30000"), std::string::npos);
  EXPECT_TRUE(LintSpec(plans::ParseSpec("# shardshift-lint: disable-file SS211\n" + text, "s.toml"),
                       "# shardshift-lint: disable-file SS211\n" + text, "s.toml").empty());
}

TEST(LintTest, TheConfigDisablesAndRegradesRulesAndRejectsUnknownOnes) {
  const std::string sql = "CREATE INDEX i ON t (a);\nALTER TABLE t DROP COLUMN b;\n";
  std::vector<LintFinding> f = LintPostgresSql(sql, "m.sql");
  plans::Config config = plans::ParseConfig("[lint]\ndisable = [\"SS112\", \"SS101\"]\n"
                                            "[lint.severity]\nSS108 = \"error\"\n", "c.toml");
  ApplyLintSettings(f, config.lint);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "SS108");
  EXPECT_EQ(f[0].severity, "error");
  plans::Config unknown = plans::ParseConfig("[lint]\n\ndisable = [\"SS999\"]\n", "c.toml");
  try {
    ApplyLintSettings(f, unknown.lint);
    FAIL() << "accepted an unknown rule";
  } catch (const plans::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("c.toml:3:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("SS999"), std::string::npos) << e.what();
  }
  EXPECT_THROW(plans::ParseConfig("[lint.severity]\nSS108 = \"fatal\"\n", "c.toml"), plans::InputError);
}

TEST(LintTest, LiveSizeGradesLocksAndRewrites) {
  const std::string sql = "SET lock_timeout = '1s';\nCREATE INDEX a ON big (x);\nCREATE INDEX b ON small (x);\n"
                          "CREATE INDEX c ON brand_new (x);\nALTER TABLE big RENAME TO bigger;\n"
                          "CREATE TABLE made_here (x bigint);\nCREATE INDEX d ON made_here (x);\n";
  std::vector<LintFinding> f = LintPostgresSql(sql, "m.sql");
  ASSERT_EQ(f.size(), 4u);  // made_here: created by this file, nothing waits on it
  db::SchemaInfo schema;
  db::TableInfo big;
  big.schema = "public";
  big.name = "big";
  big.total_bytes = int64_t{10} << 30;
  big.row_estimate = 80'000'000;
  db::TableInfo small = big;
  small.name = "small";
  small.total_bytes = 16384;
  small.row_estimate = 0;
  schema.tables = {big, small};
  GradeByTableSize(f, schema, "pg_app", 10 << 20);
  EXPECT_EQ(f[0].severity, "error");
  EXPECT_NE(f[0].message.find("10.0 GiB"), std::string::npos) << f[0].message;
  EXPECT_NE(f[0].message.find("80000000 rows"), std::string::npos) << f[0].message;
  EXPECT_EQ(f[1].severity, "warning");
  EXPECT_NE(f[1].message.find("16.0 KiB"), std::string::npos) << f[1].message;
  EXPECT_EQ(f[2].severity, "warning");
  EXPECT_NE(f[2].message.find("does not exist on pg_app"), std::string::npos) << f[2].message;
  EXPECT_EQ(f[3].rule, "SS109");  // a rename breaks queries whatever the size: not graded
  EXPECT_EQ(f[3].severity, "warning");
  EXPECT_EQ(f[3].message.find("GiB"), std::string::npos);
}

TEST(LintTest, TheWorkloadGradesDropsAndRenamesOfWhatIsStillInUse) {
  const std::string sql = "SET lock_timeout = '1s';\nALTER TABLE orders DROP COLUMN legacy_flag;\n"
                          "ALTER TABLE orders DROP COLUMN note;\nALTER TABLE orders RENAME COLUMN total TO amount;\n"
                          "DROP TABLE old_events;\nALTER INDEX orders_pkey RENAME TO orders_pk;\n";
  std::vector<LintFinding> f = LintPostgresSql(sql, "m.sql");
  ASSERT_EQ(f.size(), 4u);  // renaming an index breaks no query
  EXPECT_EQ(f[0].dropped_column, "legacy_flag");
  EXPECT_EQ(f[2].rule, "SS109");
  EXPECT_EQ(f[2].dropped_column, "total");
  EXPECT_EQ(f[3].rule, "SS108");
  EXPECT_EQ(f[3].table, "old_events");
  Workload w;
  w.known = true;
  for (const std::string& q : {std::string("SELECT id, total FROM orders WHERE customer_id = $1"),
                               std::string("UPDATE public.orders SET legacy_flag = $1 WHERE id = $2")}) {
    w.statements.push_back({"", q, AnalyzeQuery(q), 40, 40});
  }
  GradeByWorkload(f, w, "pg_app");
  EXPECT_EQ(f[0].severity, "error");  // legacy_flag: the UPDATE sets it
  EXPECT_NE(f[0].message.find("orders.legacy_flag is still in use on pg_app: 1 statement(s), 40 call(s)"),
            std::string::npos) << f[0].message;
  EXPECT_EQ(f[1].severity, "warning");  // note: nothing names it
  EXPECT_NE(f[1].message.find("no statement in pg_app's workload uses orders.note"), std::string::npos) << f[1].message;
  EXPECT_EQ(f[2].severity, "error");  // total: the SELECT reads it
  EXPECT_EQ(f[3].severity, "warning");  // old_events: nothing reads it
  // Without statement statistics nothing is re-graded, and the message says why.
  std::vector<LintFinding> g = LintPostgresSql(sql, "m.sql");
  Workload unknown;
  unknown.note = "pg_stat_statements is not installed";
  GradeByWorkload(g, unknown, "pg_app");
  EXPECT_EQ(g[0].severity, "warning");
  EXPECT_NE(g[0].message.find("cannot tell whether it is still in use on pg_app: pg_stat_statements is not installed"), std::string::npos) << g[0].message;
}

TEST(LintTest, MariadbFindingsNameTheirTable) {
  std::vector<LintFinding> f = LintMariadbSql(
      "SET SESSION lock_wait_timeout = 5;\nCREATE FULLTEXT INDEX i ON `orders` (a);\nALTER TABLE shop.items MODIFY b BIGINT;\n"
      "OPTIMIZE TABLE IF EXISTS logs;\n", "m.sql");
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].table, "orders");
  EXPECT_EQ(f[1].table, "shop.items");
  EXPECT_EQ(f[2].table, "logs");
}

TEST(LintTest, MariadbKeywordsInStringsCommentsAndNamesDoNotCount) {
  const std::string sql = "SET SESSION lock_wait_timeout = 5;\n"
                          "-- LOCK TABLES in a comment\n"
                          "INSERT INTO notes (t) VALUES ('LOCK TABLES x; OPTIMIZE TABLE y');\n"
                          "SELECT `lock` FROM `optimize`;\n"
                          "\n  ALTER TABLE t ADD FULLTEXT INDEX i (a);\n";
  std::vector<LintFinding> f = LintMariadbSql(sql, "m.sql");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "SS301");
  EXPECT_EQ(f[0].line, 6);
  EXPECT_EQ(f[0].column, 3);
}

TEST(LintTest, PositionsAreTheStatementsOwn) {
  const std::vector<LintFinding> f = LintPostgresSql(
      "SET lock_timeout = '2s';\n-- build it\n\n  CREATE INDEX i ON t (a);\nVACUUM FULL t;\n", "m.sql");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].rule, "SS101");
  EXPECT_EQ(f[0].line, 4);
  EXPECT_EQ(f[0].column, 3);
  EXPECT_EQ(f[0].file, "m.sql");
  EXPECT_EQ(f[1].rule, "SS110");
  EXPECT_EQ(f[1].line, 5);
  EXPECT_EQ(f[1].severity, "error");
}

TEST(LintTest, DisableCommentsApplyToOneStatementOrTheFile) {
  EXPECT_EQ(Rules("SET lock_timeout = '1s';\n-- shardshift-lint: disable SS101\nCREATE INDEX i ON t (a);\n"
                  "CREATE INDEX j ON t (b);\n"),
            (std::set<std::string>{"SS101"}));  // only the second
  EXPECT_EQ(LintPostgresSql("SET lock_timeout = '1s';\n-- shardshift-lint: disable SS101\nCREATE INDEX i ON t (a);\n"
                            "CREATE INDEX j ON t (b);\n", "m.sql").size(), 1u);
  EXPECT_TRUE(Rules("-- shardshift-lint: disable-file SS112, SS101\nCREATE INDEX i ON t (a);\n").empty());
}

TEST(LintTest, PlanRulesFindACutoverWithoutVerificationAndAStepWithoutUndo) {
  plans::Plan plan;
  plans::Step create;
  create.id = "create_target.a";
  create.kind = plans::StepKind::kSql;
  create.database = "a";
  create.undo = {"DROP TABLE t"};
  plans::Step capture = create;
  capture.id = "capture.a";
  capture.kind = plans::StepKind::kCapture;
  capture.undo.clear();
  plans::Step cutover = create;
  cutover.id = "cutover";
  cutover.kind = plans::StepKind::kCutover;
  plan.steps = {create, capture, cutover};
  const std::string text = plans::WritePlanToml(plan);
  std::vector<LintFinding> f = LintPlan(plan, text, "p.toml");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].rule, "SS202");
  EXPECT_NE(f[0].message.find("capture.a"), std::string::npos);
  EXPECT_EQ(f[1].rule, "SS201");
  EXPECT_EQ(f[1].line, static_cast<int>(std::count(text.begin(), text.begin() + text.find("id = \"cutover\""), '\n')) + 1);
  // With a verify step before it, and the capture's undo, the plan is clean.
  plans::Step verify = create;
  verify.id = "verify";
  verify.kind = plans::StepKind::kVerify;
  capture.undo = {"DROP TRIGGER ..."};
  plan.steps = {create, capture, verify, cutover};
  EXPECT_TRUE(LintPlan(plan, plans::WritePlanToml(plan), "p.toml").empty());
}

TEST(LintTest, SqlThatDoesNotParseIsBadInputWithItsPosition) {
  try {
    LintPostgresSql("SELECT 1;\nSELECT FROM WHERE (;\n", "m.sql");
    FAIL() << "accepted";
  } catch (const plans::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("m.sql:2:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not valid PostgreSQL"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace shardshift::planner
