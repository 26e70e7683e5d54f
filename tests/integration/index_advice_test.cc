// `shardshift advise index` on both engines: a duplicate, a redundant and an unused index are
// found, a foreign key without an index is found (PostgreSQL; InnoDB indexes foreign keys itself),
// indexes backing constraints are never proposed for dropping, and --emit-spec writes a spec that
// `plan` accepts.
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class IndexAdviceTest : public EngineTest {};

TEST_P(IndexAdviceTest, FindsDuplicateRedundantUnusedAndUnindexedForeignKeys) {
  auto c = Connect("range_2");
  DropTable drop(*c, std::vector<std::string>{"sst_child", "sst_parent"});
  c->Execute(Sql("CREATE TABLE sst_parent (id bigint PRIMARY KEY)", "CREATE TABLE sst_parent (id BIGINT PRIMARY KEY) ENGINE=InnoDB"));
  c->Execute(Sql("CREATE TABLE sst_child (id bigint PRIMARY KEY, parent_id bigint REFERENCES sst_parent (id), a int, b int, "
                 "c int, email text UNIQUE)",
                 "CREATE TABLE sst_child (id BIGINT PRIMARY KEY, parent_id BIGINT, a INT, b INT, c INT, email VARCHAR(100) "
                 "UNIQUE, CONSTRAINT sst_child_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES sst_parent (id)) "
                 "ENGINE=InnoDB"));
  for (const char* idx : {"sst_child_c_1 ON sst_child (c)", "sst_child_c_2 ON sst_child (c)", "sst_child_a ON sst_child (a)",
                          "sst_child_a_b ON sst_child (a, b)", "sst_child_b ON sst_child (b)"}) {
    c->Execute(std::string("CREATE INDEX ") + idx);
  }
  const std::filesystem::path spec = std::filesystem::temp_directory_path() / fmt::format("sst-advice-{}.toml", getpid());
  CliRun r = Shardshift({"--config", TestConfigPath(), "advise", "index", "--db", Db("range_2"), "--table", "sst_child",
                         "--json", "--emit-spec", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.output;
  nlohmann::json out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  std::map<std::string, std::vector<std::string>> found;  // kind -> indexes
  for (const auto& f : out["findings"]) {
    found[f["kind"].get<std::string>()].push_back(f["index"].get<std::string>());
    EXPECT_FALSE(f["why"].get<std::string>().empty());
    EXPECT_FALSE(f["statement"].get<std::string>().empty());
  }
  ASSERT_EQ(found["duplicate"].size(), 1u) << r.output;
  EXPECT_TRUE(found["duplicate"][0] == "sst_child_c_1" || found["duplicate"][0] == "sst_child_c_2") << r.output;
  EXPECT_EQ(found["redundant"], std::vector<std::string>{"sst_child_a"}) << r.output;
  const auto& unused = found["unused"];
  EXPECT_NE(std::find(unused.begin(), unused.end(), "sst_child_b"), unused.end()) << r.output;
  for (const auto& [kind, names] : found) {
    for (const std::string& n : names) {
      EXPECT_TRUE(n != "sst_child_pkey" && n != "PRIMARY" && n.find("email") == std::string::npos &&
                  (kind == "missing_fk_index" || n.find("parent") == std::string::npos))
          << kind << " proposes dropping " << n << ", which backs a constraint";
    }
  }
  if (pg()) {
    EXPECT_EQ(found["missing_fk_index"], std::vector<std::string>{"sst_child_parent_id_idx"}) << r.output;
    const std::string plan = spec.string() + ".plan";
    CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec.string(), "-o", plan});
    EXPECT_EQ(planned.rc, 0) << planned.output;
    std::filesystem::remove(plan);
  } else {
    EXPECT_TRUE(found["missing_fk_index"].empty()) << "InnoDB indexes foreign keys itself: " << r.output;
  }
  std::filesystem::remove(spec);
}

// Missing indexes from the workload (PostgreSQL: pg_stat_statements, measured with HypoPG): a
// compound index with a covering column for a filter-and-sort query, a partial one for an IS NULL
// filter; each with the planner cost it saves; the emitted spec plans.
class WorkloadAdviceTest : public EngineTest {};

