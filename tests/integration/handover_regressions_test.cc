// The handover's loose ends, each as it was seen (issue 14), on both engines: a verify after the
// cutover that wrote stale source rows over the targets; late writes that cleanup dropped without a
// word; a hook timeout that was ignored; hooks that inherited shardshift's sessions; a kill or a
// signal inside the window; cleanup that ran the cutover; two plans moving one table; a split's
// switch and revert killed inside their windows.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/process.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "db/error.h"
#include "plans/routing.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

namespace bp = boost::process;
using Clock = std::chrono::steady_clock;

class HandoverRegressionTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    migration_ =
        fmt::format("sst-hr-{}-{}-{}", pg() ? "pg" : "my", getpid(),
                    std::chrono::system_clock::now().time_since_epoch().count() % 1000000000);
    for (const char* base : {"range_0", "hash_0", "hash_1", "hash_2"}) {
      conns_.push_back(Connect(base));
      drops_.push_back(std::make_unique<DropTable>(*conns_.back(), "sst_hr"));
    }
    source().Execute(
        Sql("CREATE TABLE sst_hr (id bigint PRIMARY KEY, v text NOT NULL)",
            "CREATE TABLE sst_hr (id BIGINT PRIMARY KEY, v VARCHAR(64) NOT NULL) ENGINE=InnoDB"));
    source().Execute(pg() ? "INSERT INTO sst_hr SELECT g, 'v' || g FROM generate_series(1, 1000) g"
                          : "INSERT INTO sst_hr SELECT seq, CONCAT('v', seq) FROM seq_1_to_1000");
    dir_ = std::filesystem::temp_directory_path() / ("sst-hr-" + migration_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  db::Connection& source() { return *conns_[0]; }
  db::Connection& target(int i) { return *conns_[static_cast<size_t>(1 + i)]; }
  static int ShardOf(int64_t id, int n = 2) { return plans::ShardForKey({std::to_string(id)}, n); }

  // A reshard of sst_hr from range_0 onto hash_0 and hash_1 (or the targets given); returns the
  // plan.
  std::string Plan(const std::string& options, const std::string& hooks,
                   const std::string& name = "",
                   std::vector<std::string> targets = {"hash_0", "hash_1"}) {
    const std::string n = name.empty() ? migration_ : name;
    const std::string spec = (dir_ / (n + ".toml")).string();
    const std::string plan = (dir_ / (n + ".plan.toml")).string();
    std::ofstream(spec) << fmt::format(R"([migration]
name = "{}"
kind = "reshard"
[options]
chunk_rows = 300
{}
[hooks]
{}
[reshard]
table = "sst_hr"
key = ["id"]
[reshard.source]
layout = "single"
database = "{}"
[reshard.target]
databases = ["{}"]
)",
                                       n, options, hooks, Db("range_0"),
                                       fmt::join(
                                           [&] {
                                             std::vector<std::string> out;
                                             for (const std::string& t : targets)
                                               out.push_back(Db(t));
                                             return out;
                                           }(),
                                           "\", \""));
    CliRun planned = Cli({"plan", spec, "-o", plan});
    EXPECT_EQ(planned.rc, 0) << planned.output;
    return plan;
  }
  // A vertical split moving column m of table (in range_0) into table_m on hash_0; returns the plan,
  // "" when planning failed.
  std::string SplitPlan(const std::string& name, const std::string& table, const std::string& options = "") {
    const std::string spec = (dir_ / (name + ".toml")).string();
    const std::string plan = (dir_ / (name + ".plan.toml")).string();
    std::ofstream(spec) << fmt::format(R"([migration]
name = "{}-{}"
kind = "vertical_split"
[options]
{}
[vertical_split]
database = "{}"
table = "{}"
key = ["id"]
[[vertical_split.tables]]
name = "{}_m"
database = "{}"
columns = ["m"]
)",
                                       migration_, name, options, Db("range_0"), table, table, Db("hash_0"));
    CliRun planned = Cli({"plan", spec, "-o", plan});
    EXPECT_EQ(planned.rc, 0) << planned.output;
    return planned.rc == 0 ? plan : "";
  }
  void SplitKilledInItsWindows(const std::string& capture);
  CliRun Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", TestConfigPath(), "--log-level", "warn"});
    return Shardshift(args);
  }
  std::string ValueAt(db::Connection& c, int64_t id) {
    db::ResultSet r = c.Query("SELECT v FROM sst_hr WHERE id = " + P(1), {id});
    return r.rows.empty() ? "<none>" : r.Text(0, "v");
  }
  // The error a write gets, "" when it commits.
  std::string WriteError(db::Connection& c, int64_t id, const std::string& v) {
    try {
      c.Execute("UPDATE sst_hr SET v = " + P(1) + " WHERE id = " + P(2), {v, id});
      return "";
    } catch (const db::Error& e) {
      return e.what();
    }
  }
  std::string ReadFile(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Waits up to seconds for a file to appear.
  bool WaitFor(const std::filesystem::path& p, double seconds) {
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < until) {
      if (std::filesystem::exists(p) && std::filesystem::file_size(p) > 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  // Whether any process of the group is alive (a zombie waiting for a reaper is not).
  static bool GroupAlive(pid_t group) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream in(entry.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const size_t close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 2));
      char state = 0;
      pid_t ppid = 0;
      pid_t pgrp = 0;
      rest >> state >> ppid >> pgrp;
      if (pgrp == group && state != 'Z') return true;
    }
    return false;
  }
  bp::child Background(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", TestConfigPath(), "--log-level", "warn"});
    return bp::child(SHARDSHIFT_BIN, bp::args = args, bp::std_out > (dir_ / "bg.out").string(),
                     bp::std_err > (dir_ / "bg.err").string());
  }

  std::string migration_;
  std::vector<std::unique_ptr<db::Connection>> conns_;
  std::vector<std::unique_ptr<DropTable>> drops_;
  std::filesystem::path dir_;
};

