// Resharding through the shardshift executable under faults, on both engines, with an awkward table:
// a quoted name, a composite key of unicode text and an integer, a column named like a keyword,
// 30-digit numerics, binary data with zero bytes, timestamps, NULLs. Two hash shards go onto three
// (hash N -> M) while an application writes, and the run is hurt at every step:
//   - killed inside the copy (a kill point), then resumed;
//   - paused by the check command, its connections killed by the server meanwhile (it reconnects,
//     takes the run lock again and continues in the same run);
//   - killed inside verification, inside the cutover with writes blocked, and after the routing map
//     was published; each time resumed;
//   - the hooks run in their order, during_cutover exactly once, with the routing map in place.
// And a PostgreSQL server restarted under a running copy.
// Afterwards every target row equals its source row, column for column, on the shard it routes to.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <boost/process.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "plans/routing.h"
#include "sandbox/sandbox.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

namespace bp = boost::process;

class ReshardFaultsTest : public EngineTest {
 protected:
  // The row for key (tenant, line), as parameters in column order; variant changes its values.
  db::Params Row(int line, int variant) const {
    static const char* kinds[] = {"日本語", "é\"'\\", "plain"};
    const std::string tenant = fmt::format("tenant-{}-{}", line % 40, kinds[line % 3]);
    std::string payload = std::string("\0\xff", 2) + std::to_string(line * 31 + variant) + std::string(1, '\0');
    db::Params p = {tenant, line, fmt::format("v{} {}", variant, kinds[(line + variant) % 3])};
    if ((line + variant) % 11 == 0) {
      p.emplace_back(std::nullopt);
    } else {
      p.emplace_back(fmt::format("1234567890{:020}.{:010}", static_cast<int64_t>(line) * 7919 + variant, line));
    }
    if ((line + variant) % 13 == 0) {
      p.emplace_back(std::nullopt);
    } else {
      p.push_back(db::Param::Binary(payload));
    }
    if ((line + variant) % 17 == 0) {
      p.emplace_back(std::nullopt);
    } else {
      p.emplace_back(pg() ? fmt::format("2026-0{}-0{} 12:34:56.{:06}+05:30", 1 + line % 9, 1 + variant % 9, line)
                          : fmt::format("2026-0{}-0{} 12:34:56.{:06}", 1 + line % 9, 1 + variant % 9, line));
    }
    return p;
  }
  // The test below, with this line added to the spec's [options].
  void AwkwardTableUnderFaults(const std::string& capture_option);
  static int SourceOf(const db::Params& row) { return plans::ShardForKey({*row[0].value, *row[1].value}, 2); }

  std::string Insert() const {
    return fmt::format("INSERT INTO {} ({}, line, {}, amount, payload, at) VALUES ({}, {}, {}, {}, {}, {})",
                       Q("Order Lines"), Q("Tenant"), Q("select"), P(1), P(2), P(3), P(4), P(5), P(6));
  }
  std::string CreateOrderLines() const {
    return pg() ? "CREATE TABLE \"Order Lines\" (\"Tenant\" text NOT NULL, line integer NOT NULL, \"select\" text NOT "
                  "NULL, amount numeric(40,10), payload bytea, at timestamptz, PRIMARY KEY (\"Tenant\", line))"
                : "CREATE TABLE `Order Lines` (`Tenant` VARCHAR(64) NOT NULL, line INT NOT NULL, `select` VARCHAR(64) "
                  "NOT NULL, amount DECIMAL(40,10), payload BLOB, at TIMESTAMP(6) NULL, PRIMARY KEY (`Tenant`, line)) "
                  "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
  }
  std::string Q(const std::string& id) const { return pg() ? "\"" + id + "\"" : "`" + id + "`"; }