TEST_P(WorkloadAdviceTest, RecommendsTheIndexesAWorkloadMissesWithTheirBenefit) {
  auto c = Connect("range_2");
  DropTable drop(*c, "sst_orders");
  c->Execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  c->Execute("CREATE EXTENSION IF NOT EXISTS hypopg");
  c->Execute("CREATE TABLE sst_orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL, "
             "created_at timestamptz NOT NULL, total numeric(12,2), deleted_at timestamptz)");
  c->Execute("INSERT INTO sst_orders SELECT g, g % 5000, (ARRAY['new','paid','sent','done'])[1 + g % 4], "
             "now() - g * interval '1 minute', g % 1000, CASE WHEN g % 100 <> 0 THEN now() END "
             "FROM generate_series(1, 100000) g");
  c->Execute("ANALYZE sst_orders");
  c->Query("SELECT pg_stat_statements_reset() AS r");
  for (int i = 0; i < 30; ++i) {
    c->Query("SELECT total FROM sst_orders WHERE customer_id = $1 AND created_at > $2 ORDER BY created_at",
             {i * 7, "2020-01-01"});
    c->Query("SELECT id FROM sst_orders WHERE status = $1 AND deleted_at IS NULL", {"paid"});
  }
  // A write-heavy table: a rare lookup does not pay for an index every write must maintain.
  DropTable drop_log(*c, "sst_log");
  c->Execute("CREATE TABLE sst_log (id bigint PRIMARY KEY, k int NOT NULL, v int)");
  c->Execute("INSERT INTO sst_log SELECT g, g % 1000, 0 FROM generate_series(1, 20000) g");
  c->Execute("ANALYZE sst_log");
  c->Query("SELECT pg_stat_statements_reset() AS r");
  for (int i = 0; i < 30; ++i) {
    c->Query("SELECT total FROM sst_orders WHERE customer_id = $1 AND created_at > $2 ORDER BY created_at",
             {i * 7, "2020-01-01"});
    c->Query("SELECT id FROM sst_orders WHERE status = $1 AND deleted_at IS NULL", {"paid"});
  }
  for (int i = 0; i < 2; ++i) c->Query("SELECT v FROM sst_log WHERE k = $1", {i});
  for (int i = 0; i < 5; ++i) c->Execute("UPDATE sst_log SET v = v + 1 WHERE id > $1", {i});
  CliRun heavy = Shardshift({"--config", TestConfigPath(), "advise", "index", "--db", Db("range_2"), "--table", "sst_log",
                             "--json"});
  ASSERT_EQ(heavy.rc, 0) << heavy.output;
  nlohmann::json heavy_out = nlohmann::json::parse(heavy.output.substr(heavy.output.find('{')));
  EXPECT_TRUE(heavy_out["missing"].empty()) << heavy.output;
  EXPECT_NE(heavy.output.find("not advised"), std::string::npos) << heavy.output;

  const std::filesystem::path spec = std::filesystem::temp_directory_path() / fmt::format("sst-wl-{}.toml", getpid());
  CliRun r = Shardshift({"--config", TestConfigPath(), "advise", "index", "--db", Db("range_2"), "--table", "sst_orders",
                         "--json", "--emit-spec", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.output;
  nlohmann::json out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  bool compound = false;
  bool partial = false;
  for (const auto& m : out["missing"]) {
    const std::string stmt = m["statement"].get<std::string>();
    EXPECT_EQ(m["measured_with"], "hypopg") << r.output;
    EXPECT_LT(m["cost_after"].get<double>(), m["cost_before"].get<double>()) << stmt;
    EXPECT_GT(m["net_benefit"].get<double>(), 0) << stmt;
    EXPECT_EQ(stmt.rfind("CREATE INDEX CONCURRENTLY", 0), 0u) << stmt;
    compound = compound || stmt.find("(\"customer_id\", \"created_at\") INCLUDE (\"total\")") != std::string::npos;
    partial = partial || stmt.find("WHERE deleted_at IS NULL") != std::string::npos;
  }
  EXPECT_TRUE(compound) << r.output;
  EXPECT_TRUE(partial) << r.output;
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec.string(), "-o", spec.string() + ".plan"});
  EXPECT_EQ(planned.rc, 0) << planned.output;
  std::filesystem::remove(spec);
  std::filesystem::remove(spec.string() + ".plan");
}

