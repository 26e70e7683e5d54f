// Resharding by a non-unique column (`shard_by`): orders keyed by (customer_id, id) and hashed on
// customer_id alone, from one database onto two hash shards while an application writes. Every
// customer's orders end on one shard, the one the routing map names (whose key is customer_id),
// the targets got a unique index on the whole key, and verify passes. A shard_by that is not the
// key's leading columns is refused.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "db/error.h"
#include "plans/routing.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class ShardByTest : public EngineTest {};

TEST_P(ShardByTest, OrdersOfOneCustomerLandOnOneShard) {
  auto src = Connect("range_2");
  auto t0 = Connect("hash_0");
  auto t1 = Connect("hash_1");
  DropTable d0(*src, "sst_sb_orders");
  DropTable d1(*t0, "sst_sb_orders");
  DropTable d2(*t1, "sst_sb_orders");
  src->Execute(Sql("CREATE TABLE sst_sb_orders (id bigint PRIMARY KEY, customer_id int NOT NULL, total int)",
                   "CREATE TABLE sst_sb_orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, total INT) ENGINE=InnoDB"));
  src->Execute(Sql("INSERT INTO sst_sb_orders SELECT g, 1 + g % 300, g FROM generate_series(1, 20000) g",
                   "INSERT INTO sst_sb_orders SELECT seq, 1 + seq % 300, seq FROM seq_1_to_20000"));
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / fmt::format("sst-sb-{}", getpid());
  std::filesystem::create_directories(dir);
  auto spec = [&](const std::string& shard_by) {
    const std::string path = (dir / "spec.toml").string();
    std::ofstream(path) << fmt::format(R"([migration]
name = "sst-sb-{}-{}"
kind = "reshard"
[reshard]
table = "sst_sb_orders"
key = ["customer_id", "id"]
shard_by = {}
[reshard.source]
layout = "single"
database = "{}"
[reshard.target]
databases = ["{}", "{}"]
)", pg() ? "pg" : "my", getpid(), shard_by, Db("range_2"), Db("hash_0"), Db("hash_1"));
    return path;
  };
  const std::string plan = (dir / "plan.toml").string();
  CliRun bad = Shardshift({"--config", TestConfigPath(), "plan", spec("[\"id\"]"), "-o", plan});
  EXPECT_EQ(bad.rc, 2) << bad.output;
  EXPECT_NE(bad.output.find("field 'reshard.shard_by': must be the key's leading column(s)"), std::string::npos)
      << bad.output;
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec("[\"customer_id\"]"), "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;

  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::thread writer([&] {
    auto c = Connect("range_2");
    std::mt19937 rng(9);
    int64_t next = 100000;
    while (!stop) {
      try {
        c->Execute(fmt::format("INSERT INTO sst_sb_orders VALUES ({}, {}, 1)", ++next, 1 + rng() % 300));
        c->Execute(fmt::format("UPDATE sst_sb_orders SET total = total + 1 WHERE id = {}", 1 + rng() % 20000));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      } catch (const db::Error&) {
        ++errors;
      }
    }
  });
  CliRun applied = Shardshift({"--config", TestConfigPath(), "apply", "--until", "cutover", plan});
  stop = true;
  writer.join();
  ASSERT_EQ(applied.rc, 0) << applied.output;
  CliRun cut = Shardshift({"--config", TestConfigPath(), "apply", plan});
  ASSERT_EQ(cut.rc, 0) << cut.output;
  EXPECT_EQ(errors, 0);
  CliRun verified = Shardshift({"--config", TestConfigPath(), "verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;

  // The routing map hashes customer_id; every customer's orders are on the shard it names, and
  // only there.
  toml::table map = toml::parse_file(plan + ".routing.toml");
  ASSERT_TRUE(map["routing"]["key"].as_array());
  EXPECT_EQ(map["routing"]["key"].as_array()->size(), 1u);
  EXPECT_EQ((*map["routing"]["key"].as_array())[0].value_or(std::string()), "customer_id");
  int64_t rows = 0;
  std::vector<db::Connection*> shards = {t0.get(), t1.get()};
  for (size_t s = 0; s < shards.size(); ++s) {
    for (const db::Row& r : shards[s]->Query("SELECT customer_id, COUNT(*) AS n FROM sst_sb_orders GROUP BY customer_id").rows) {
      EXPECT_EQ(static_cast<size_t>(plans::ShardForKey({*r.at(0)}, 2)), s) << "customer " << *r.at(0) << " on shard " << s;
      rows += std::stoll(*r.at(1));
    }
  }
  EXPECT_EQ(rows, std::stoll(*src->Query("SELECT COUNT(*) FROM sst_sb_orders").rows.at(0).at(0)));
  // The targets' unique index on the whole key.
  db::SchemaInfo target = t0->Introspect({"", "sst_sb_orders", false});
  bool key_index = false;
  for (const db::IndexInfo& i : target.tables.at(0).indexes) {
    key_index = key_index || (i.unique && i.columns.size() == 2 && i.columns[0].name == "customer_id");
  }
  EXPECT_TRUE(key_index);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Engines, ShardByTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