TEST_P(HandoverRegressionTest,
       AfterTheCutoverSourcesRefuseWritesAndVerifyNeverWritesThemOverTheTargets) {
  const std::string plan = Plan("", "");
  CliRun applied = Cli({"apply", plan});
  ASSERT_EQ(applied.rc, 0) << applied.output;
  const int64_t k = 42;
  db::Connection& t = target(ShardOf(k));
  // An old instance writes the source: refused, by name, saying where the rows went.
  const std::string refused = WriteError(source(), k, "stale");
  EXPECT_NE(refused.find("shardshift migration '" + migration_ + "' moved sst_hr"),
            std::string::npos)
      << refused;
  EXPECT_NE(refused.find(Db("hash_0")), std::string::npos) << refused;
  EXPECT_EQ(WriteError(t, k, "newest"), "");
  // The original report: verify said "agree" and the target held the source's older value.
  CliRun verified = Cli({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
  EXPECT_EQ(ValueAt(t, k), "newest");
  EXPECT_EQ(ValueAt(source(), k), "newest")
      << "the way back did not carry the target's write to the source";
  CliRun status = Cli({"status", "--json", plan});
  ASSERT_EQ(status.rc, 0) << status.output;
  EXPECT_EQ(nlohmann::json::parse(status.output)["late_writes"], 0);
}

TEST_P(HandoverRegressionTest,
       WithoutTheFenceLateWritesAreReportedAndCleanupWillNotDropThemSilently) {
  const std::string plan = Plan("fence = false", "");
  ASSERT_EQ(Cli({"apply", plan}).rc, 0);
  const int64_t k = 7;
  db::Connection& t = target(ShardOf(k));
  EXPECT_EQ(WriteError(source(), k, "late"), "") << "fence = false: the source takes the write";
  EXPECT_EQ(WriteError(t, k, "newest"), "");
  CliRun verified = Cli({"verify", plan});
  EXPECT_EQ(ValueAt(t, k), "newest") << "verify wrote the source's late row over the target";
  CliRun status = Cli({"status", plan});
  EXPECT_NE(status.output.find("LATE WRITES        1 change(s)"), std::string::npos)
      << status.output;
  CliRun cleanup = Cli({"apply", "--cleanup", plan});
  EXPECT_EQ(cleanup.rc, 2) << cleanup.output;
  EXPECT_NE(cleanup.output.find("1 change(s) were written to the sources after the cutover"),
            std::string::npos)
      << cleanup.output;
  CliRun forced = Cli({"apply", "--cleanup", "--force", plan});
  EXPECT_EQ(forced.rc, 0) << forced.output;
  EXPECT_NE(
      forced.output.find("dropped            1 change(s) written to the sources after the cutover"),
      std::string::npos)
      << forced.output;
}

TEST_P(HandoverRegressionTest, TheHookTimeoutIsTheSpecsAndATimedOutHookUndoesTheCutover) {
  const std::string plan = Plan("", "during_cutover = \"sleep 5\"\ntimeout_ms = 1000");
  const auto started = Clock::now();
  CliRun applied = Cli({"apply", plan});
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  EXPECT_EQ(applied.rc, 1) << applied.output;
  EXPECT_NE(applied.output.find("during_cutover hook failed (timed out"), std::string::npos)
      << applied.output;
  EXPECT_LT(seconds, 4.5) << "the hook ran past its 1000 ms";
  // Undone: the map withdrawn, the source writable, the targets still fenced, the cutover pending.
  EXPECT_FALSE(std::filesystem::exists(plan + ".routing.toml"));
  EXPECT_EQ(WriteError(source(), 3, "after"), "");
  EXPECT_NE(WriteError(target(ShardOf(3)), 3, "early")
                .find("takes writes only after the migration switches"),
            std::string::npos);
  CliRun status = Cli({"status", "--json", plan});
  const nlohmann::json state = nlohmann::json::parse(status.output);
  bool seen = false;
  for (const auto& s : state["steps"]) {
    if (s["id"] != "cutover") continue;
    seen = true;
    EXPECT_EQ(s["status"], "pending");
  }
  EXPECT_TRUE(seen) << status.output;
}

TEST_P(HandoverRegressionTest, AHookInheritsNoSessionAndOneOutlivingAKilledApplyHoldsNoLock) {
  const std::filesystem::path fds = dir_ / "fds";
  const std::filesystem::path pid = dir_ / "pid";
  const std::string hook = fmt::format(
      "during_cutover = \"test -e {1} && exit 0; ls -l /proc/$$/fd > {0}; echo $$ > {1}; sleep "
      "20\"\ntimeout_ms = "
      "30000",
      fds.string(), pid.string());
  const std::string plan = Plan("", hook);
  bp::child apply = Background({"apply", plan});
  ASSERT_TRUE(WaitFor(pid, 30)) << ReadFile(dir_ / "bg.err");
  ::kill(apply.id(), SIGKILL);
  apply.wait();
  const pid_t hook_pid = std::stoi(ReadFile(pid));
  struct Reaper {
    pid_t group;
    ~Reaper() { ::kill(-group, SIGKILL); }
  } reaper{hook_pid};
  EXPECT_TRUE(GroupAlive(hook_pid)) << "the hook should still be running";
  const std::string open = ReadFile(fds);
  EXPECT_EQ(open.find("socket:"), std::string::npos) << "the hook inherited sockets:\n" << open;
  // No lock outlives the executor: writes get an answer at once (the fence's refusal or success).
  for (int i = 0; i < 2; ++i) {
    db::Connection& c = i == 0 ? source() : target(ShardOf(5));
    c.SetLockTimeout(3000);
    const std::string error = WriteError(c, 5, "probe");
    EXPECT_EQ(error.find("timeout"), std::string::npos) << error;
    EXPECT_EQ(error.find("Lock wait"), std::string::npos) << error;
  }
  // The next apply is not refused as "another shardshift is running": it finishes the switch.
  CliRun again = Cli({"apply", plan});
  EXPECT_EQ(again.rc, 0) << again.output;
  EXPECT_TRUE(std::filesystem::exists(plan + ".routing.toml"));
  EXPECT_NE(WriteError(source(), 6, "late").find("shardshift migration"), std::string::npos);
}

TEST_P(HandoverRegressionTest, ASignalDuringTheHookKillsItsGroupAndUndoesTheCutover) {
  const std::filesystem::path pid = dir_ / "pid";
  const std::string plan = Plan(
      "",
      fmt::format("during_cutover = \"echo $$ > {}; sleep 30\"\ntimeout_ms = 60000", pid.string()));
  bp::child apply = Background({"apply", plan});
  ASSERT_TRUE(WaitFor(pid, 30)) << ReadFile(dir_ / "bg.err");
  const pid_t hook_pid = std::stoi(ReadFile(pid));
  const auto signalled = Clock::now();
  ::kill(apply.id(), SIGTERM);
  apply.wait();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - signalled).count(), 5.0);
  EXPECT_EQ(apply.exit_code(), 130) << ReadFile(dir_ / "bg.out") << ReadFile(dir_ / "bg.err");
  EXPECT_NE(ReadFile(dir_ / "bg.out").find("stopped by a signal"), std::string::npos)
      << ReadFile(dir_ / "bg.out");
  EXPECT_FALSE(GroupAlive(hook_pid)) << "the hook's process group outlived the signal";
  ::kill(-hook_pid, SIGKILL);
  EXPECT_FALSE(std::filesystem::exists(plan + ".routing.toml"));
  EXPECT_EQ(WriteError(source(), 9, "after"), "")
      << "the sources stayed fenced after the cutover was undone";
}