  // Kills the executor's sessions (application name "shardshift") on this engine's server.
  void KillExecutorSessions(db::Connection& admin) const {
    if (pg()) {
      admin.Query("SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity WHERE application_name = 'shardshift'");
      return;
    }
    db::ResultSet r = admin.Query(
        "SELECT PROCESSLIST_ID AS id FROM performance_schema.session_connect_attrs WHERE ATTR_NAME = 'program_name' "
        "AND ATTR_VALUE = 'shardshift'");
    for (size_t i = 0; i < r.rows.size(); ++i) {
      try {
        admin.Execute("KILL CONNECTION " + r.Text(i, "id"));
      } catch (const db::Error&) {  // gone already
      }
    }
  }
};

// Both engines capture from the log by default (capture = "auto"); the same run with triggers.
class TriggerCaptureFaultsTest : public ReshardFaultsTest {};

TEST_P(ReshardFaultsTest, AwkwardTableHashToHashSurvivesKillsLostConnectionsAndHooks) { AwkwardTableUnderFaults(""); }

TEST_P(TriggerCaptureFaultsTest, AwkwardTableHashToHashSurvivesKillsLostConnectionsAndHooks) {
  AwkwardTableUnderFaults("capture = \"trigger\"");
}

void ReshardFaultsTest::AwkwardTableUnderFaults(const std::string& capture_option) {
  const std::string migration = fmt::format("sst-faults-{}-{}-{}", pg() ? "pg" : "my", getpid(),
                                            std::chrono::system_clock::now().time_since_epoch().count());
  std::vector<std::unique_ptr<db::Connection>> conns;
  std::vector<std::unique_ptr<DropTable>> drops;
  auto open = [&](const std::string& base) {
    conns.push_back(Connect(base));
    drops.push_back(std::make_unique<DropTable>(*conns.back(), "Order Lines"));
    return conns.back().get();
  };
  std::vector<db::Connection*> sources = {open("range_0"), open("range_1")};
  std::vector<db::Connection*> targets = {open("hash_0"), open("hash_1"), open("hash_2")};
  for (db::Connection* s : sources) s->Execute(CreateOrderLines());
  constexpr int kRows = 6000;
  for (int line = 0; line < kRows; ++line) {
    db::Params row = Row(line, 0);
    sources[static_cast<size_t>(SourceOf(row))]->Execute(Insert(), row);
  }

  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sst-faults-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  const std::string pause = (dir / "pause").string();
  const std::string hooks = (dir / "hooks.log").string();
  std::ofstream(spec) << fmt::format(R"([migration]
name = "{0}"
kind = "reshard"
[options]
chunk_rows = 200
target_chunk_ms = 50
max_rows_per_second = 4000
check_command = "test ! -e {1}"
{8}
[hooks]
before_cutover = "echo before >> {2}"
during_cutover = "test -s \"$SHARDSHIFT_ROUTING_MAP\" && echo \"during $SHARDSHIFT_MIGRATION $SHARDSHIFT_TARGETS\" >> {2}"
after_cutover = "echo after >> {2}"
[reshard]
table = "Order Lines"
key = ["Tenant", "line"]
[reshard.source]
layout = "hash"
databases = ["{3}", "{4}"]
[reshard.target]
databases = ["{5}", "{6}", "{7}"]
)", migration, pause, hooks, Db("range_0"), Db("range_1"), Db("hash_0"), Db("hash_1"), Db("hash_2"),
                                     capture_option);
  const std::string config = TestConfigPath();
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;

  // The application: updates (also to NULLs) and deletes on both sources, and inserts of new keys
  // on the source they route to.
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::atomic<int> refused{0};  // writes refused by the fence after the cutover
  auto app = [&](unsigned seed) {
    std::vector<std::unique_ptr<db::Connection>> c;
    c.push_back(Connect("range_0"));
    c.push_back(Connect("range_1"));
    std::mt19937 rng(seed);
    int next_line = kRows + static_cast<int>(seed) * 100000;
    while (!stop) {
      try {
        const int op = static_cast<int>(rng() % 4);
        if (op == 0) {
          db::Params row = Row(next_line++, 0);
          c[static_cast<size_t>(SourceOf(row))]->Execute(Insert(), row);
        } else {
          const int line = static_cast<int>(rng() % kRows);
          db::Params row = Row(line, static_cast<int>(rng() % 1000));
          db::Connection& s = *c[static_cast<size_t>(SourceOf(row))];
          if (op == 3) {
            s.Execute(fmt::format("DELETE FROM {} WHERE {} = {} AND line = {}", Q("Order Lines"), Q("Tenant"), P(1), P(2)),
                      {row[0], row[1]});
          } else {
            s.Execute(fmt::format("UPDATE {} SET {} = {}, amount = {}, payload = {}, at = {} WHERE {} = {} AND line = {}",
                                  Q("Order Lines"), Q("select"), P(1), P(2), P(3), P(4), Q("Tenant"), P(5), P(6)),
                      {row[2], row[3], row[4], row[5], row[0], row[1]});
          }
        }
        ++writes;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      } catch (const db::Error& e) {
        // After the cutover the sources are fenced: the application's write is refused, by name.
        const bool fenced = std::string(e.what()).find("shardshift migration '" + migration + "'") != std::string::npos;
        if (fenced) ++refused;
        if (!fenced && e.kind() != db::ErrorKind::kUniqueViolation && e.kind() != db::ErrorKind::kLockTimeout) throw;
      }
    }
  };
  std::thread app0(app, 1);
  std::thread app1(app, 2);
  auto stop_app = [&] {
    if (stop.exchange(true)) return;
    app0.join();
    app1.join();
  };
  AtScopeExit joiner{stop_app};

  const std::vector<std::string> apply = {"--config", config, "--log-level", "warn", "apply", "--json", plan};
  auto apply_with_kill = [&](const std::string& point, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = apply;
    args.insert(args.end() - 1, extra.begin(), extra.end());
    CliRun r = Shardshift(args, {{"SHARDSHIFT_KILL_AT", point}});
    EXPECT_TRUE(r.killed) << "apply was to be killed at " << point << " but ended with " << r.rc << ":\n" << r.output;
  };

  // 1. Killed in the middle of the copy; with log capture also while its stream is read.
  // (The stream first: it queues every 200 ms or so, and the copy must still be under way after.)
  if (pg() && capture_option.empty()) apply_with_kill("capture.queued:3");
  apply_with_kill("backfill.chunk:6");

  // 2. Paused by the check command; while paused, the server kills its sessions; then resumed. It
  // must not copy while paused, and it must finish in this same run.
  std::ofstream(pause) << "hold\n";
  bp::ipstream out;
  std::vector<std::string> args = apply;
  args.insert(args.end() - 1, {"--until", "verify"});
  bp::child running(SHARDSHIFT_BIN, bp::args = args, bp::std_out > out, bp::std_err > bp::null);
  auto rows_done = [&] {
    CliRun s = Shardshift({"--config", config, "status", "--json", plan});
    int64_t n = 0;
    const nlohmann::json state = nlohmann::json::parse(s.output);  // kept: the loop reads into it
    for (const auto& step : state["steps"]) n += step["rows_done"].get<int64_t>();
    return n;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const int64_t paused_at = rows_done();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(rows_done(), paused_at) << "the copy went on while the check command failed";
  EXPECT_TRUE(running.running());
  KillExecutorSessions(*conns.front());
  std::filesystem::remove(pause);
  std::string text, line;
  while (std::getline(out, line)) text += line + "\n";
  running.wait();
  ASSERT_EQ(running.exit_code(), 0) << text;
  nlohmann::json result = nlohmann::json::parse(text);
  EXPECT_GE(result["check_pauses"].get<int64_t>(), 1) << text;
  EXPECT_GE(result["retries"].get<int64_t>(), 1) << "the killed sessions were not noticed: " << text;
  EXPECT_GT(result["rows_copied"].get<int64_t>(), 0) << text;

  // `verify` on its own while the application writes: no apply runs, so it takes the run lock,
  // replays what is queued and re-checks what changed meanwhile; the copy is complete, so it passes.
  CliRun live = Shardshift({"--config", config, "verify", plan});
  EXPECT_EQ(live.rc, 0) << live.output;

  // 3. Killed inside verification, then inside the cutover (writes blocked), then after the routing
  // map was published. The application keeps writing through all of it.
  apply_with_kill("verify.chunk:3");
  apply_with_kill("cutover.blocked");
  EXPECT_FALSE(std::filesystem::exists(plan + ".routing.toml"));
  const int before = writes;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(writes, before) << "the sources stayed blocked after the executor died inside the cutover";
  apply_with_kill("cutover.published");
  EXPECT_TRUE(std::filesystem::exists(plan + ".routing.toml"));
  // Killed after the fence went up: the sources refuse the application's writes by name (an error,
  // never a write that no one carries over), and the next apply finishes the switch.
  const int refused_before = refused;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(refused, refused_before) << "the sources took writes after a cutover that fenced them";

  // 4. The application stops (it would now follow the routing map); the last apply cuts over.
  stop_app();
  EXPECT_GT(writes, 300);
  CliRun finished = Shardshift(apply);
  ASSERT_EQ(finished.rc, 0) << finished.output;
  // The fence was up: the switch had been decided, so this run finishes it without blocking again.
  EXPECT_NE(finished.output.find("the sources were fenced by a run that stopped before it recorded the cutover"),
            std::string::npos)
      << finished.output;
  std::ifstream hook_log(hooks);
  std::stringstream hook_text;
  hook_text << hook_log.rdbuf();
  // before_cutover ran in the two runs killed inside the cutover; the last run found the fence up
  // and finished the switch: during_cutover (again, hooks are idempotent) and after_cutover.
  EXPECT_EQ(hook_text.str(), fmt::format("before\nbefore\nduring {} {},{},{}\nafter\n", migration, Db("hash_0"),
                                         Db("hash_1"), Db("hash_2")));
  CliRun verified = Shardshift({"--config", config, "verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;

  // Every row, column for column, on the shard its key routes to.
  const std::string select =
      fmt::format("SELECT {}, line, {}, amount, payload, at FROM {}", Q("Tenant"), Q("select"), Q("Order Lines"));
  std::map<std::pair<std::string, std::string>, db::Row> expected;
  for (db::Connection* s : sources) {
    for (const db::Row& r : s->Query(select).rows) expected.emplace(std::pair{*r[0], *r[1]}, r);
  }
  size_t found = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    for (const db::Row& r : targets[t]->Query(select).rows) {
      ++found;
      EXPECT_EQ(plans::ShardForKey({*r[0], *r[1]}, 3), static_cast<int>(t)) << "key " << *r[0] << "," << *r[1];
      auto it = expected.find({*r[0], *r[1]});
      if (it == expected.end()) {
        ADD_FAILURE() << "key (" << *r[0] << ", " << *r[1] << ") is on a target but not on the sources";
      } else {
        EXPECT_EQ(it->second, r) << "key (" << *r[0] << ", " << *r[1] << ") differs";
      }
    }
  }
  EXPECT_EQ(found, expected.size());
  EXPECT_GT(found, static_cast<size_t>(kRows / 2));
  CliRun cleanup = Shardshift({"--config", config, "apply", "--cleanup", plan});
  EXPECT_EQ(cleanup.rc, 0) << cleanup.output;
  std::filesystem::remove_all(dir);
}

// A hash source whose rows do not all route to it is refused at plan time, with the count.
TEST_P(ReshardFaultsTest, HashSourceHoldingForeignKeysIsRefused) {
  auto s0 = Connect("range_0");
  auto s1 = Connect("range_1");
  DropTable d0(*s0, "Order Lines");
  DropTable d1(*s1, "Order Lines");
  s0->Execute(CreateOrderLines());
  s1->Execute(CreateOrderLines());
  int wrong = 0;
  for (int line = 0; line < 200; ++line) {
    db::Params row = Row(line, 0);
    const bool misplace = SourceOf(row) == 1 && wrong < 3;  // three of shard 1's rows on shard 0
    wrong += misplace;
    (SourceOf(row) == 0 || misplace ? s0 : s1)->Execute(Insert(), row);
  }
  ASSERT_EQ(wrong, 3);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sst-foreign-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  std::ofstream(spec) << fmt::format(R"([migration]
name = "foreign-keys-on-hash-source"
kind = "reshard"
[reshard]
table = "Order Lines"
key = ["Tenant", "line"]
[reshard.source]
layout = "hash"
databases = ["{}", "{}"]
[reshard.target]
databases = ["{}", "{}", "{}"]
)", Db("range_0"), Db("range_1"), Db("hash_0"), Db("hash_1"), Db("hash_2"));
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", (dir / "plan.toml").string()});
  EXPECT_EQ(planned.rc, 2) << planned.output;
  EXPECT_NE(planned.output.find("spec.toml:9:"), std::string::npos) << planned.output;
  EXPECT_NE(planned.output.find("is hash shard 0 of 2, but 3 of the "), std::string::npos) << planned.output;
  EXPECT_NE(planned.output.find("route to another source shard"), std::string::npos) << planned.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "plan.toml"));
  std::filesystem::remove_all(dir);
}

