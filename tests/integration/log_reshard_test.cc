// A reshard captured from PostgreSQL's WAL, through the shardshift executable, under an
// application that keeps writing (also in transactions that touch another table): the plan says it
// reads the log and why; no trigger and no change of shape reach the application's table before
// the cutover; apply killed while the stream is being read, and a slot left held by the killed run,
// lose nothing; the switch drops the slot (it would hold the server's WAL until cleanup), a revert
// makes it again and the writes after the revert reach the targets at the next cutover; cleanup
// leaves no slot and no publication. And the choice: a table whose replica identity lacks the key
// falls back to triggers with a warning saying why, and refuses capture = "log" (exit 2); so is a
// MariaDB key of a type the binary log reader does not decode. MariaDB reads its binary log through
// the same kills, switch, revert and cleanup. A plan given up before its switch (apply --abandon),
// on both engines, under a writer: its slot, publication or position table, changelog, target
// tables, run state and claim go, nothing of the application's changes, and the plan can start over.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "plans/routing.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class LogReshardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestConfigPath().empty()) << "SHARDSHIFT_TEST_CONFIG is not set: run through ctest";
    catalog_ = std::make_unique<db::Catalog>(TestCatalog());
    dir_ = std::filesystem::temp_directory_path() / ("sst-logreshard-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    migration_ = fmt::format("sst-logreshard-{}-{}", getpid(),
                             std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<db::Connection> App(const std::string& database) const {
    db::ConnectOptions options;
    options.application_name = "shardshift-test";
    options.executor_session = false;
    return catalog_->Connect(database, options);
  }
  std::string Spec(const std::string& table, const std::string& key, const std::vector<std::string>& sources,
                   const std::vector<std::string>& targets, const std::string& options = "") const {
    const std::string path = (dir_ / "spec.toml").string();
    std::ofstream(path) << fmt::format(R"([migration]
name = "{}"
kind = "reshard"
[options]
chunk_rows = 300
target_chunk_ms = 50
max_rows_per_second = 6000
{}
[reshard]
table = "{}"
key = ["{}"]
[reshard.source]
{}
[reshard.target]
databases = [{}]
)", migration_, options, table, key,
                                       sources.size() > 1
                                           ? "layout = \"hash\"\ndatabases = [\"" +
                                                 fmt::format("{}", fmt::join(sources, "\", \"")) + "\"]"
                                           : "layout = \"single\"\ndatabase = \"" + sources[0] + "\"",
                                       "\"" + fmt::format("{}", fmt::join(targets, "\", \"")) + "\"");
    return path;
  }
  // What holds the stream's place on the source: PostgreSQL's slots of this database, MariaDB's
  // position tables.
  // MariaDB: the position tables the plan names (other tests leave theirs in the same databases).
  std::vector<std::string> positions_;
  int64_t Slots(db::Connection& c) const {
    if (c.engine() != db::Engine::kPostgres) {
      int64_t n = 0;
      for (const std::string& p : positions_) {
        n += static_cast<int64_t>(c.Query("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
                                          "TABLE_NAME = ?",
                                          {p})
                                      .rows.size());
      }
      return n;
    }
    return std::stoll(c.Query("SELECT count(*) AS n FROM pg_replication_slots WHERE slot_name LIKE 'shardshift\\_%' "
                              "AND database = current_database()")
                          .Text(0, "n"));
  }
  int64_t Triggers(db::Connection& c, const std::string& table) const {
    if (c.engine() != db::Engine::kPostgres) {
      return std::stoll(c.Query("SELECT count(*) AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = "
                                "DATABASE() AND EVENT_OBJECT_TABLE = ?",
                                {table})
                            .Text(0, "n"));
    }
    return std::stoll(c.Query("SELECT count(*) AS n FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal",
                              {table})
                          .Text(0, "n"));
  }
  void WritesThroughKillsSwitchRevertAndCleanup(bool pg);
  void AbandonedBeforeTheSwitchLeavesNothing(bool pg);

  std::unique_ptr<db::Catalog> catalog_;
  std::filesystem::path dir_;
  std::string migration_;
};