TEST_P(HandoverRegressionTest,
       AKillInsideTheWindowNeverLeavesTheMapNamingTheTargetsWhileTheSourcesTakeWrites) {
  const std::string plan = Plan("", "");
  // Killed with writes blocked, before the fence: nothing published, the source writable.
  CliRun blocked = Shardshift({"--config", TestConfigPath(), "--log-level", "warn", "apply", plan},
                              {{"SHARDSHIFT_KILL_AT", "cutover.blocked"}});
  EXPECT_TRUE(blocked.killed) << blocked.output;
  EXPECT_FALSE(std::filesystem::exists(plan + ".routing.toml"));
  EXPECT_EQ(WriteError(source(), 11, "a"), "");
  // Killed just after the fence went up: still nothing published, and the source refuses.
  CliRun fenced = Shardshift({"--config", TestConfigPath(), "--log-level", "warn", "apply", plan},
                             {{"SHARDSHIFT_KILL_AT", "cutover.fenced"}});
  EXPECT_TRUE(fenced.killed) << fenced.output;
  EXPECT_FALSE(std::filesystem::exists(plan + ".routing.toml"));
  EXPECT_NE(WriteError(source(), 11, "b").find("shardshift migration"), std::string::npos);
  // The next apply finishes the decided switch: the map is published and the target takes writes.
  CliRun finished = Cli({"apply", plan});
  EXPECT_EQ(finished.rc, 0) << finished.output;
  EXPECT_TRUE(std::filesystem::exists(plan + ".routing.toml"));
  EXPECT_EQ(WriteError(target(ShardOf(11)), 11, "c"), "");
  EXPECT_EQ(ValueAt(target(ShardOf(11)), 11), "c");
}