// The server restarts (fast shutdown: every session cut, connections refused for a moment) in the
// middle of the copy: apply reconnects, takes its run lock again and finishes in the same run.
// PostgreSQL only: the sandbox can restart it in place; MariaDB's lost sessions are covered above.
class ServerRestartTest : public EngineTest {};

TEST_P(ServerRestartTest, ApplyRidesOutAServerRestartInTheSameRun) {
  const std::string migration = fmt::format("sst-restart-{}-{}", getpid(),
                                            std::chrono::system_clock::now().time_since_epoch().count());
  const std::vector<std::string> dbs = {"range_0", "hash_0", "hash_1"};
  auto drop_all = [&] {
    for (const std::string& d : dbs) Connect(d)->Execute("DROP TABLE IF EXISTS sst_restart");
  };
  drop_all();
  constexpr int kRows = 30000;
  {
    auto s0 = Connect("range_0");
    s0->Execute("CREATE TABLE sst_restart (id bigint PRIMARY KEY, v text NOT NULL)");
    s0->Execute(fmt::format("INSERT INTO sst_restart SELECT g, md5(g::text) FROM generate_series(1, {}) g", kRows));
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sst-restart-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  std::ofstream(spec) << fmt::format(R"([migration]
name = "{}"
kind = "reshard"
[options]
chunk_rows = 500
max_rows_per_second = 10000
[reshard]
table = "sst_restart"
key = ["id"]
[reshard.source]
layout = "single"
database = "{}"
[reshard.target]
databases = ["{}", "{}"]
)", migration, Db("range_0"), Db("hash_0"), Db("hash_1"));
  const std::string config = TestConfigPath();
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;

  bp::ipstream out;
  bp::child apply(SHARDSHIFT_BIN, bp::args = {"--config", config, "--log-level", "warn", "apply", "--json", plan},
                  bp::std_out > out, bp::std_err > bp::null);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_TRUE(apply.running()) << "the copy ended before the restart";
  sandbox::Sandbox(std::filesystem::path(config).parent_path().string()).RestartPostgres();
  std::string text, line;
  while (std::getline(out, line)) text += line + "\n";
  apply.wait();
  ASSERT_EQ(apply.exit_code(), 0) << text;
  nlohmann::json result = nlohmann::json::parse(text);
  EXPECT_GE(result["retries"].get<int64_t>(), 1) << text;
  EXPECT_GE(result["write_blocked_ms"].get<int64_t>(), 0) << text;
  CliRun verified = Shardshift({"--config", config, "verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
  int64_t on_targets = 0;
  for (const char* t : {"hash_0", "hash_1"}) {
    on_targets += std::stoll(Connect(t)->Query("SELECT COUNT(*) AS n FROM sst_restart").Text(0, "n"));
  }
  EXPECT_EQ(on_targets, kRows);
  CliRun cleanup = Shardshift({"--config", config, "apply", "--cleanup", plan});
  EXPECT_EQ(cleanup.rc, 0) << cleanup.output;
  drop_all();
  std::filesystem::remove_all(dir);
}

// Every step killed once right after its work, before it was recorded: the next apply repeats it,
// and the end is the same.
TEST_P(ReshardFaultsTest, EveryStepKilledAfterItsWorkIsRepeatedSafely) {
  const std::string migration = fmt::format("sst-steps-{}-{}", getpid(),
                                            std::chrono::system_clock::now().time_since_epoch().count());
  auto s0 = Connect("range_0");
  auto t0 = Connect("hash_0");
  auto t1 = Connect("hash_1");
  DropTable d0(*s0, "Order Lines");
  DropTable d1(*t0, "Order Lines");
  DropTable d2(*t1, "Order Lines");
  s0->Execute(CreateOrderLines());
  for (int line = 0; line < 500; ++line) s0->Execute(Insert(), Row(line, 0));
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sst-steps-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  std::ofstream(spec) << fmt::format(R"([migration]
name = "{}"
kind = "reshard"
[reshard]
table = "Order Lines"
key = ["Tenant", "line"]
[reshard.source]
layout = "single"
database = "{}"
[reshard.target]
databases = ["{}", "{}"]
)", migration, Db("range_0"), Db("hash_0"), Db("hash_1"));
  const std::string config = TestConfigPath();
  ASSERT_EQ(Shardshift({"--config", config, "plan", spec, "-o", plan}).rc, 0);
  int kills = 0;
  for (int round = 0; round < 20; ++round) {
    CliRun r = Shardshift({"--config", config, "--log-level", "warn", "apply", plan},
                          {{"SHARDSHIFT_KILL_AT", round == 0 ? "step.ran:1" : "step.ran:2"}});
    if (!r.killed) {
      ASSERT_EQ(r.rc, 0) << r.output;
      break;
    }
    ++kills;
  }
  EXPECT_EQ(kills, 7) << "create_target x2, capture, backfill, replay, verify, cutover: each killed once";
  const std::string select =
      fmt::format("SELECT {}, line, {}, amount, payload, at FROM {} ORDER BY 1, 2", Q("Tenant"), Q("select"), Q("Order Lines"));
  std::vector<db::Row> moved = t0->Query(select).rows;
  for (const db::Row& r : t1->Query(select).rows) moved.push_back(r);
  std::sort(moved.begin(), moved.end());
  std::vector<db::Row> source = s0->Query(select).rows;
  std::sort(source.begin(), source.end());
  EXPECT_EQ(moved, source);
  CliRun cleanup = Shardshift({"--config", config, "apply", "--cleanup", plan}, {{"SHARDSHIFT_KILL_AT", "step.ran:1"}});
  EXPECT_TRUE(cleanup.killed) << cleanup.output;
  cleanup = Shardshift({"--config", config, "apply", "--cleanup", plan});
  EXPECT_EQ(cleanup.rc, 0) << cleanup.output;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Engines, TriggerCaptureFaultsTest,
                         ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL), EngineParamName);
INSTANTIATE_TEST_SUITE_P(Postgres, ServerRestartTest, ::testing::Values(db::Engine::kPostgres), EngineParamName);

INSTANTIATE_TEST_SUITE_P(Engines, ReshardFaultsTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
