// Seeded shard-key cases where the right answer is known by construction (issue 20): tables, their
// rows and a workload; then `advise shard --table T --json`. Each case says which column must be
// the first candidate, and, where the case is about them, what a warning must say and what the
// growth must read: a steady writer after a statistics reset gives its measured rate (not one
// floored at an hour), and a load right after a reset or a server start is labelled a load, not
// projected as growth. The spec each case emits plans, applies onto two hash shards and verifies.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

const db::Engine kShardPg = db::Engine::kPostgres;
const db::Engine kShardMy = db::Engine::kMySQL;

struct ShardCase {
  std::string name;
  db::Engine engine;
  std::string table;                  // the table advised
  std::vector<std::string> tables;    // every table the case creates (dropped after)
  std::vector<std::string> setup;
  std::vector<std::string> workload;  // each run 40 times; {0} a number
  std::string first;                  // the column that must be the first candidate
  std::string warning = "";           // what one warning must say ("" none required)
  std::string growth = "";            // "steady": a writer inserts after the reset; "load": the table is loaded after it
};

void PrintTo(const ShardCase& c, std::ostream* os) { *os << c.name; }  // failures name the case

std::vector<ShardCase> ShardCases() {
  // The same shapes on both engines.
  auto orders = [](db::Engine e, const std::string&) -> std::string {
    return e == kShardPg ? "CREATE TABLE sst_sh (id bigint PRIMARY KEY, tenant_id int NOT NULL, customer_id int NOT NULL, "
                      "status text NOT NULL, total int)"
                    : "CREATE TABLE sst_sh (id BIGINT PRIMARY KEY, tenant_id INT NOT NULL, customer_id INT NOT NULL, "
                      "status VARCHAR(8) NOT NULL, total INT) ENGINE=InnoDB";
  };
  auto rows = [](db::Engine e, const std::string& tenant) -> std::string {
    return e == kShardPg ? "INSERT INTO sst_sh SELECT g, " + tenant + ", 1 + g % 20000, (ARRAY['new','paid','sent','done'])[1 + g % 4], "
                      "g % 100 FROM generate_series(1, 100000) g"
                    : "INSERT INTO sst_sh SELECT seq, " + tenant + ", 1 + seq % 20000, ELT(1 + seq % 4, 'new','paid','sent','done'), "
                      "seq % 100 FROM seq_1_to_100000";
  };
  std::vector<ShardCase> out;
  for (db::Engine e : {kShardPg, kShardMy}) {
    const std::string g = e == kShardPg ? "g" : "seq";
    // 1. The workload reads one tenant at a time, and tenants are even: tenant_id.
    out.push_back({"tenant_filtered", e, "sst_sh", {"sst_sh"}, {orders(e, ""), rows(e, "1 + " + g + " % 500")},
                   {"SELECT total FROM sst_sh WHERE tenant_id = {0}", "UPDATE sst_sh SET total = 1 WHERE tenant_id = {0} AND id = {0}"},
                   "tenant_id"});
    // 2. Half the calls by tenant, half by customer, but one tenant holds 60% of the rows: customer_id.
    out.push_back({"skewed_tenant", e, "sst_sh", {"sst_sh"},
                   {orders(e, ""), rows(e, e == kShardPg ? "CASE WHEN g % 10 < 6 THEN 1 ELSE 2 + g % 40 END"
                                                    : "IF(seq % 10 < 6, 1, 2 + seq % 40)")},
                   {"SELECT total FROM sst_sh WHERE tenant_id = {0}", "SELECT total FROM sst_sh WHERE customer_id = {0}"},
                   "customer_id"});
    // 3. Half the calls filter a four-value status, half look rows up by id: id, not status.
    out.push_back({"low_cardinality", e, "sst_sh", {"sst_sh"}, {orders(e, ""), rows(e, "1 + " + g + " % 500")},
                   {"SELECT count(*) FROM sst_sh WHERE status = 'paid'", "SELECT total FROM sst_sh WHERE id = {0}"},
                   "id"});
    // 4. Items joined to their order: order_id keeps each order's items on its shard.
    out.push_back({"colocation", e, "sst_sh_items", {"sst_sh_items", "sst_sh_orders"},
                   {e == kShardPg ? "CREATE TABLE sst_sh_orders (id int PRIMARY KEY, placed date)"
                             : "CREATE TABLE sst_sh_orders (id INT PRIMARY KEY, placed DATE) ENGINE=InnoDB",
                    e == kShardPg ? "INSERT INTO sst_sh_orders SELECT g, date '2025-01-01' FROM generate_series(1, 20000) g"
                             : "INSERT INTO sst_sh_orders SELECT seq, '2025-01-01' FROM seq_1_to_20000",
                    e == kShardPg ? "CREATE TABLE sst_sh_items (id bigint PRIMARY KEY, order_id int NOT NULL REFERENCES "
                               "sst_sh_orders, sku text, qty int)"
                             : "CREATE TABLE sst_sh_items (id BIGINT PRIMARY KEY, order_id INT NOT NULL, sku VARCHAR(20), "
                               "qty INT, FOREIGN KEY (order_id) REFERENCES sst_sh_orders (id)) ENGINE=InnoDB",
                    e == kShardPg ? "INSERT INTO sst_sh_items SELECT g, 1 + g % 20000, 'sku' || (g % 300), 1 FROM "
                               "generate_series(1, 100000) g"
                             : "INSERT INTO sst_sh_items SELECT seq, 1 + seq % 20000, CONCAT('sku', seq % 300), 1 FROM "
                               "seq_1_to_100000"},
                   {"SELECT i.sku, i.qty FROM sst_sh_orders o JOIN sst_sh_items i ON i.order_id = o.id WHERE o.id = {0}",
                    "SELECT sku FROM sst_sh_items WHERE order_id = {0}"},
                   "order_id"});
    // 5. created_at DEFAULT now(), never filtered on: still warned about as a range key.
    out.push_back({"created_at_hot_spot", e, "sst_sh", {"sst_sh"},
                   {e == kShardPg ? "CREATE TABLE sst_sh (id bigint PRIMARY KEY, customer_id int NOT NULL, created_at "
                               "timestamptz NOT NULL DEFAULT now())"
                             : "CREATE TABLE sst_sh (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, created_at "
                               "DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB",
                    e == kShardPg ? "INSERT INTO sst_sh (id, customer_id) SELECT g, 1 + g % 20000 FROM generate_series(1, 50000) g"
                             : "INSERT INTO sst_sh (id, customer_id) SELECT seq, 1 + seq % 20000 FROM seq_1_to_50000"},
                   {"SELECT created_at FROM sst_sh WHERE customer_id = {0}"}, "customer_id",
                   "sst_sh.created_at grows with time (defaults to the current time)"});
    // 6. The table is loaded after the counters start: a load, not a day's growth.
    out.push_back({"load_is_not_growth", e, "sst_sh", {"sst_sh"}, {orders(e, "")},
                   {"SELECT total FROM sst_sh WHERE customer_id = {0}"}, "customer_id", "", "load"});
  }
  // 7. A steady writer after a statistics reset (PostgreSQL: MariaDB's window is the server's uptime).
  out.push_back({"steady_growth", kShardPg, "sst_sh", {"sst_sh"}, {orders(kShardPg, ""), rows(kShardPg, "1 + g % 500")},
                 {"SELECT total FROM sst_sh WHERE customer_id = {0}"}, "customer_id", "", "steady"});
  return out;
}

