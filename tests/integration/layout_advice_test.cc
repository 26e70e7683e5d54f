// `advise shard` and `advise split` on both engines, on a seeded schema whose right answers are
// known: orders whose customer_id is the right shard key (filtered and joined on, high
// cardinality, shared with customers and payments by foreign keys), beside a status that is not
// (four values) and a tenant_id that puts 60% of the rows on one value; a monotonic id; a wide
// table with a large, rarely read column. The advice ranks the right answer first and says why with
// numbers, and the specs it emits plan without error.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class LayoutAdviceTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    c_ = Connect("app");
    Drop();
    c_->Execute(Sql("CREATE TABLE sst_customers (id int PRIMARY KEY, name text)",
                    "CREATE TABLE sst_customers (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB"));
    c_->Execute(Sql("INSERT INTO sst_customers SELECT g, 'c' || g FROM generate_series(1, 5000) g",
                    "INSERT INTO sst_customers SELECT seq, CONCAT('c', seq) FROM seq_1_to_5000"));
    c_->Execute(Sql("CREATE TABLE sst_orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES sst_customers, "
                    "tenant_id int NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL, total numeric)",
                    "CREATE TABLE sst_orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, tenant_id "
                    "INT NOT NULL, status VARCHAR(8) NOT NULL, created_at DATETIME(6) NOT NULL, total DECIMAL(10,2), "
                    "FOREIGN KEY (customer_id) REFERENCES sst_customers (id)) ENGINE=InnoDB"));
    c_->Execute(Sql("INSERT INTO sst_orders (customer_id, tenant_id, status, created_at, total) SELECT 1 + g % 5000, "
                    "CASE WHEN g % 10 < 6 THEN 1 ELSE 2 + g % 40 END, (ARRAY['new','paid','sent','done'])[1 + g % 4], "
                    "timestamptz '2025-01-01' + g * interval '1 minute', g % 100 FROM generate_series(1, 100000) g",
                    "INSERT INTO sst_orders (customer_id, tenant_id, status, created_at, total) SELECT 1 + seq % 5000, "
                    "IF(seq % 10 < 6, 1, 2 + seq % 40), ELT(1 + seq % 4, 'new','paid','sent','done'), TIMESTAMP "
                    "'2025-01-01 00:00:00' + INTERVAL seq MINUTE, seq % 100 FROM seq_1_to_100000"));
    c_->Execute(Sql("CREATE TABLE sst_payments (id int PRIMARY KEY, customer_id int REFERENCES sst_customers, amount numeric)",
                    "CREATE TABLE sst_payments (id INT PRIMARY KEY, customer_id INT, amount DECIMAL(10,2), FOREIGN KEY "
                    "(customer_id) REFERENCES sst_customers (id)) ENGINE=InnoDB"));
    c_->Execute(Sql("INSERT INTO sst_payments SELECT g, 1 + g % 5000, 1 FROM generate_series(1, 20000) g",
                    "INSERT INTO sst_payments SELECT seq, 1 + seq % 5000, 1 FROM seq_1_to_20000"));
    c_->Execute(Sql("CREATE TABLE sst_docs (id int PRIMARY KEY, title text, body text, updated_at timestamptz)",
                    "CREATE TABLE sst_docs (id INT PRIMARY KEY, title VARCHAR(100), body TEXT, updated_at DATETIME) "
                    "ENGINE=InnoDB"));
    c_->Execute(Sql("INSERT INTO sst_docs SELECT g, 'title ' || g, repeat(md5(g::text), 40), now() "
                    "FROM generate_series(1, 20000) g",
                    "INSERT INTO sst_docs SELECT seq, CONCAT('title ', seq), REPEAT(MD5(seq), 40), NOW() FROM seq_1_to_20000"));
    if (pg()) {
      c_->Execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      c_->Execute("ANALYZE sst_customers, sst_orders, sst_payments, sst_docs");
      c_->Query("SELECT pg_stat_statements_reset() AS r");
    } else {
      c_->Query("ANALYZE TABLE sst_customers, sst_orders, sst_payments, sst_docs");
      c_->Execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest");
    }
    // The workload: orders by customer (alone and joined to its customer), a few by id and by
    // status; document titles often, bodies rarely.
    for (int i = 1; i <= 30; ++i) {
      c_->Query(fmt::format("SELECT total FROM sst_orders WHERE customer_id = {}", i));
      c_->Query(fmt::format("SELECT o.id, c.name FROM sst_orders o JOIN sst_customers c ON c.id = o.customer_id "
                            "WHERE o.customer_id = {}", i));
      c_->Query(fmt::format("SELECT title FROM sst_docs WHERE id = {}", i));
    }
    for (int i = 1; i <= 3; ++i) {
      c_->Query(fmt::format("SELECT status FROM sst_orders WHERE id = {}", i));
      c_->Query(fmt::format("SELECT id FROM sst_orders WHERE status = 'paid' AND total = {}", i));
      c_->Query(fmt::format("SELECT body FROM sst_docs WHERE id = {}", i));
    }
  }
  void TearDown() override {
    if (c_ && c_->Usable()) Drop();
  }
  void Drop() {
    for (const char* t : {"sst_payments", "sst_orders", "sst_customers", "sst_docs", "sst_docs_body"}) {
      c_->Execute(std::string("DROP TABLE IF EXISTS ") + t);
    }
  }
  nlohmann::json Advise(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", TestConfigPath(), "--log-level", "warn", "advise"});
    CliRun r = Shardshift(args);
    EXPECT_EQ(r.rc, 0) << r.output;
    return nlohmann::json::parse(r.output.substr(r.output.find('{')));
  }

  std::unique_ptr<db::Connection> c_;
};