TEST_P(HandoverRegressionTest, ARevertKilledAfterItFencedTheTargetsIsFinishedByTheNextRevert) {
  const std::string plan = Plan("", "");
  ASSERT_EQ(Cli({"apply", plan}).rc, 0);
  const int64_t k = 21;
  EXPECT_EQ(WriteError(target(ShardOf(k)), k, "on-target"), "");
  CliRun killed =
      Shardshift({"--config", TestConfigPath(), "--log-level", "warn", "apply", "--revert", plan},
                 {{"SHARDSHIFT_KILL_AT", "revert.fenced"}});
  EXPECT_TRUE(killed.killed) << killed.output;
  // Both sides refuse for now: errors, not lost writes.
  EXPECT_NE(WriteError(target(ShardOf(k)), k, "x").find("takes writes only after"),
            std::string::npos);
  EXPECT_NE(WriteError(source(), k, "y").find("shardshift migration"), std::string::npos);
  CliRun plain = Cli({"apply", plan});
  EXPECT_EQ(plain.rc, 2) << plain.output;
  EXPECT_NE(plain.output.find("run `shardshift apply --revert` to finish it"), std::string::npos)
      << plain.output;
  CliRun finished = Cli({"apply", "--revert", plan});
  EXPECT_EQ(finished.rc, 0) << finished.output;
  EXPECT_FALSE(std::filesystem::exists(plan + ".routing.toml"));
  EXPECT_EQ(ValueAt(source(), k), "on-target")
      << "the target's write did not come back before the fence";
  EXPECT_EQ(WriteError(source(), k, "back"), "");
  CliRun status = Cli({"status", "--json", plan});
  EXPECT_EQ(nlohmann::json::parse(status.output)["direction"], "forward") << status.output;
}

TEST_P(HandoverRegressionTest, CleanupBeforeTheCutoverIsRefusedAndChangesNothing) {
  const std::string plan = Plan("", "");
  ASSERT_EQ(Cli({"apply", "--until", "cutover", plan}).rc, 0);
  CliRun cleanup = Cli({"apply", "--cleanup", plan});
  EXPECT_EQ(cleanup.rc, 2) << cleanup.output;
  EXPECT_NE(cleanup.output.find("the cutover of plan '" + migration_ + "' has not run"),
            std::string::npos)
      << cleanup.output;
  EXPECT_FALSE(std::filesystem::exists(plan + ".routing.toml"));
  // Capture still records: a write on the source is queued for the targets.
  EXPECT_EQ(WriteError(source(), 13, "queued"), "");
  CliRun status = Cli({"status", "--json", plan});
  const nlohmann::json s = nlohmann::json::parse(status.output);
  // Captured from the log: the write waits in the server's log (the slot, the binary log) until the
  // next apply streams it.
  EXPECT_GT(s["capture_streams"][0]["lag_bytes"].get<int64_t>(), 0) << status.output;
  EXPECT_EQ(s["direction"], "forward");
}

TEST_P(HandoverRegressionTest, ASecondPlanMovingTheSameTableIsRefusedWithTheFirstPlansName) {
  const std::string first = Plan("", "");
  ASSERT_EQ(Cli({"apply", "--until", "cutover", first}).rc, 0);
  const std::string second = Plan("", "", migration_ + "-other", {"hash_2"});
  CliRun refused = Cli({"apply", second});
  EXPECT_EQ(refused.rc, 2) << refused.output;
  EXPECT_NE(refused.output.find("is being moved by plan '" + migration_ + "'"), std::string::npos)
      << refused.output;
  EXPECT_TRUE(target(2).Introspect({pg() ? "public" : "", "sst_hr", false}).tables.empty())
      << "the refused plan changed its target";
  // Once the first plan has finished, the table is free again.
  ASSERT_EQ(Cli({"apply", first}).rc, 0);
  ASSERT_EQ(Cli({"apply", "--cleanup", first}).rc, 0);
  CliRun now = Cli({"apply", "--until", "cutover", second});
  EXPECT_EQ(now.rc, 0) << now.output;
}