// A filter on a constant that pg_stat_statements shows as $n: pg_qualstats saw the same value every
// time, so the advice is a partial index carrying it, measured with HypoPG; a filter whose value
// varies stays a key column.
TEST_P(WorkloadAdviceTest, AdvisesAPartialIndexForAConstantTheWorkloadAlwaysFiltersOn) {
  auto c = Connect("range_2");
  DropTable drop(*c, "sst_tasks");
  for (const char* ext : {"pg_stat_statements", "hypopg", "pg_qualstats"}) {
    c->Execute(std::string("CREATE EXTENSION IF NOT EXISTS ") + ext);
  }
  c->Execute("CREATE TABLE sst_tasks (id bigint PRIMARY KEY, status text NOT NULL, due_at timestamptz NOT NULL, owner int)");
  c->Execute("INSERT INTO sst_tasks SELECT g, CASE WHEN g % 100 = 0 THEN 'pending' ELSE 'done' END, "
             "timestamptz '2026-01-01' + g * interval '1 minute', g % 3000 FROM generate_series(1, 200000) g");
  c->Execute("ANALYZE sst_tasks");
  c->Query("SELECT pg_stat_statements_reset() AS r");
  c->Query("SELECT pg_qualstats_reset() AS r");
  for (int i = 0; i < 30; ++i) {
    c->Query(fmt::format("SELECT id FROM sst_tasks WHERE status = 'pending' AND due_at < '2026-03-{:02}'::timestamptz "
                         "ORDER BY due_at LIMIT 20", 1 + i));
    c->Query(fmt::format("SELECT due_at FROM sst_tasks WHERE owner = {}", i * 13));
  }
  CliRun r = Shardshift({"--config", TestConfigPath(), "advise", "index", "--db", Db("range_2"), "--table", "sst_tasks",
                         "--json"});
  ASSERT_EQ(r.rc, 0) << r.output;
  nlohmann::json out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  bool partial = false;
  bool owner = false;
  for (const auto& m : out["missing"]) {
    const std::string stmt = m["statement"].get<std::string>();
    if (stmt.find("(\"due_at\")") != std::string::npos && stmt.find("WHERE \"status\" = 'pending'") != std::string::npos) {
      partial = true;
      EXPECT_NE(m["why"].get<std::string>().find("pg_qualstats"), std::string::npos) << m["why"];
      EXPECT_LT(m["cost_after"].get<double>(), m["cost_before"].get<double>()) << stmt;
    }
    if (stmt.find("(\"owner\")") != std::string::npos) {
      owner = true;
      EXPECT_EQ(stmt.find("WHERE"), std::string::npos) << "a filter whose value varies became a predicate: " << stmt;
    }
  }
  EXPECT_TRUE(partial) << r.output;
  EXPECT_TRUE(owner) << r.output;
}

// MariaDB: the workload from performance_schema's statement digests; no hypothetical indexes, so the
// benefit is the rows EXPLAIN FORMAT=JSON says the statement reads now against those the optimizer
// expects through the candidate built on a sample copy, and the fix is an online ALTER.
class MariadbWorkloadAdviceTest : public EngineTest {};

TEST_P(MariadbWorkloadAdviceTest, RecommendsFromStatementDigests) {
  auto c = Connect("range_2");
  DropTable drop(*c, "sst_orders");
  c->Execute("CREATE TABLE sst_orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, status VARCHAR(8) NOT NULL, "
             "created_at DATETIME(6) NOT NULL, total DECIMAL(12,2)) ENGINE=InnoDB");
  c->Execute("INSERT INTO sst_orders SELECT seq, seq % 5000, ELT(1 + seq % 4, 'new', 'paid', 'sent', 'done'), "
             "TIMESTAMP '2026-01-01 00:00:00' - INTERVAL seq MINUTE, seq % 1000 FROM seq_1_to_100000");
  c->Execute("ANALYZE TABLE sst_orders");
  c->Execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest");
  for (int i = 0; i < 20; ++i) {
    c->Query("SELECT total FROM sst_orders WHERE customer_id = ? AND created_at > ? ORDER BY created_at",
             {i * 7, "2020-01-01"});
  }
  CliRun r = Shardshift({"--config", TestConfigPath(), "advise", "index", "--db", Db("range_2"), "--table", "sst_orders",
                         "--json"});
  ASSERT_EQ(r.rc, 0) << r.output;
  nlohmann::json out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  bool found = false;
  for (const auto& m : out["missing"]) {
    const std::string stmt = m["statement"].get<std::string>();
    // The server's own plans: today the statement scans the table; on a sample copy with the
    // candidate built, the optimizer reads through it.
    EXPECT_EQ(m["measured_with"], "sample") << r.output;
    EXPECT_NE(m["why"].get<std::string>().find("rows of sst_orders (a full scan)"), std::string::npos) << r.output;
    EXPECT_NE(m["why"].get<std::string>().find("the optimizer chose it for 1 of 1 statement(s)"), std::string::npos)
        << r.output;
    found = found || stmt == "ALTER TABLE `sst_orders` ADD INDEX `sst_orders_customer_id_created_at_idx` (`customer_id`, "
                             "`created_at`), ALGORITHM=INPLACE, LOCK=NONE";
  }
  EXPECT_TRUE(found) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Postgres, WorkloadAdviceTest, ::testing::Values(db::Engine::kPostgres), EngineParamName);
INSTANTIATE_TEST_SUITE_P(Mariadb, MariadbWorkloadAdviceTest, ::testing::Values(db::Engine::kMySQL), EngineParamName);

INSTANTIATE_TEST_SUITE_P(Engines, IndexAdviceTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