TEST_P(LayoutAdviceTest, ShardAdviceRanksTheCustomerKeyFirstAndSaysWhy) {
  nlohmann::json out = Advise({"shard", "--db", Db("app"), "--table", "sst_orders", "--shards", "4", "--json"});
  ASSERT_EQ(out["tables"].size(), 1u) << out.dump(2);
  const nlohmann::json& t = out["tables"][0];
  const nlohmann::json& cands = t["candidates"];
  ASSERT_GE(cands.size(), 4u) << out.dump(2);
  EXPECT_EQ(cands[0]["column"], "customer_id") << out.dump(2);
  std::map<std::string, nlohmann::json> by;
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < cands.size(); ++i) {
    by[cands[i]["column"].get<std::string>()] = cands[i];
    rank[cands[i]["column"].get<std::string>()] = i;
  }
  const nlohmann::json& customer = by["customer_id"];
  EXPECT_GT(customer["distinct"].get<double>(), 4000) << customer.dump();
  EXPECT_LT(customer["hash_skew"].get<double>(), 1.1) << customer.dump();
  EXPECT_GT(customer["workload_share"].get<double>(), 0.8) << customer.dump();
  const auto coloc = customer["colocated"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(coloc.begin(), coloc.end(), "sst_customers"), coloc.end()) << customer.dump();
  EXPECT_NE(std::find(coloc.begin(), coloc.end(), "sst_payments"), coloc.end()) << customer.dump();
  EXPECT_NE(customer["why"].get<std::string>().find("filter on it by equality"), std::string::npos);
  // The skewed tenant: 60% of rows on one value, which hashing cannot spread.
  ASSERT_TRUE(by.count("tenant_id")) << out.dump(2);
  EXPECT_NEAR(by["tenant_id"]["top_share"].get<double>(), 0.6, 0.05) << by["tenant_id"].dump();
  EXPECT_GT(by["tenant_id"]["hash_skew"].get<double>(), 2.0) << by["tenant_id"].dump();
  EXPECT_NE(by["tenant_id"]["why"].get<std::string>().find(
                fmt::format("holds {:.1f}% of rows", 100 * by["tenant_id"]["top_share"].get<double>())),
            std::string::npos)
      << by["tenant_id"].dump();
  // Low cardinality: four statuses.
  ASSERT_TRUE(by.count("status")) << out.dump(2);
  EXPECT_LE(by["status"]["distinct"].get<double>(), 10) << by["status"].dump();
  EXPECT_GT(rank["status"], rank["customer_id"]);
  EXPECT_GT(rank["tenant_id"], rank["customer_id"]);
  EXPECT_GT(rank["tenant_id"], rank["id"]);
  // The monotonic key's hot spot under a range layout.
  bool hot_spot = false;
  for (const auto& w : t["warnings"]) hot_spot = hot_spot || w.get<std::string>().find("sst_orders.id grows with time") != std::string::npos;
  EXPECT_TRUE(hot_spot) << t["warnings"].dump();
  EXPECT_GE(t["suggested_shards"].get<int>(), 2);
  EXPECT_FALSE(t["shards_why"].get<std::string>().empty());

  // The best key is not unique: the spec keys orders by (customer_id, id) and hashes customer_id;
  // it plans onto the hash shards.
  const std::string spec = (std::filesystem::temp_directory_path() / fmt::format("sst-shard-{}.toml", getpid())).string();
  CliRun emitted = Shardshift({"--config", TestConfigPath(), "advise", "shard", "--db", Db("app"), "--table",
                               "sst_orders", "--shards", "4", "--emit-spec", spec, "--targets",
                               Db("hash_0") + "," + Db("hash_1") + "," + Db("hash_2") + "," + Db("hash_3")});
  EXPECT_EQ(emitted.rc, 0) << emitted.output;
  ASSERT_TRUE(std::filesystem::exists(spec));
  std::ifstream in(spec);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("key = [\"customer_id\", \"id\"]\nshard_by = [\"customer_id\"]"), std::string::npos) << text;
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", spec + ".plan"});
  EXPECT_EQ(planned.rc, 0) << planned.output;
  std::filesystem::remove(spec);
  std::filesystem::remove(spec + ".plan");
}