class ShardAdviceCaseTest : public ::testing::TestWithParam<ShardCase> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestConfigPath().empty()) << "SHARDSHIFT_TEST_CONFIG is not set: run through ctest";
    catalog_ = std::make_unique<db::Catalog>(TestCatalog());
  }
  bool pg() const { return GetParam().engine == kShardPg; }
  std::string Db() const { return pg() ? "pg_range_2" : "my_range_2"; }
  void Run();
  std::unique_ptr<db::Catalog> catalog_;
};

void ShardAdviceCaseTest::Run() {
  const ShardCase& k = GetParam();
  db::ConnectOptions options;
  options.application_name = "shardshift-test";
  auto c = catalog_->Connect(Db(), options);
  DropTable drop(*c, k.tables);
  if (pg()) c->Execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  // The load case resets the counters before the rows go in; the others after.
  auto reset = [&] {
    if (pg()) {
      // This session's own counts reach the shared statistics at the end of a transaction, at most
      // once a second unless forced: flush them first, or the load lands after the reset.
      c->Query("SELECT pg_stat_force_next_flush() AS r");
      c->Query("SELECT 1 AS one");
      c->Query("SELECT pg_stat_reset() AS r");
      c->Query("SELECT pg_stat_statements_reset() AS r");
    } else {
      c->Execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest");
    }
  };
  if (k.growth == "load") reset();
  for (const std::string& s : k.setup) c->Execute(s);
  if (k.growth == "load") {
    c->Execute(pg() ? "INSERT INTO sst_sh SELECT g, 1 + g % 500, 1 + g % 20000, 'new', 1 FROM generate_series(1, 100000) g"
                    : "INSERT INTO sst_sh SELECT seq, 1 + seq % 500, 1 + seq % 20000, 'new', 1 FROM seq_1_to_100000");
  }
  for (const std::string& t : k.tables) c->Execute((pg() ? "ANALYZE " : "ANALYZE TABLE ") + t);
  if (k.growth != "load") reset();
  const auto reset_at = std::chrono::steady_clock::now();
  int64_t inserted = 0;
  if (k.growth == "steady") {
    // ~1,000 rows a second for 3 seconds.
    for (int b = 0; b < 30; ++b) {
      c->Execute(fmt::format("INSERT INTO sst_sh SELECT g, 1, 1, 'new', 1 FROM generate_series({}, {}) g", 200001 + b * 100,
                             200000 + (b + 1) * 100));
      inserted += 100;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  for (int i = 0; i < 40; ++i) {
    for (const std::string& w : k.workload) c->Execute(fmt::format(fmt::runtime(w), 1 + i * 7));
  }
  if (pg()) c->Query("SELECT pg_stat_force_next_flush() AS r");
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - reset_at).count();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / fmt::format("sst-shcase-{}-{}", k.name, getpid());
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string t0 = pg() ? "pg_hash_0" : "my_hash_0";
  const std::string t1 = pg() ? "pg_hash_1" : "my_hash_1";
  CliRun r = Shardshift({"--config", TestConfigPath(), "advise", "shard", "--db", Db(), "--table", k.table, "--shards", "4",
                         "--json", "--emit-spec", spec, "--targets", t0 + "," + t1});
  ASSERT_EQ(r.rc, 0) << r.output;
  const nlohmann::json out =  // the log line that says the spec was written follows the JSON
      nlohmann::json::parse(r.output.substr(r.output.find('{'), r.output.rfind('}') - r.output.find('{') + 1));
  ASSERT_EQ(out["tables"].size(), 1u) << r.output;
  const nlohmann::json& t = out["tables"][0];
  ASSERT_FALSE(t["candidates"].empty()) << r.output;
  EXPECT_EQ(t["candidates"][0]["column"], k.first) << "first candidate, of:\n" << t["candidates"].dump(2);
  if (!k.warning.empty()) {
    bool said = false;
    for (const auto& w : t["warnings"]) said = said || w.get<std::string>().find(k.warning) != std::string::npos;
    EXPECT_TRUE(said) << "no warning says \"" << k.warning << "\": " << t["warnings"].dump(2);
  }
  if (k.growth == "load") {
    ASSERT_TRUE(t["growth"].is_object()) << r.output;
    EXPECT_TRUE(t["growth"]["is_load"].get<bool>()) << t.dump(2);
    EXPECT_NE(t["shards_why"].get<std::string>().find("its load"), std::string::npos) << t["shards_why"];
    EXPECT_EQ(t["suggested_shards"], 2) << "a load is not projected as growth: " << t["shards_why"];
  }
  if (k.growth == "steady") {
    ASSERT_TRUE(t["growth"].is_object()) << r.output;
    EXPECT_FALSE(t["growth"]["is_load"].get<bool>()) << t.dump(2);
    EXPECT_EQ(t["growth"]["window_start"], "statistics reset");
    // The rate the writer kept up, within a factor of two (the window also holds the workload and
    // the advise run's start).
    const double measured = static_cast<double>(inserted) * 86400 / elapsed;
    const double said = t["growth"]["rows_per_day"].get<double>();
    EXPECT_GT(said, measured / 2) << t["shards_why"];
    EXPECT_LT(said, measured * 2) << t["shards_why"];
    EXPECT_LT(t["growth"]["window_seconds"].get<double>(), 60);
    // 100k rows growing by ~86M a day: a year is far past one 50 GB shard.
    EXPECT_GT(t["suggested_shards"].get<int>(), 2) << t["shards_why"];
  }

  // The emitted spec plans, applies onto two shards and verifies; every row arrived.
  auto target0 = catalog_->Connect(t0, options);
  auto target1 = catalog_->Connect(t1, options);
  DropTable drop0(*target0, k.table);
  DropTable drop1(*target1, k.table);
  const std::string plan = (dir / "plan.toml").string();
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  CliRun applied = Shardshift({"--config", TestConfigPath(), "apply", plan});
  ASSERT_EQ(applied.rc, 0) << applied.output;
  CliRun verified = Shardshift({"--config", TestConfigPath(), "verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
  const int64_t moved = std::stoll(*target0->Query("SELECT COUNT(*) FROM " + k.table).rows.at(0).at(0)) +
                        std::stoll(*target1->Query("SELECT COUNT(*) FROM " + k.table).rows.at(0).at(0));
  EXPECT_EQ(moved, std::stoll(*c->Query("SELECT COUNT(*) FROM " + k.table).rows.at(0).at(0)));
  CliRun cleaned = Shardshift({"--config", TestConfigPath(), "apply", "--cleanup", plan});
  EXPECT_EQ(cleaned.rc, 0) << cleaned.output;
  std::filesystem::remove_all(dir);
}

// The advisors' own statements (sampling, EXPLAIN, HypoPG, the sample copy) never come back as
// workload: ten runs of advise index and advise shard leave the calls counted on the table, the
// first key's single-shard share and the notes as they were after the first run. Run as the
// sandbox's user, who may tell the server not to count its session, and as a user who may only
// read (then the advisors' statements must be recognised in what the server counted).
void OwnStatementsAreNotWorkload(db::Engine engine, bool reader) {
  const bool pg = engine == kShardPg;
  const std::string database = pg ? "pg_range_2" : "my_range_2";
  db::Catalog catalog = TestCatalog();
  db::ConnectOptions options;
  options.application_name = "shardshift-test";
  auto c = catalog.Connect(database, options);
  DropTable drop(*c, "sst_sh");
  std::string config = TestConfigPath();
  const std::filesystem::path reader_config =
      std::filesystem::temp_directory_path() / fmt::format("sst-reader-{}-{}.toml", pg ? "pg" : "my", getpid());
  if (reader) {
    // A login that reads the tables and the statistics, and nothing more.
    const std::string password = "Rd-8x@k:q";
    if (pg) {
      c->Execute("DROP ROLE IF EXISTS sst_advisor");
      c->Execute("CREATE ROLE sst_advisor LOGIN PASSWORD '" + password + "' IN ROLE pg_read_all_stats");
    } else {
      c->Execute("DROP USER IF EXISTS 'sst_advisor'@'127.0.0.1'");
      c->Execute("CREATE USER 'sst_advisor'@'127.0.0.1' IDENTIFIED BY '" + password + "'");
      c->Execute("GRANT SELECT, CREATE TEMPORARY TABLES ON range_2.* TO 'sst_advisor'@'127.0.0.1'");
      c->Execute("GRANT SELECT ON performance_schema.* TO 'sst_advisor'@'127.0.0.1'");
    }
    const toml::table full = toml::parse_file(TestConfigPath());
    std::string url = full["databases"][database]["url"].value_or(std::string());
    const size_t scheme = url.find("://") + 3;
    std::string encoded;  // the password has an '@' and a ':', as passwords do
    for (unsigned char ch : password) encoded += std::isalnum(ch) || ch == '-' ? std::string(1, static_cast<char>(ch)) : fmt::format("%{:02X}", ch);
    url = url.substr(0, scheme) + "sst_advisor:" + encoded + url.substr(url.find('@', scheme));
    std::ofstream(reader_config) << "[databases." << database << "]\nurl = \"" << url << "\"\n";
    config = reader_config.string();
  }
  c->Execute(pg ? "CREATE TABLE sst_sh (id bigint PRIMARY KEY, tenant_id int NOT NULL, customer_id int NOT NULL, status "
                  "text NOT NULL, total int)"
                : "CREATE TABLE sst_sh (id BIGINT PRIMARY KEY, tenant_id INT NOT NULL, customer_id INT NOT NULL, status "
                  "VARCHAR(8) NOT NULL, total INT) ENGINE=InnoDB");
  c->Execute(pg ? "INSERT INTO sst_sh SELECT g, 1 + g % 500, 1 + g % 20000, 'new', g % 100 FROM generate_series(1, 50000) g"
                : "INSERT INTO sst_sh SELECT seq, 1 + seq % 500, 1 + seq % 20000, 'new', seq % 100 FROM seq_1_to_50000");
  if (pg) {
    c->Execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    c->Execute("CREATE EXTENSION IF NOT EXISTS hypopg");  // which the reader may not use: advice goes on without it
    c->Execute("ANALYZE sst_sh");
    if (reader) c->Execute("GRANT SELECT ON sst_sh TO sst_advisor");
    c->Query("SELECT pg_stat_statements_reset() AS r");
  } else {
    c->Execute("ANALYZE TABLE sst_sh");
    c->Execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest");
  }
  for (int i = 0; i < 40; ++i) {
    c->Execute(fmt::format("SELECT total FROM sst_sh WHERE tenant_id = {}", 1 + i));
    c->Execute(fmt::format("SELECT total FROM sst_sh WHERE total = {} AND status = 'new'", i));
  }
  auto shard = [&] {
    CliRun r = Shardshift({"--config", config, "advise", "shard", "--db", database, "--table", "sst_sh", "--shards", "4",
                           "--json"});
    EXPECT_EQ(r.rc, 0) << r.output;
    return nlohmann::json::parse(r.output.substr(r.output.find('{'), r.output.rfind('}') - r.output.find('{') + 1));
  };
  auto index = [&] {
    CliRun r = Shardshift({"--config", config, "advise", "index", "--db", database, "--table", "sst_sh", "--json"});
    EXPECT_EQ(r.rc, 0) << r.output;
    return nlohmann::json::parse(r.output.substr(r.output.find('{'), r.output.rfind('}') - r.output.find('{') + 1));
  };
  const nlohmann::json first_shard = shard();
  const nlohmann::json first_index = index();
  for (int run = 0; run < 9; ++run) {
    shard();
    index();
  }
  const nlohmann::json last_shard = shard();
  const nlohmann::json last_index = index();
  const nlohmann::json& a = first_shard["tables"].at(0)["candidates"].at(0);
  const nlohmann::json& b = last_shard["tables"].at(0)["candidates"].at(0);
  EXPECT_EQ(a["column"], "tenant_id");
  EXPECT_EQ(a["table_calls"], 80) << "the workload was not read: " << first_shard.dump(2);
  EXPECT_EQ(b["column"], a["column"]);
  EXPECT_EQ(b["table_calls"], a["table_calls"]) << "calls counted on the table grew over ten runs";
  EXPECT_EQ(b["workload_share"], a["workload_share"]);
  EXPECT_EQ(last_shard["notes"], first_shard["notes"]);
  EXPECT_EQ(last_index["notes"], first_index["notes"]);
  EXPECT_EQ(last_index["missing"].size(), first_index["missing"].size());
  for (const auto& m : last_index["missing"]) {
    for (const auto& served : m["serves"]) {
      const std::string sql = served.get<std::string>();
      EXPECT_EQ(sql.find("_shardshift"), std::string::npos) << sql;
      EXPECT_NE(sql.rfind("EXPLAIN", 0), 0u) << sql;
    }
  }
  if (reader) {
    c->Execute(pg ? "DROP TABLE sst_sh" : "DROP TABLE sst_sh");  // the role owns no grant then
    c->Execute(pg ? "DROP ROLE sst_advisor" : "DROP USER 'sst_advisor'@'127.0.0.1'");
    std::filesystem::remove(reader_config);
  }
}

TEST(AdviceOwnStatementsTest, PostgresTenRunsCountNothingOfTheirOwn) { OwnStatementsAreNotWorkload(kShardPg, false); }
TEST(AdviceOwnStatementsTest, MariadbTenRunsCountNothingOfTheirOwn) { OwnStatementsAreNotWorkload(kShardMy, false); }
TEST(AdviceOwnStatementsTest, PostgresReaderTenRunsCountNothingOfTheirOwn) { OwnStatementsAreNotWorkload(kShardPg, true); }
TEST(AdviceOwnStatementsTest, MariadbReaderTenRunsCountNothingOfTheirOwn) { OwnStatementsAreNotWorkload(kShardMy, true); }

class ShardAdvicePgTest : public ShardAdviceCaseTest {};
class ShardAdviceMyTest : public ShardAdviceCaseTest {};
TEST_P(ShardAdvicePgTest, PostgresCase) { Run(); }
TEST_P(ShardAdviceMyTest, MariadbCase) { Run(); }


INSTANTIATE_TEST_SUITE_P(Cases, ShardAdvicePgTest, ::testing::ValuesIn(CasesOfEngine(ShardCases(), kShardPg)),
                         CaseName<ShardCase>);
INSTANTIATE_TEST_SUITE_P(Cases, ShardAdviceMyTest, ::testing::ValuesIn(CasesOfEngine(ShardCases(), kShardMy)),
                         CaseName<ShardCase>);

}  // namespace
}  // namespace shardshift::testing
