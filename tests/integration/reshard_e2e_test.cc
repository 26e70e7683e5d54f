// Resharding end to end through the shardshift executable, on both engines: two range shards onto
// three hash shards while an application writes (inserts, updates of values and of the key,
// deletes). `apply` is killed with SIGKILL several times during the copy and resumed; a second
// `apply` while one runs is refused. The final apply verifies and cuts over; afterwards every
// target row equals the source's last committed row, none missing, duplicated or misplaced.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <boost/process.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "plans/routing.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

namespace bp = boost::process;

class ReshardEndToEndTest : public EngineTest {};

TEST_P(ReshardEndToEndTest, KilledAndResumedUnderConcurrentWritesEndsEqual) {
  // A fresh name per run: run state is kept by migration name.
  const std::string migration = fmt::format("sst-e2e-{}-{}-{}", pg() ? "pg" : "my", getpid(),
                                            std::chrono::system_clock::now().time_since_epoch().count());
  std::vector<std::unique_ptr<db::Connection>> conns;
  std::vector<std::unique_ptr<DropTable>> drops;
  auto open = [&](const std::string& base) {
    conns.push_back(Connect(base));
    drops.push_back(std::make_unique<DropTable>(*conns.back(), "sst_e2e"));
    return conns.back().get();
  };
  db::Connection* s0 = open("range_0");
  db::Connection* s1 = open("range_1");
  std::vector<db::Connection*> targets = {open("hash_0"), open("hash_1"), open("hash_2")};
  const char* create = Sql("CREATE TABLE sst_e2e (id bigint PRIMARY KEY, name text NOT NULL, score numeric(30,10), "
                           "data bytea, at timestamptz)",
                           "CREATE TABLE sst_e2e (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, score "
                           "DECIMAL(30,10), data BLOB, at TIMESTAMP(6) NULL) ENGINE=InnoDB");
  s0->Execute(create);
  s1->Execute(create);
  auto fill = [&](db::Connection* c, int lo, int hi) {
    c->Execute(pg() ? fmt::format("INSERT INTO sst_e2e SELECT g, 'n' || g, g / 3.0, decode(md5(g::text), 'hex'), "
                                  "now() FROM generate_series({}, {}) g", lo, hi)
                    : fmt::format("INSERT INTO sst_e2e SELECT seq, CONCAT('n', seq), seq / 3.0, UNHEX(MD5(seq)), "
                                  "NOW(6) FROM seq_{}_to_{}", lo, hi));
  };
  fill(s0, 1, 20000);
  fill(s1, 20001, 40000);

  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sst-e2e-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  std::ofstream(spec) << fmt::format(R"([migration]
name = "{}"
kind = "reshard"
[options]
chunk_rows = 500
[reshard]
table = "sst_e2e"
key = ["id"]
[reshard.source]
layout = "range"
[[reshard.source.shards]]
database = "{}"
to = 20001
[[reshard.source.shards]]
database = "{}"
from = 20001
[reshard.target]
databases = ["{}", "{}", "{}"]
)", migration, Db("range_0"), Db("range_1"), Db("hash_0"), Db("hash_1"), Db("hash_2"));
  const std::string config = TestConfigPath();
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;

  // The application, on both sources, for the whole copy.
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  auto app = [&](const std::string& base, int lo, int hi, unsigned seed) {
    auto c = Connect(base);
    std::mt19937 rng(seed);
    while (!stop) {
      int id = lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo));
      try {
        switch (rng() % 4) {
          case 0: c->Execute("INSERT INTO sst_e2e (id, name) VALUES (" + P(1) + ", 'fresh')", {id}); break;
          case 1: c->Execute("UPDATE sst_e2e SET name = " + P(1) + ", score = score + 1 WHERE id = " + P(2),
                             {"upd" + std::to_string(rng()), id}); break;
          case 2: c->Execute("UPDATE sst_e2e SET id = " + P(1) + " WHERE id = " + P(2), {id + 1, id}); break;
          default: c->Execute("DELETE FROM sst_e2e WHERE id = " + P(1), {id});
        }
        ++writes;
      } catch (const db::Error& e) {
        if (e.kind() != db::ErrorKind::kUniqueViolation) throw;
      }
    }
  };
  std::thread app0(app, "range_0", 1, 20000, 1);
  std::thread app1(app, "range_1", 20001, 40000, 2);

  // Kill apply at several points of a throttled copy, and resume: each time once the copy has moved
  // on since the last kill (read from the run state, as `status` shows it), so that the kills land
  // inside the copy however long the start takes on a busy machine.
  auto copied = [&] {
    CliRun s = Shardshift({"--config", config, "status", "--json", plan});
    int64_t rows = 0;
    if (s.rc != 0) return rows;
    const nlohmann::json state = nlohmann::json::parse(s.output);
    for (const auto& step : state["steps"]) {
      if (step["kind"] == "backfill") rows += step["rows_done"].get<int64_t>();
    }
    return rows;
  };
  int kills = 0;
  int64_t seen = 0;
  for (int round = 0; round < 4; ++round) {
    bp::child c(SHARDSHIFT_BIN, bp::args = {"--config", config, "--log-level", "warn", "apply",
                                            "--max-rows-per-second", "8000", "--until", "cutover", plan},
                bp::std_out > bp::null, bp::std_err > bp::null);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (c.running() && std::chrono::steady_clock::now() < deadline) {
      const int64_t now = copied();
      if (now > seen) {
        seen = now;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (round == 1) {
      CliRun second = Shardshift({"--config", config, "apply", "--lock-wait", "0", "--until", "cutover", plan});
      EXPECT_EQ(second.rc, 2) << second.output;
      EXPECT_NE(second.output.find("another shardshift is running plan"), std::string::npos) << second.output;
    }
    if (c.running()) {
      kill(c.id(), SIGKILL);
      ++kills;
    }
    c.wait();
    // What the killed run saved after `seen` was read: the next round waits for its own progress,
    // not this run's, before it tries a second apply (which must meet the running one's lock).
    seen = copied();
  }
  EXPECT_GE(kills, 2) << "apply finished before it could be killed";
  CliRun status = Shardshift({"--config", config, "status", plan});
  EXPECT_NE(status.output.find("backfill."), std::string::npos) << status.output;
  EXPECT_NE(status.output.find(" rows/s"), std::string::npos) << status.output;  // progress of the killed runs

  stop = true;  // the application moves to the targets at cutover; here it simply stops first
  app0.join();
  app1.join();
  EXPECT_GT(writes, 200);
  CliRun finished = Shardshift({"--config", config, "apply", plan});
  if (finished.rc != 0 && std::getenv("SST_KEEP")) {
    stop = true;
    std::ofstream(dir / "KEPT") << plan;
    for (auto& d : drops) d.release();  // NOLINT: keep the tables for a post-mortem
    return;
  }
  ASSERT_EQ(finished.rc, 0) << finished.output;
  EXPECT_NE(finished.output.find("write-blocked"), std::string::npos) << finished.output;
  CliRun verified = Shardshift({"--config", config, "verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;

  std::map<std::string, db::Row> expected;
  for (db::Connection* c : {s0, s1}) {
    for (const db::Row& r : c->Query("SELECT id, name, score, data, at FROM sst_e2e").rows) {
      EXPECT_TRUE(expected.emplace(*r[0], r).second) << "key " << *r[0] << " on both sources";
    }
  }
  size_t found = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    for (const db::Row& r : targets[t]->Query("SELECT id, name, score, data, at FROM sst_e2e").rows) {
      ++found;
      EXPECT_EQ(plans::ShardForKey({*r[0]}, 3), static_cast<int>(t)) << "key " << *r[0];
      auto it = expected.find(*r[0]);
      if (it == expected.end()) {
        ADD_FAILURE() << "key " << *r[0] << " is on a target but no longer on the source";
      } else {
        EXPECT_EQ(it->second, r) << "key " << *r[0] << " differs";
      }
    }
  }
  EXPECT_EQ(found, expected.size());
  if (pg()) {
    // The targets take over with statistics, not as tables the planner has never seen.
    for (db::Connection* t : targets) {
      EXPECT_NE(t->Query("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'sst_e2e'").rows.at(0)[0],
                std::nullopt);
    }
  }
  CliRun cleanup = Shardshift({"--config", config, "apply", "--cleanup", plan});
  EXPECT_EQ(cleanup.rc, 0) << cleanup.output;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Engines, ReshardEndToEndTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