// Issue 15: a cutover deferred with `--until cutover` while the application keeps writing finds a
// backlog. It catches up with the sources writable and blocks writes only for the last few hundred
// changes, never for the backlog; the writer runs through it and nothing is lost.
TEST_P(HandoverRegressionTest, ADeferredCutoverCatchesUpBeforeItBlocksWrites) {
  const std::string plan = Plan("", "");
  ASSERT_EQ(Cli({"apply", "--until", "cutover", plan}).rc, 0);
  {  // status shows the changelog's backlog beside the copy's progress
    const nlohmann::json st = nlohmann::json::parse(Cli({"status", "--json", plan}).output);
    const std::string detail = st["steps"][3]["detail"].get<std::string>();
    EXPECT_EQ(st["steps"][3]["kind"], "backfill");
    EXPECT_NE(detail.find("change(s) queued"), std::string::npos) << detail;
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> committed{0};
  std::thread writer([&] {
    auto c = Connect("range_0");
    int64_t i = 0;
    while (!stop) {
      try {
        c->Execute("UPDATE sst_hr SET v = " + P(1) + " WHERE id = " + P(2),
                   {fmt::format("w{}", i), 1 + (i * 7919) % 1000});
        ++committed;
      } catch (const db::Error& e) {
        if (std::string(e.what()).find("shardshift migration") == std::string::npos) throw;
        break;  // fenced: the cutover happened
      }
      ++i;
    }
  });
  struct Stop {
    std::atomic<bool>& s;
    std::thread& t;
    ~Stop() {
      s = true;
      if (t.joinable()) t.join();
    }
  } stopper{stop, writer};
  std::this_thread::sleep_for(std::chrono::seconds(3));
  // Nothing replays meanwhile: every write since is pending in the server's log (the slot, the
  // binary log), which the next apply streams.
  const nlohmann::json waiting = nlohmann::json::parse(Cli({"status", "--json", plan}).output);
  const int64_t backlog = committed.load();
  EXPECT_GT(waiting["capture_streams"][0]["lag_bytes"].get<int64_t>(), 100'000) << waiting.dump();
  ASSERT_GT(backlog, 2000) << "the writer made too small a backlog to tell";
  CliRun cut = Cli({"apply", "--json", plan});
  ASSERT_EQ(cut.rc, 0) << cut.output;
  const nlohmann::json r = nlohmann::json::parse(cut.output);
  EXPECT_LT(r["drained_blocked"].get<int64_t>() * 2, backlog)
      << "the backlog was drained behind the write block: " << cut.output;
  EXPECT_GE(r["cutover_backlog"].get<int64_t>(), 0) << cut.output;
  stop = true;
  writer.join();
  EXPECT_GT(committed.load(), 2000);
  CliRun verified = Cli({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
}

// The documented flow compares once: `verify` after the verify step reuses that comparison and
// compares only the keys changed since, row by row. A run that replays in between (here a cutover
// undone by its hook) makes it compare everything again, as --full does; --full also finds a row
// written around capture, which no comparison of changed keys can.
TEST_P(HandoverRegressionTest, VerifyAfterTheVerifyStepComparesOnlyTheKeysChangedSince) {
  const std::string plan = Plan("", "during_cutover = \"exit 3\"");
  ASSERT_EQ(Cli({"apply", "--until", "cutover", plan}).rc, 0);
  for (int id = 1; id <= 40; ++id) {
    source().Execute("UPDATE sst_hr SET v = " + P(1) + " WHERE id = " + P(2), {"changed", id});
  }
  source().Execute("DELETE FROM sst_hr WHERE id = 41");
  auto verify = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"verify", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(plan);
    CliRun run = Cli(args);
    nlohmann::json j = nlohmann::json::parse(run.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << run.output;
    return std::make_pair(run.rc, j);
  };
  {
    auto [rc, j] = verify({});
    EXPECT_EQ(rc, 0) << j.dump();
    EXPECT_FALSE(j["reused_from"].is_null()) << "the verify step's comparison was not reused: " << j.dump();
    EXPECT_EQ(j["keys_rechecked"].get<int64_t>(), 41) << j.dump();
    EXPECT_EQ(j["source_rows"].get<int64_t>(), 1000) << "the counts are the verify step's";
  }
  EXPECT_EQ(ValueAt(target(ShardOf(1)), 1), "changed");  // drained by the verify, which holds the lock
  // A target row changed around capture: shardshift's own session passes the fence and is not
  // recorded.
  db::Connection& t = target(ShardOf(500));
  t.Execute(pg() ? "SET shardshift.session = 'on'" : "SET @shardshift_session = 1");
  t.Execute("UPDATE sst_hr SET v = 'tampered' WHERE id = 500");
  {
    auto [rc, j] = verify({});
    EXPECT_EQ(rc, 0) << j.dump();
    EXPECT_EQ(j["keys_rechecked"].get<int64_t>(), 0) << j.dump();
  }
  {
    auto [rc, j] = verify({"--full"});
    EXPECT_EQ(rc, 1) << j.dump();
    EXPECT_TRUE(j["reused_from"].is_null()) << j.dump();
    ASSERT_EQ(j["differences_total"].get<int64_t>(), 1) << j.dump();
    EXPECT_EQ(j["differences"][0]["key"], nlohmann::json::array({"500"})) << j.dump();
  }
  t.Execute("UPDATE sst_hr SET v = 'v500' WHERE id = 500");
  {  // the failed comparison left nothing to reuse
    auto [rc, j] = verify({});
    EXPECT_EQ(rc, 0) << j.dump();
    EXPECT_TRUE(j["reused_from"].is_null()) << j.dump();
  }
  source().Execute("UPDATE sst_hr SET v = 'again' WHERE id = 2");
  CliRun cut = Cli({"apply", plan});
  ASSERT_NE(cut.rc, 0) << cut.output;
  EXPECT_NE(cut.output.find("during_cutover hook failed"), std::string::npos) << cut.output;
  {  // the cutover's catch-up replayed: no comparison stands
    auto [rc, j] = verify({});
    EXPECT_EQ(rc, 0) << j.dump();
    EXPECT_TRUE(j["reused_from"].is_null()) << j.dump();
  }
  EXPECT_EQ(ValueAt(target(ShardOf(2)), 2), "again");
  // That verify's comparison stands; an apply killed inside the window, after its catch-up
  // replayed, leaves none.
  source().Execute("UPDATE sst_hr SET v = 'killed' WHERE id = 3");
  CliRun killed = Shardshift({"--config", TestConfigPath(), "--log-level", "warn", "apply", plan},
                             {{"SHARDSHIFT_KILL_AT", "cutover.blocked"}});
  ASSERT_TRUE(killed.killed) << killed.output;
  {
    auto [rc, j] = verify({});
    EXPECT_EQ(rc, 0) << j.dump();
    EXPECT_TRUE(j["reused_from"].is_null()) << "a comparison outlived a killed catch-up: " << j.dump();
  }
  EXPECT_EQ(ValueAt(target(ShardOf(3)), 3), "killed");
}

// After the cutover too: the cutover carries the verify step's comparison over the switch with the
// keys its catch-up and drain replayed, and `verify` compares those and the keys the way back
// brings from the targets, row by row; --full still compares every row.
TEST_P(HandoverRegressionTest, VerifyAfterTheCutoverComparesTheKeysItReplayedAndTheWayBacksOnly) {
  const std::string plan = Plan("", "");
  ASSERT_EQ(Cli({"apply", "--until", "cutover", plan}).rc, 0);
  for (int id = 1; id <= 30; ++id) {
    source().Execute("UPDATE sst_hr SET v = " + P(1) + " WHERE id = " + P(2), {"before", id});
  }
  CliRun cut = Cli({"apply", plan});
  ASSERT_EQ(cut.rc, 0) << cut.output;
  for (int id = 101; id <= 105; ++id) {  // the application, switched: writes reach the targets
    target(ShardOf(id)).Execute("UPDATE sst_hr SET v = " + P(1) + " WHERE id = " + P(2), {"after", id});
  }
  CliRun v = Cli({"verify", "--json", plan});
  ASSERT_EQ(v.rc, 0) << v.output;
  nlohmann::json j = nlohmann::json::parse(v.output);
  EXPECT_FALSE(j["reused_from"].is_null()) << v.output;
  EXPECT_EQ(j["keys_rechecked"].get<int64_t>(), 35) << v.output;
  EXPECT_EQ(ValueAt(source(), 103), "after");  // the way back ran
  // A source row changed around capture and the fence: only a full comparison can see it.
  source().Execute(pg() ? "SET shardshift.session = 'on'" : "SET @shardshift_session = 1");
  source().Execute("UPDATE sst_hr SET v = 'tampered' WHERE id = 700");
  CliRun full = Cli({"verify", "--full", "--json", plan});
  EXPECT_EQ(full.rc, 1) << full.output;
  nlohmann::json f = nlohmann::json::parse(full.output);
  EXPECT_TRUE(f["reused_from"].is_null()) << full.output;
  ASSERT_EQ(f["differences_total"].get<int64_t>(), 1) << full.output;
  EXPECT_EQ(f["differences"][0]["key"], nlohmann::json::array({"700"})) << full.output;
}

// A hand-edited split plan whose way back names a table the plan does not create, or is not the
// JSON shardshift wrote: the step's seal no longer matches, so apply refuses with exit 2, names the
// file, line and step, and changes nothing (the new table is not created). And a setting edited on
// one step of several.
TEST_P(HandoverRegressionTest, AHandEditedWayBackIsRefusedBeforeAnythingChanges) {
  auto& src = source();
  auto& dst = target(0);
  DropTable drop_src(src, "sst_hre");
  DropTable drop_dst(dst, "sst_hre_m");
  src.Execute(Sql("CREATE TABLE sst_hre (id bigint PRIMARY KEY, k text, m text)",
                  "CREATE TABLE sst_hre (id BIGINT PRIMARY KEY, k VARCHAR(64), m VARCHAR(64)) ENGINE=InnoDB"));
  const std::string plan = SplitPlan("edit", "sst_hre");
  ASSERT_FALSE(plan.empty());
  const std::string text = ReadFile(plan);
  const size_t at = text.find("\nway_back = ");
  ASSERT_NE(at, std::string::npos) << "the switch step carries no way_back";
  const size_t end = text.find('\n', at + 1);
  const std::vector<std::string> edits = {
      "way_back = \"[{\\\"database\\\":\\\"x\\\",\\\"table\\\":\\\"nope\\\",\\\"changelog\\\":\\\"x\\\"}]\"",
      "way_back = \"[{\\\"table\\\": 7}]\"",
  };
  for (const std::string& line : edits) {
    std::ofstream(plan, std::ios::trunc) << text.substr(0, at + 1) << line << text.substr(end);
    CliRun r = Cli({"apply", plan});
    EXPECT_EQ(r.rc, 2) << r.output;
    EXPECT_NE(r.output.find(plan + ":"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("step 'switch' is not the step `shardshift plan` wrote"), std::string::npos) << r.output;
    const db::ResultSet created = dst.Query(Sql("SELECT COUNT(*) AS n FROM pg_tables WHERE tablename = 'sst_hre_m'",
                                                "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE "
                                                "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'sst_hre_m'"));
    EXPECT_EQ(created.Text(0, "n"), "0") << "the new table was created by a refused apply";
  }
  // A setting a reviewer may edit (docs/plan-format.md): on one step of several it is refused with
  // the file, line and the step it disagrees with (an edit of the backfill step's alone used to be
  // ignored: the run read another step's); on every step it is taken.
  const std::regex setting("max_rows_per_second = \"[0-9]+\"");
  const size_t backfill = text.find("\nid = \"backfill.");
  ASSERT_NE(backfill, std::string::npos);
  std::smatch first;
  const std::string after = text.substr(backfill);
  ASSERT_TRUE(std::regex_search(after, first, setting)) << "the backfill step carries no max_rows_per_second";
  const size_t edit_at = backfill + static_cast<size_t>(first.position(0));
  std::ofstream(plan, std::ios::trunc) << text.substr(0, edit_at) << "max_rows_per_second = \"777\""
                                       << text.substr(edit_at + static_cast<size_t>(first.length(0)));
  CliRun one = Cli({"apply", "--dry-run", plan});
  EXPECT_EQ(one.rc, 2) << one.output;
  EXPECT_NE(one.output.find(plan + ":"), std::string::npos) << one.output;
  EXPECT_NE(one.output.find("is 777 but step"), std::string::npos) << one.output;
  std::ofstream(plan, std::ios::trunc) << std::regex_replace(text, setting, "max_rows_per_second = \"777\"");
  CliRun all = Cli({"apply", "--dry-run", plan});
  EXPECT_EQ(all.rc, 0) << all.output;
}

// A vertical split's switch and revert, each killed at the worst moment: after the moved columns
// were fenced on the table (the switch was decided) and after the new table was fenced again (the
// revert was decided). Meanwhile both sides refuse writes of the moved column (errors, not lost
// writes); the next apply or apply --revert finishes what was decided, and a value written to the
// new table in the window is back on the table. With capture from the log (the default) and by
// triggers.
void HandoverRegressionTest::SplitKilledInItsWindows(const std::string& capture) {
  auto& src = source();
  auto& dst = target(0);  // hash_0
  DropTable drop_src(src, "sst_hrs");
  DropTable drop_dst(dst, "sst_hrs_m");
  src.Execute(Sql("CREATE TABLE sst_hrs (id bigint PRIMARY KEY, k text NOT NULL, m text)",
                  "CREATE TABLE sst_hrs (id BIGINT PRIMARY KEY, k VARCHAR(64) NOT NULL, m VARCHAR(64)) "
                  "ENGINE=InnoDB"));
  src.Execute(pg() ? "INSERT INTO sst_hrs SELECT g, 'k', 'm' || g FROM generate_series(1, 500) g"
                   : "INSERT INTO sst_hrs SELECT seq, 'k', CONCAT('m', seq) FROM seq_1_to_500");
  const std::string plan = SplitPlan("split", "sst_hrs", "capture = \"" + capture + "\"");
  ASSERT_FALSE(plan.empty());
  auto moved_error = [&](db::Connection& c, const std::string& table, const std::string& v) -> std::string {
    try {
      c.Execute("UPDATE " + table + " SET m = " + P(1) + " WHERE id = 7", {v});
      return "";
    } catch (const db::Error& e) {
      return e.what();
    }
  };
  auto m_at = [&](db::Connection& c, const std::string& table) {
    db::ResultSet r = c.Query("SELECT m FROM " + table + " WHERE id = 7");
    return r.rows.empty() ? std::string("<none>") : r.At(0, "m").value_or("NULL");
  };
  // Before the switch the new table refuses the application's writes.
  ASSERT_EQ(Cli({"apply", "--until", "expand-complete", plan}).rc, 0);
  EXPECT_NE(moved_error(dst, "sst_hrs_m", "early").find("takes writes only after"), std::string::npos);

  CliRun killed = Shardshift({"--config", TestConfigPath(), "--log-level", "warn", "apply", plan},
                             {{"SHARDSHIFT_KILL_AT", "cutover.fenced"}});
  EXPECT_TRUE(killed.killed) << killed.output;
  EXPECT_NE(moved_error(src, "sst_hrs", "late").find("moved these columns"), std::string::npos);
  CliRun finished = Cli({"apply", plan});
  ASSERT_EQ(finished.rc, 0) << finished.output;
  EXPECT_NE(finished.output.find("this run finished it"), std::string::npos) << finished.output;
  EXPECT_EQ(moved_error(dst, "sst_hrs_m", "in the window"), "");
  EXPECT_NE(moved_error(src, "sst_hrs", "stale").find("moved these columns"), std::string::npos);
  // The table stays in use. Triggers still record writes of its kept column, which are no longer
  // needed, so the next apply prunes them (the window does not grow the changelog without end); the
  // log's stream ended at the switch and records nothing.
  auto backlog = [&] {
    CliRun st = Cli({"status", "--json", plan});
    return nlohmann::json::parse(st.output)["changelog_backlog"][Db("range_0")].get<int64_t>();
  };
  for (int id = 1; id <= 5; ++id) src.Execute("UPDATE sst_hrs SET k = 'kept' WHERE id = " + std::to_string(id));
  EXPECT_EQ(backlog(), capture == "trigger" ? 5 : 0);
  ASSERT_EQ(Cli({"apply", plan}).rc, 0);
  EXPECT_EQ(backlog(), 0);

  CliRun revert_killed =
      Shardshift({"--config", TestConfigPath(), "--log-level", "warn", "apply", "--revert", plan},
                 {{"SHARDSHIFT_KILL_AT", "revert.fenced"}});
  EXPECT_TRUE(revert_killed.killed) << revert_killed.output;
  EXPECT_NE(moved_error(dst, "sst_hrs_m", "x").find("takes writes only after"), std::string::npos);
  EXPECT_NE(moved_error(src, "sst_hrs", "y").find("shardshift migration"), std::string::npos);
  CliRun plain = Cli({"apply", plan});
  EXPECT_EQ(plain.rc, 2) << plain.output;
  EXPECT_NE(plain.output.find("run `shardshift apply --revert` to finish it"), std::string::npos) << plain.output;
  CliRun reverted = Cli({"apply", "--revert", plan});
  ASSERT_EQ(reverted.rc, 0) << reverted.output;
  EXPECT_EQ(m_at(src, "sst_hrs"), "in the window") << "the new table's write did not come back";
  EXPECT_EQ(moved_error(src, "sst_hrs", "back"), "");
  CliRun status = Cli({"status", "--json", plan});
  EXPECT_EQ(nlohmann::json::parse(status.output)["direction"], "forward") << status.output;

  // Forward again: the table's write made after the revert is on the new table.
  CliRun again = Cli({"apply", plan});
  ASSERT_EQ(again.rc, 0) << again.output;
  EXPECT_EQ(m_at(dst, "sst_hrs_m"), "back");
  CliRun cleaned = Cli({"apply", "--cleanup", plan});
  ASSERT_EQ(cleaned.rc, 0) << cleaned.output;
  CliRun late = Cli({"apply", "--revert", plan});
  EXPECT_EQ(late.rc, 2) << late.output;
  EXPECT_NE(late.output.find("the window for apply --revert has ended"), std::string::npos) << late.output;
}

TEST_P(HandoverRegressionTest, ASplitsSwitchAndRevertKilledAfterTheirFenceAreFinishedByTheNextRun) {
  SplitKilledInItsWindows("log");
}
TEST_P(HandoverRegressionTest, ATriggerCapturedSplitsSwitchAndRevertKilledAfterTheirFenceAreFinishedByTheNextRun) {
  SplitKilledInItsWindows("trigger");
}

INSTANTIATE_TEST_SUITE_P(Engines, HandoverRegressionTest,
                         ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