void LogReshardTest::WritesThroughKillsSwitchRevertAndCleanup(bool pg) {
  const std::string config = TestConfigPath();
  const std::string px = pg ? "pg_" : "my_";
  auto P = [&](int n) { return pg ? "$" + std::to_string(n) : std::string("?"); };
  auto s0 = App(px + "range_0");
  auto s1 = App(px + "range_1");
  std::vector<db::Connection*> sources = {s0.get(), s1.get()};
  auto t0 = App(px + "hash_0");
  auto t1 = App(px + "hash_1");
  auto t2 = App(px + "hash_2");
  std::vector<db::Connection*> targets = {t0.get(), t1.get(), t2.get()};
  std::vector<std::unique_ptr<DropTable>> drops;
  for (db::Connection* c : sources) {
    drops.push_back(std::make_unique<DropTable>(*c, std::vector<std::string>{"sst_lr_items", "sst_lr_audit"}));
    if (pg) {
      c->Execute("CREATE TABLE sst_lr_items (id bigint PRIMARY KEY, v text NOT NULL, n int)");
      c->Execute("CREATE TABLE sst_lr_audit (id bigserial PRIMARY KEY, item bigint, at timestamptz DEFAULT now())");
    } else {
      c->Execute("CREATE TABLE sst_lr_items (id BIGINT PRIMARY KEY, v VARCHAR(64) NOT NULL, n INT) ENGINE=InnoDB");
      c->Execute("CREATE TABLE sst_lr_audit (id BIGINT AUTO_INCREMENT PRIMARY KEY, item BIGINT, at TIMESTAMP(6) "
                 "DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB");
    }
  }
  for (db::Connection* c : targets) drops.push_back(std::make_unique<DropTable>(*c, "sst_lr_items"));
  constexpr int64_t kRows = 8000;
  auto home = [](int64_t id) { return static_cast<size_t>(plans::ShardForKey({std::to_string(id)}, 2)); };
  for (int64_t id = 0; id < kRows; ++id) {
    sources[home(id)]->Execute("INSERT INTO sst_lr_items VALUES (" + P(1) + ", " + P(2) + ", 0)",
                               {std::to_string(id), "v0"});
  }
  // (capture = "auto": both engines' servers allow the log.) The check command holds the copy,
  // and replay under --follow, while the file `pause` exists.
  const std::string pause = (dir_ / "pause").string();
  const std::string spec = Spec("sst_lr_items", "id", {px + "range_0", px + "range_1"},
                                {px + "hash_0", px + "hash_1", px + "hash_2"},
                                "check_command = \"test ! -e " + pause + "\"");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  positions_ = PlanValues(plan, "position");
  CliRun shown = Shardshift({"--config", config, "show", plan});
  EXPECT_NE(shown.output.find(pg ? "from the WAL (logical slot shardshift_" : "from the binary log (as replica server id"),
            std::string::npos)
      << shown.output;
  {
    std::ifstream in(plan);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t capture = text.find("id = \"capture." + px + "range_0\"");
    ASSERT_NE(capture, std::string::npos);
    const size_t next = text.find("[[steps]]", capture);
    EXPECT_EQ(text.substr(capture, next - capture).find("TRIGGER"), std::string::npos)
        << "the log capture step creates a trigger";
  }
  CliRun dry = Shardshift({"--config", config, "apply", "--dry-run", plan});
  ASSERT_EQ(dry.rc, 0) << dry.output;
  EXPECT_NE(dry.output.find("log capture"), std::string::npos) << dry.output;

  // The application: single-row updates, inserts and deletes, and transactions that also write
  // another table; each write is on the source the key lives on.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> writes{0}, refused{0};
  auto app = [&](unsigned seed) {
    auto a0 = App(px + "range_0");
    auto a1 = App(px + "range_1");
    std::vector<db::Connection*> c = {a0.get(), a1.get()};
    std::mt19937_64 rng(seed);
    int64_t next_id = kRows + static_cast<int64_t>(seed) * 1'000'000;
    while (!stop) {
      try {
        const int op = static_cast<int>(rng() % 5);
        const int64_t id = op == 0 ? next_id++ : static_cast<int64_t>(rng() % kRows);
        db::Connection& s = *c[home(id)];
        const std::string key = std::to_string(id);
        if (op == 0) {
          s.Execute("INSERT INTO sst_lr_items VALUES (" + P(1) + ", 'new', 0)", {key});
        } else if (op == 1) {
          s.Execute("DELETE FROM sst_lr_items WHERE id = " + P(1), {key});
        } else if (op == 2) {
          db::Transaction tx(s);
          s.Execute("UPDATE sst_lr_items SET n = n + 1, v = " + P(1) + " WHERE id = " + P(2),
                    {"tx" + std::to_string(rng() % 100), key});
          s.Execute("INSERT INTO sst_lr_audit (item) VALUES (" + P(1) + ")", {key});
          tx.Commit();
        } else {
          s.Execute("UPDATE sst_lr_items SET n = n + 1 WHERE id = " + P(1), {key});
        }
        ++writes;
      } catch (const db::Error& e) {
        if (std::string(e.what()).find("shardshift migration '" + migration_ + "'") != std::string::npos) {
          ++refused;  // fenced after the switch
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        } else if (e.kind() != db::ErrorKind::kUniqueViolation && e.kind() != db::ErrorKind::kLockTimeout &&
                   e.kind() != db::ErrorKind::kDeadlock) {
          ADD_FAILURE() << "application write failed: " << e.what();
          return;
        }
      }
    }
  };
  std::thread app0(app, 1), app1(app, 2);
  auto stop_app = [&] {
    if (stop.exchange(true)) return;
    app0.join();
    app1.join();
  };
  AtScopeExit joiner{stop_app};

  const std::vector<std::string> apply = {"--config", config, "--log-level", "warn", "apply", "--json", plan};
  auto with_kill = [&](const std::string& point, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = apply;
    args.insert(args.end() - 1, extra.begin(), extra.end());
    CliRun r = Shardshift(args, {{"SHARDSHIFT_KILL_AT", point}});
    EXPECT_TRUE(r.killed) << "apply was to be killed at " << point << " but ended with " << r.rc << ":\n" << r.output;
  };
  // Killed while the stream is read (keys queued, their position not yet confirmed), twice; the
  // second kill leaves the slot held by a session the next run must end. The second run resumes a
  // copy already under way and may queue only a few times before it ends (a fresh-clone CI run saw
  // fewer than 12 on MariaDB, where each queueing gathers up to 200 ms of keys): it is killed early.
  with_kill("capture.queued:5", {"--until", "cutover"});
  EXPECT_EQ(Slots(*s0), 1);
  EXPECT_EQ(Triggers(*s0, "sst_lr_items"), 0) << "log capture put a trigger on the application's table";
  with_kill("capture.queued:3", {"--until", "cutover"});
  std::vector<std::string> until = apply;
  until.insert(until.end() - 1, {"--until", "cutover"});
  CliRun copied = Shardshift(until);
  ASSERT_EQ(copied.rc, 0) << copied.output;
  for (db::Connection* s : sources) {
    EXPECT_EQ(Triggers(*s, "sst_lr_items"), 0) << "log capture put a trigger on the application's table";
    EXPECT_EQ(Slots(*s), 1);
  }
  CliRun status = Shardshift({"--config", config, "status", "--json", plan});
  ASSERT_EQ(status.rc, 0) << status.output;
  const nlohmann::json st = nlohmann::json::parse(status.output);
  ASSERT_TRUE(st.contains("capture_streams")) << status.output;
  ASSERT_EQ(st["capture_streams"].size(), 2u) << status.output;
  for (const auto& stream : st["capture_streams"]) {
    EXPECT_TRUE(stream["exists"].get<bool>()) << status.output;
    if (pg) {
      EXPECT_GE(stream["retained_bytes"].get<int64_t>(), 0) << status.output;
    } else {
      EXPECT_FALSE(stream["gtid"].get<std::string>().empty()) << status.output;
      EXPECT_GE(stream["lag_bytes"].get<int64_t>(), 0) << status.output;
    }
  }

  // A deferred cutover kept current: `apply --until cutover --follow` reads the stream and replays
  // until interrupted, so a write made now reaches its target while it runs. While the check
  // command fails, replay holds (the target does not get the write) and the stream still queues
  // the key (the changelog has it); once it passes, the write arrives.
  {
    namespace bp = boost::process;
    std::vector<std::string> follow_args = until;
    follow_args.insert(follow_args.end() - 1, "--follow");
    std::ofstream(pause) << "held\n";
    bp::ipstream follow_out;
    bp::child follow(SHARDSHIFT_BIN, bp::args = follow_args, (bp::std_out & bp::std_err) > follow_out);
    std::string text, line;
    // Following, and held: the check command's warning is the first thing it logs.
    while (std::getline(follow_out, line)) {
      text += line + "\n";
      if (line.find("pauses until it exits 0") != std::string::npos) break;
    }
    ASSERT_TRUE(follow_out) << "apply --follow ended without saying replay is held:\n" << text;
    const std::string marked = "900000";  // a key the application never writes
    db::Connection& home_source = *sources[home(900000)];
    home_source.Execute("INSERT INTO sst_lr_items VALUES (" + P(1) + ", 'followed', 0)", {marked});
    db::Connection& target = *targets[static_cast<size_t>(plans::ShardForKey({marked}, 3))];
    auto on_target = [&] {
      return !target.Query("SELECT 1 FROM sst_lr_items WHERE id = " + P(1) + " AND v = 'followed'", {marked})
                  .rows.empty();
    };
    const std::string changelog = PlanValues(plan, "changelog").at(0);
    bool queued = false;
    for (int i = 0; i < 50 && !queued; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      queued = !home_source
                    .Query("SELECT 1 FROM " + db::QuoteTable(home_source.engine(), db::TableName::Parse(changelog)) +
                               " WHERE id = " + P(1),
                           {marked})
                    .rows.empty();
    }
    EXPECT_TRUE(queued) << "while replay was held, the stream did not queue the key in 5 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a replay would have taken it by now
    EXPECT_FALSE(on_target()) << "replay wrote to the target while the check command failed";
    std::filesystem::remove(pause);
    bool arrived = false;
    for (int i = 0; i < 100 && !arrived; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      arrived = on_target();
    }
    ::kill(follow.id(), SIGTERM);
    while (std::getline(follow_out, line)) text += line + "\n";
    follow.wait();
    EXPECT_EQ(follow.exit_code(), 0) << text;
    EXPECT_TRUE(arrived) << "a write made while apply --follow ran did not reach its target in 10 s after the check "
                            "command passed again:\n" << text;
  }

  // The cutover, killed with writes blocked, then run to the end with the writers going.
  with_kill("cutover.blocked");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CliRun switched = Shardshift(apply);
  ASSERT_EQ(switched.rc, 0) << switched.output;
  // PostgreSQL: the slot goes (it would hold the server's WAL until cleanup); MariaDB's position
  // holds nothing on the server and stays until cleanup.
  for (db::Connection* s : sources) {
    EXPECT_EQ(Slots(*s), pg ? 0 : 1) << "the switch left a slot holding the server's WAL";
  }
  const int64_t refused_then = refused;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(refused, refused_then) << "the sources took writes after the switch";

  // Every row of the sources, as of the switch, on the shard its key routes to.
  auto compare = [&](const std::string& when) {
    std::map<std::string, db::Row> expected;
    for (db::Connection* s : sources) {
      for (const db::Row& r : s->Query("SELECT id, v, n FROM sst_lr_items").rows) expected.emplace(*r[0], r);
    }
    size_t found = 0;
    for (size_t t = 0; t < targets.size(); ++t) {
      for (const db::Row& r : targets[t]->Query("SELECT id, v, n FROM sst_lr_items").rows) {
        ++found;
        EXPECT_EQ(plans::ShardForKey({*r[0]}, 3), static_cast<int>(t)) << when << ": key " << *r[0];
        auto it = expected.find(*r[0]);
        if (it == expected.end()) {
          ADD_FAILURE() << when << ": key " << *r[0] << " is on a target but not on the sources";
        } else if (it->second != r) {
          ADD_FAILURE() << when << ": key " << *r[0] << " differs";
        }
      }
    }
    EXPECT_EQ(found, expected.size()) << when;
  };
  compare("after the switch");

  // Revert: the slots come back before the sources take writes; the writes made after it reach the
  // targets at the next cutover.
  CliRun reverted = Shardshift({"--config", config, "apply", "--revert", plan});
  ASSERT_EQ(reverted.rc, 0) << reverted.output;
  for (db::Connection* s : sources) EXPECT_EQ(Slots(*s), 1);
  const int64_t writes_then = writes;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_GT(writes, writes_then + 50) << "the application did not write after the revert";
  CliRun again = Shardshift(apply);
  ASSERT_EQ(again.rc, 0) << again.output;
  stop_app();
  compare("after the second switch");
  EXPECT_GT(writes, 500);

  CliRun cleanup = Shardshift({"--config", config, "apply", "--cleanup", plan});
  ASSERT_EQ(cleanup.rc, 0) << cleanup.output;
  for (db::Connection* s : sources) {
    EXPECT_EQ(Slots(*s), 0);
    if (pg) {
      EXPECT_EQ(s->Query("SELECT 1 FROM pg_publication_tables WHERE tablename = 'sst_lr_items'").rows.size(), 0u);
    }
  }
}