TEST_P(LayoutAdviceTest, SplitAdviceMovesTheLargeRarelyReadColumnAndItsSpecPlans) {
  nlohmann::json out = Advise({"split", "--db", Db("app"), "--json"});
  const nlohmann::json* docs = nullptr;
  for (const auto& s : out["splits"]) {
    if (s["table"].get<std::string>().ends_with("sst_docs")) docs = &s;
    EXPECT_FALSE(s["table"].get<std::string>().ends_with("sst_orders")) << "a hot table's columns were proposed: "
                                                                        << s.dump();
  }
  ASSERT_NE(docs, nullptr) << out.dump(2);
  ASSERT_EQ((*docs)["move"].size(), 1u) << docs->dump(2);
  EXPECT_EQ((*docs)["move"][0]["column"], "body");
  EXPECT_GT((*docs)["bytes_saved"].get<double>(), 1000) << docs->dump(2);
  EXPECT_EQ((*docs)["calls_needing_join"].get<int64_t>(), 3) << docs->dump(2);
  EXPECT_EQ((*docs)["statements_needing_join"].size(), 1u) << docs->dump(2);
  const std::string spec = (std::filesystem::temp_directory_path() / fmt::format("sst-split-{}.toml", getpid())).string();
  Advise({"split", "--db", Db("app"), "--table", "sst_docs", "--emit-spec", spec, "--json"});
  ASSERT_TRUE(std::filesystem::exists(spec));
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", spec + ".plan"});
  EXPECT_EQ(planned.rc, 0) << planned.output;
  std::filesystem::remove(spec);
  std::filesystem::remove(spec + ".plan");
}

INSTANTIATE_TEST_SUITE_P(Engines, LayoutAdviceTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