TEST_F(LogReshardTest, WritesThroughKillsSwitchRevertAndCleanupLoseNothing) { WritesThroughKillsSwitchRevertAndCleanup(true); }

TEST_F(LogReshardTest, MariadbWritesThroughKillsSwitchRevertAndCleanupLoseNothing) {
  WritesThroughKillsSwitchRevertAndCleanup(false);
}

TEST_F(LogReshardTest, AReplicaIdentityWithoutTheKeyFallsBackToTriggersOrIsRefused) {
  const std::string config = TestConfigPath();
  auto s0 = App("pg_range_0");
  auto t0 = App("pg_hash_0");
  DropTable drop_source(*s0, "sst_lr_nopk");
  DropTable drop_target(*t0, "sst_lr_nopk");
  // A unique key but no primary key: published as it is, its UPDATEs and DELETEs would fail.
  s0->Execute("CREATE TABLE sst_lr_nopk (code text NOT NULL, v int)");
  s0->Execute("CREATE UNIQUE INDEX sst_lr_nopk_code ON sst_lr_nopk (code)");
  s0->Execute("INSERT INTO sst_lr_nopk SELECT 'c' || g, g FROM generate_series(1, 100) g");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Shardshift(
      {"--config", config, "plan", Spec("sst_lr_nopk", "code", {"pg_range_0"}, {"pg_hash_0"}), "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  CliRun shown = Shardshift({"--config", config, "show", plan});
  EXPECT_NE(shown.output.find("capture by triggers"), std::string::npos) << shown.output;
  EXPECT_NE(shown.output.find("REPLICA IDENTITY USING INDEX sst_lr_nopk_code"), std::string::npos) << shown.output;
  EXPECT_EQ(s0->Query("SELECT 1 FROM pg_publication_tables WHERE tablename = 'sst_lr_nopk'").rows.size(), 0u);

  const std::string log_spec =
      Spec("sst_lr_nopk", "code", {"pg_range_0"}, {"pg_hash_0"}, "capture = \"log\"");
  CliRun refused = Shardshift({"--config", config, "plan", log_spec, "-o", plan + ".log"});
  EXPECT_EQ(refused.rc, 2) << refused.output;
  EXPECT_NE(refused.output.find("options.capture"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("spec.toml:"), std::string::npos) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(plan + ".log"));
  // Nothing was made on the server, and the application's updates still work.
  EXPECT_EQ(s0->Query("SELECT 1 FROM pg_publication_tables WHERE tablename = 'sst_lr_nopk'").rows.size(), 0u);
  s0->Execute("UPDATE sst_lr_nopk SET v = v + 1");
}

TEST_F(LogReshardTest, MariadbKeyTheBinlogReaderCannotDecodeIsRefused) {
  const std::string config = TestConfigPath();
  auto s0 = App("my_range_0");
  auto t0 = App("my_hash_0");
  DropTable drop_source(*s0, "sst_lr_my");
  DropTable drop_target(*t0, "sst_lr_my");
  s0->Execute("CREATE TABLE sst_lr_my (id DECIMAL(12, 2) PRIMARY KEY, v INT) ENGINE=InnoDB");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun refused = Shardshift({"--config", config, "plan",
                               Spec("sst_lr_my", "id", {"my_range_0"}, {"my_hash_0"}, "capture = \"log\""), "-o", plan});
  EXPECT_EQ(refused.rc, 2) << refused.output;
  EXPECT_NE(refused.output.find("options.capture"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("key column id is decimal"), std::string::npos) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(plan));
  CliRun planned = Shardshift({"--config", config, "plan", Spec("sst_lr_my", "id", {"my_range_0"}, {"my_hash_0"}),
                               "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  CliRun shown = Shardshift({"--config", config, "show", plan});
  EXPECT_NE(shown.output.find("record the key of every write"), std::string::npos) << shown.output;
}

void LogReshardTest::AbandonedBeforeTheSwitchLeavesNothing(bool pg) {
  const std::string config = TestConfigPath();
  const std::string px = pg ? "pg_" : "my_";
  auto P = [&](int n) { return pg ? "$" + std::to_string(n) : std::string("?"); };
  auto src = App(px + "range_0");
  auto t0 = App(px + "hash_0");
  auto t1 = App(px + "hash_1");
  DropTable drop_src(*src, "sst_ab_items");
  DropTable drop_t0(*t0, "sst_ab_items");
  DropTable drop_t1(*t1, "sst_ab_items");
  src->Execute(pg ? "CREATE TABLE sst_ab_items (id bigint PRIMARY KEY, v text NOT NULL, n int)"
                  : "CREATE TABLE sst_ab_items (id BIGINT PRIMARY KEY, v VARCHAR(64) NOT NULL, n INT) ENGINE=InnoDB");
  constexpr int64_t kRows = 3000;
  src->Execute(pg ? "INSERT INTO sst_ab_items SELECT g, 'v', 0 FROM generate_series(0, 2999) g"
                  : "INSERT INTO sst_ab_items SELECT seq, 'v', 0 FROM seq_0_to_2999");
  const std::string spec = Spec("sst_ab_items", "id", {px + "range_0"}, {px + "hash_0", px + "hash_1"});
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  positions_ = PlanValues(plan, "position");
  const std::vector<std::string> changelogs = PlanValues(plan, "changelog");  // on every step
  ASSERT_FALSE(changelogs.empty());
  const std::string changelog = db::TableName::Parse(changelogs[0]).name;

  // The application updates its rows throughout, at a steady pace; none of its writes may fail.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> writes{0};
  std::thread app([&] {
    auto a = App(px + "range_0");
    std::mt19937_64 rng(7);
    while (!stop) {
      try {
        a->Execute("UPDATE sst_ab_items SET n = n + 1 WHERE id = " + P(1), {std::to_string(rng() % kRows)});
        ++writes;
      } catch (const db::Error& e) {
        ADD_FAILURE() << "application write failed: " << e.what();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  AtScopeExit joiner{[&] {
    if (stop.exchange(true)) return;
    app.join();
  }};

  auto count = [](db::Connection& c, const std::string& sql, const db::Params& params = {}) {
    return std::stoll(c.Query(sql, params).Text(0, "n"));
  };
  auto exists = [&](db::Connection& c, const std::string& table) {
    return pg ? count(c, "SELECT count(*) AS n FROM pg_class WHERE relname = $1 AND relkind = 'r'", {table}) > 0
              : count(c, "SELECT count(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
                         "TABLE_NAME = ?", {table}) > 0;
  };
  auto publications = [&] {
    return pg ? count(*src, "SELECT count(*) AS n FROM pg_publication WHERE pubname LIKE 'shardshift\\_%'") : 0;
  };
  auto state_rows = [&] {
    return count(*src, "SELECT count(*) AS n FROM _shardshift_state WHERE migration = " + P(1), {migration_});
  };
  auto claims = [&] {
    return count(*src, "SELECT count(*) AS n FROM _shardshift_claims WHERE plan = " + P(1), {migration_});
  };
  const int64_t publications_before = publications();

  // Killed in the middle of the copy, with the stream's place held on the source.
  std::vector<std::string> apply = {"--config", config, "--log-level", "error", "apply", "--json", plan};
  CliRun killed = Shardshift({"--config", config, "--log-level", "error", "apply", "--until", "cutover",
                              "--max-rows-per-second", "2000", plan},
                             {{"SHARDSHIFT_KILL_AT", "backfill.chunk:3"}});
  ASSERT_TRUE(killed.killed) << killed.output;
  EXPECT_EQ(Slots(*src), 1);
  EXPECT_TRUE(exists(*src, changelog));
  EXPECT_TRUE(exists(*t0, "sst_ab_items") && exists(*t1, "sst_ab_items"));
  EXPECT_GT(state_rows(), 0);
  EXPECT_EQ(claims(), 1);

  // The dry run lists what it would run and changes nothing.
  std::vector<std::string> abandon = apply;
  abandon.insert(abandon.end() - 1, "--abandon");
  std::vector<std::string> dry = abandon;
  dry.insert(dry.end() - 1, "--dry-run");
  CliRun listed = Shardshift(dry);
  ASSERT_EQ(listed.rc, 0) << listed.output;
  const nlohmann::json l = nlohmann::json::parse(listed.output);
  EXPECT_FALSE(l["abandoned"].get<bool>());
  const std::string statements = l["undone"].dump();
  EXPECT_NE(statements.find("DROP TABLE IF EXISTS"), std::string::npos) << statements;
  EXPECT_NE(statements.find(pg ? "pg_drop_replication_slot" : "_shardshift_pos_"), std::string::npos) << statements;
  EXPECT_EQ(Slots(*src), 1) << "the dry run dropped the slot";
  EXPECT_TRUE(exists(*t0, "sst_ab_items")) << "the dry run dropped a target table";
  EXPECT_GT(state_rows(), 0);

  CliRun abandoned = Shardshift(abandon);
  ASSERT_EQ(abandoned.rc, 0) << abandoned.output;
  EXPECT_TRUE(nlohmann::json::parse(abandoned.output)["abandoned"].get<bool>()) << abandoned.output;
  EXPECT_EQ(Slots(*src), 0) << "abandon left the stream's place (slot or position table) on the source";
  EXPECT_EQ(publications(), publications_before) << "abandon left the publication";
  EXPECT_FALSE(exists(*src, changelog)) << "abandon left the changelog";
  EXPECT_EQ(Triggers(*src, "sst_ab_items"), 0);
  EXPECT_FALSE(exists(*t0, "sst_ab_items") || exists(*t1, "sst_ab_items")) << "abandon left a target table";
  EXPECT_EQ(state_rows(), 0) << "abandon left the plan's run state";
  EXPECT_EQ(claims(), 0) << "abandon left the plan's claim on the table";
  EXPECT_EQ(count(*src, "SELECT count(*) AS n FROM sst_ab_items"), kRows) << "abandon touched the application's rows";
  // Again: nothing left to undo, and it says so.
  CliRun again = Shardshift(abandon);
  ASSERT_EQ(again.rc, 0) << again.output;
  EXPECT_EQ(nlohmann::json::parse(again.output)["undone"].size(), 0u) << again.output;

  // The plan starts over from nothing and switches (the writer stops first: the switch fences the
  // source); a switched plan is not abandoned.
  joiner.f();
  EXPECT_GT(writes.load(), 0);
  CliRun rerun = Shardshift(apply);
  ASSERT_EQ(rerun.rc, 0) << rerun.output;
  CliRun refused = Shardshift(abandon);
  EXPECT_EQ(refused.rc, 2) << refused.output;
  EXPECT_NE(refused.output.find("apply --revert"), std::string::npos) << refused.output;
  EXPECT_TRUE(exists(*t0, "sst_ab_items")) << "a refused abandon dropped a target table";
  CliRun cleaned = Shardshift({"--config", config, "--log-level", "error", "apply", "--cleanup", plan});
  EXPECT_EQ(cleaned.rc, 0) << cleaned.output;
}

TEST_F(LogReshardTest, AbandonedBeforeTheSwitchLeavesNothing) { AbandonedBeforeTheSwitchLeavesNothing(true); }

TEST_F(LogReshardTest, MariadbAbandonedBeforeTheSwitchLeavesNothing) { AbandonedBeforeTheSwitchLeavesNothing(false); }

}  // namespace
}  // namespace shardshift::testing
