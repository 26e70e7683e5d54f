// Replica setup through the shardshift executable against the fixture's extra servers (`sandbox up
// --replicas`): a PostgreSQL logical replica (synchronous) and a physical standby, and a MariaDB
// GTID replica (semi-synchronous), each set up while an application writes to the primary; each
// becomes ready, verifies equal by checksums once the writer stops, and appears in the router file
// with its role; `replicas status` reports a stopped replica as broken (exit 1). A commit on the
// primary waits while its synchronous replica is stopped; status exits 1 when the promised mode is
// not in force (synchronous_commit turned off, semi-sync forgotten by a replica restart). A primary
// whose wal_level is too low, or whose application role does not wait, gets a plan that says so,
// and apply refuses it without changing anything.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "db/error.h"
#include "sandbox/sandbox.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class ReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestConfigPath().empty()) << "SHARDSHIFT_TEST_CONFIG is not set: run through ctest";
    catalog_ = std::make_unique<db::Catalog>(TestCatalog());
    ASSERT_TRUE(catalog_->Has("pg2_app")) << "the fixture's sandbox has no replica servers (sandbox up --replicas)";
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sst-replica-{}", getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    sandbox_ = *sandbox::Sandbox(std::filesystem::path(TestConfigPath()).parent_path().string()).Status();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

 public:
  std::unique_ptr<db::Connection> Connect(const std::string& name) { return catalog_->Connect(name); }
  // Undoes a MariaDB replica plan (best effort): replication, the replica's tables, semi-sync,
  // the replication user, the primary's table and the run state.
  void UndoMariadbReplica(const std::string& table) {
    try {
      auto r = Connect("my2_app");
      r->Execute("STOP SLAVE");
      r->Execute("RESET SLAVE ALL");
      r->Execute("SET GLOBAL replicate_do_db = ''");
      r->Execute("SET GLOBAL rpl_semi_sync_slave_enabled = OFF");
      for (const db::Row& row : r->Query("SHOW TABLES").rows) r->Execute("DROP TABLE IF EXISTS `" + *row.at(0) + "`");
    } catch (...) {  // NOLINT: best effort
    }
    try {
      auto p = Connect("my_app");
      p->Execute("SET GLOBAL rpl_semi_sync_master_enabled = OFF");
      p->Execute("SET GLOBAL rpl_semi_sync_master_timeout = DEFAULT");
      p->Execute("DROP USER IF EXISTS 'shardshift_sst_replicas_my2_app'@'%'");
      p->Execute("DROP TABLE IF EXISTS " + table);
      p->Execute("DELETE FROM _shardshift_state WHERE migration = 'sst-replicas'");
    } catch (...) {  // NOLINT: best effort
    }
  }

 protected:
  CliRun Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", TestConfigPath(), "--log-level", "warn"});
    return Shardshift(args);
  }
  std::string Spec(const std::string& body) {
    const std::string path = (dir_ / "spec.toml").string();
    std::ofstream(path) << "[migration]\nname = \"sst-replicas\"\nkind = \"replica\"\n\n" << body;
    return path;
  }
  // Starts a writer on the primary: updates and inserts until stopped; counts its errors.
  void StartWriter(const std::string& database, const std::string& table) {
    writer_ = std::thread([this, database, table] {
      auto c = Connect(database);
      std::mt19937 rng(3);
      while (!stop_) {
        try {
          c->Execute(fmt::format("UPDATE {} SET v = v + 1 WHERE id = {}", table, 1 + rng() % 20000));
          c->Execute(fmt::format("INSERT INTO {} (id, v) VALUES ({}, 1)", table, 1'000'000 + writes_.load()));
          ++writes_;
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        } catch (const db::Error& e) {
          ++errors_;
        }
      }
    });
  }
  void StopWriter() {
    stop_ = true;
    if (writer_.joinable()) writer_.join();
  }
  nlohmann::json Status(const std::string& plan, int expected_rc) {
    CliRun r = Run({"replicas", "status", plan, "--json"});
    EXPECT_EQ(r.rc, expected_rc) << r.output;
    return nlohmann::json::parse(r.output.substr(r.output.find('{')));
  }
  int64_t Count(const std::string& database, const std::string& sql) {
    return std::stoll(Connect(database)->Query(sql).rows.at(0).at(0).value_or("-1"));
  }

  std::unique_ptr<db::Catalog> catalog_;
  std::filesystem::path dir_;
  sandbox::SandboxState sandbox_;
  std::thread writer_;
  std::atomic<bool> stop_{false};
  std::atomic<int> writes_{0};
  std::atomic<int> errors_{0};
};

TEST_F(ReplicaTest, PostgresLogicalAndPhysicalReplicasUnderWrites) {
  const std::string object_logical = "shardshift_sst_replicas_pg2_app";
  const std::string object_physical = "shardshift_sst_replicas_pgstandby_app";
  auto p = Connect("pg_app");
  auto r = Connect("pg2_app");
  struct Cleanup {
    ReplicaTest* t;
    std::string standby;
    ~Cleanup() {
      try {
        auto r = t->Connect("pg2_app");
        r->Execute("DROP SUBSCRIPTION IF EXISTS shardshift_sst_replicas_pg2_app");
        r->Execute("DROP TABLE IF EXISTS sst_rep_orders");
      } catch (...) {  // NOLINT: best effort
      }
      if (std::filesystem::exists(std::filesystem::path(standby) / "postmaster.pid")) {
        std::system(fmt::format("su postgres -c '/usr/lib/postgresql/15/bin/pg_ctl -D {} -m fast -w stop' >/dev/null 2>&1"
                                " || /usr/lib/postgresql/15/bin/pg_ctl -D {} -m fast -w stop >/dev/null 2>&1",
                                standby, standby).c_str());
      }
      std::error_code ec;
      std::filesystem::remove_all(standby, ec);
      try {
        auto p = t->Connect("pg_app");
        p->Execute("ALTER SYSTEM RESET synchronous_standby_names");
        p->Execute("ALTER SYSTEM RESET synchronous_commit");
        p->Execute("DROP ROLE IF EXISTS sst_rep_app");
        p->Query("SELECT pg_reload_conf()");
        p->Execute("DROP PUBLICATION IF EXISTS shardshift_sst_replicas_pg2_app");
        p->Query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE "
                 "'shardshift_sst_replicas%' AND NOT active");
        p->Execute("DROP TABLE IF EXISTS sst_rep_orders");
        p->Execute("DELETE FROM _shardshift_state WHERE migration = 'sst-replicas'");
      } catch (...) {  // NOLINT: best effort
      }
    }
  } cleanup{this, sandbox_.standby.data_dir};
  p->Execute("DROP TABLE IF EXISTS sst_rep_orders");
  r->Execute("DROP TABLE IF EXISTS sst_rep_orders");
  p->Execute("CREATE TABLE sst_rep_orders (id bigint PRIMARY KEY, v int NOT NULL, note text DEFAULT 'n')");
  p->Execute("INSERT INTO sst_rep_orders (id, v) SELECT g, 0 FROM generate_series(1, 20000) g");
  const std::string spec = Spec(fmt::format(R"([replica]
primary = "pg_app"

[[replica.replicas]]
database = "pg2_app"
method = "logical"
mode = "sync"
tables = ["sst_rep_orders"]

[[replica.replicas]]
database = "pgstandby_app"
method = "physical"
data_dir = "{}"
max_lag_seconds = 10
)", sandbox_.standby.data_dir));
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Run({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;

  StartWriter("pg_app", "sst_rep_orders");
  // Killed after the base backup, before it was recorded: the next apply finds the copy complete.
  CliRun killed = Shardshift({"--config", TestConfigPath(), "apply", plan}, {{"SHARDSHIFT_KILL_AT", "step.ran:8"}});
  EXPECT_TRUE(killed.killed) << killed.output;
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(sandbox_.standby.data_dir) / "backup_manifest"));
  CliRun applied = Run({"apply", plan});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  StopWriter();
  ASSERT_EQ(applied.rc, 0) << applied.output;
  EXPECT_EQ(errors_, 0);
  EXPECT_GT(writes_, 20) << "the writer hardly ran while the replicas were set up";
  EXPECT_NE(applied.output.find("router file"), std::string::npos) << applied.output;

  // Ready and caught up; the synchronous one is the primary's synchronous standby.
  nlohmann::json status;
  for (int i = 0; i < 50; ++i) {
    status = Status(plan, 0);
    bool zero = true;
    // Caught up: no WAL left to replay (the standby), or no delay left (the subscriber, whose slot
    // hears of the WAL other databases write only now and then).
    for (const auto& rep : status["replicas"]) {
      zero = zero && (rep["lag_bytes"].get<int64_t>() == 0 || (rep["method"] == "logical" && rep["lag_seconds"] == 0));
    }
    if (zero) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(status["replicas"].size(), 2u);
  EXPECT_EQ(status["replicas"][1]["lag_bytes"], 0) << status.dump();
  for (const auto& rep : status["replicas"]) {
    EXPECT_TRUE(rep["ready"].get<bool>()) << rep.dump();
    EXPECT_EQ(rep["state"], "streaming") << rep.dump();
    EXPECT_FALSE(rep["broken"].get<bool>()) << rep.dump();
  }
  EXPECT_EQ(p->Query("SELECT sync_state FROM pg_stat_replication WHERE application_name = $1", {object_logical})
                .Text(0, "sync_state"),
            "quorum");
  CliRun verified = Run({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
  const int64_t rows = Count("pg_app", "SELECT count(*) FROM sst_rep_orders");
  const int64_t sum = Count("pg_app", "SELECT sum(v) FROM sst_rep_orders");
  EXPECT_EQ(Count("pg2_app", "SELECT count(*) FROM sst_rep_orders"), rows);
  EXPECT_EQ(Count("pg2_app", "SELECT sum(v) FROM sst_rep_orders"), sum);
  EXPECT_EQ(Count("pgstandby_app", "SELECT count(*) FROM sst_rep_orders"), rows);
  EXPECT_EQ(Count("pgstandby_app", "SELECT sum(v) FROM sst_rep_orders"), sum);
  EXPECT_EQ(Count("pgstandby_app", "SELECT pg_is_in_recovery()::int"), 1);

  // The router file: the primary for writes, each replica read-only with its consistency.
  toml::table router = toml::parse_file(plan + ".router.toml");
  EXPECT_EQ(router["primary"]["database"].value_or(std::string()), "pg_app");
  EXPECT_EQ(router["primary"]["role"].value_or(std::string()), "read-write");
  const toml::array& replicas = *router["replicas"].as_array();
  ASSERT_EQ(replicas.size(), 2u);
  EXPECT_EQ((*replicas[0].as_table())["database"].value_or(std::string()), "pg2_app");
  EXPECT_EQ((*replicas[0].as_table())["role"].value_or(std::string()), "read-only");
  EXPECT_EQ((*replicas[0].as_table())["mode"].value_or(std::string()), "sync");
  EXPECT_EQ((*replicas[1].as_table())["database"].value_or(std::string()), "pgstandby_app");
  EXPECT_EQ((*replicas[1].as_table())["method"].value_or(std::string()), "physical");
  std::ifstream text(plan + ".router.toml");
  std::string all((std::istreambuf_iterator<char>(text)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all.find(catalog_->Url("pg_app").password), std::string::npos) << "the router file holds a password";

  // The sandbox's primary runs with synchronous_commit = off, under which no commit waits: the
  // plan said so and turned it on server-wide.
  EXPECT_NE(planned.output.find("runs with synchronous_commit = 'off'"), std::string::npos) << planned.output;
  EXPECT_EQ(Connect("pg_app")->Query("SHOW synchronous_commit").Text(0, "synchronous_commit"), "on");

  // Stopped replicas are broken: a disabled subscription, then a standby that is shut down. While
  // the synchronous one is stopped, a commit on the primary waits for it.
  r->Execute("ALTER SUBSCRIPTION " + object_logical + " DISABLE");
  std::atomic<bool> committed{false};
  std::thread insert([this, &committed] {
    try {
      Connect("pg_app")->Execute("INSERT INTO sst_rep_orders (id, v) VALUES (5000000, 1)");
      committed = true;
    } catch (const db::Error&) {  // cancelled below when it waited too long
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(committed) << "a commit on the primary did not wait for its stopped synchronous replica";
  EXPECT_EQ(Count("pg_app", "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"), 1);
  nlohmann::json after = Status(plan, 1);
  EXPECT_TRUE(after["replicas"][0]["broken"].get<bool>()) << after.dump();
  EXPECT_FALSE(after["replicas"][0]["ready"].get<bool>()) << after.dump();
  r->Execute("ALTER SUBSCRIPTION " + object_logical + " ENABLE");
  for (int i = 0; i < 150 && !committed; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(committed) << "the waiting commit did not complete once the replica was back";
  if (!committed) p->Query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
  insert.join();

  // Commits that stop waiting break the promise: status exits 1 and names what to change. The
  // server-wide value, then one role's.
  auto unkept_after = [&](const std::string& sql, const std::string& expected) {
    p->Execute(sql);
    p->Query("SELECT pg_reload_conf()");
    std::string seen;
    for (int i = 0; i < 50 && seen.find(expected) == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      CliRun s = Run({"replicas", "status", plan});
      EXPECT_EQ(s.rc, 1) << s.output;
      seen = s.output;
    }
    EXPECT_NE(seen.find("NOT IN FORCE: "), std::string::npos) << seen;
    EXPECT_NE(seen.find(expected), std::string::npos) << seen;
  };
  unkept_after("ALTER SYSTEM SET synchronous_commit = off", "synchronous_commit is 'off' server-wide");
  nlohmann::json off = Status(plan, 1);
  EXPECT_FALSE(off["replicas"][0]["promises_kept"].get<bool>()) << off.dump();
  EXPECT_TRUE(off["replicas"][1]["promises_kept"].get<bool>()) << off.dump();
  p->Execute("ALTER SYSTEM SET synchronous_commit = on");
  p->Execute("DROP ROLE IF EXISTS sst_rep_app");
  p->Execute("CREATE ROLE sst_rep_app LOGIN");
  unkept_after("ALTER ROLE sst_rep_app SET synchronous_commit = local", "RESET synchronous_commit");
  p->Execute("DROP ROLE sst_rep_app");
  p->Query("SELECT pg_reload_conf()");
  for (int i = 0; i < 50 && Run({"replicas", "status", plan}).rc != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Status(plan, 0);
  std::system(fmt::format("su postgres -c '/usr/lib/postgresql/15/bin/pg_ctl -D {} -m fast -w stop' >/dev/null 2>&1",
                          sandbox_.standby.data_dir).c_str());
  after = Status(plan, 1);
  EXPECT_TRUE(after["replicas"][1]["broken"].get<bool>()) << after.dump();
  EXPECT_EQ(after["replicas"][1]["state"], "stopped") << after.dump();
  (void)object_physical;
}

TEST_F(ReplicaTest, MariadbGtidReplicaUnderWrites) {
  auto p = Connect("my_app");
  auto r = Connect("my2_app");
  struct Cleanup {
    ReplicaTest* t;
    ~Cleanup() { t->UndoMariadbReplica("sst_rep_orders"); }
  } cleanup{this};
  p->Execute("DROP TABLE IF EXISTS sst_rep_orders");
  p->Execute("CREATE TABLE sst_rep_orders (id BIGINT PRIMARY KEY, v INT NOT NULL, note VARCHAR(20) DEFAULT 'n') "
             "ENGINE=InnoDB");
  p->Execute("INSERT INTO sst_rep_orders (id, v) SELECT seq, 0 FROM seq_1_to_20000");
  const std::string spec = Spec(R"([replica]
primary = "my_app"

[[replica.replicas]]
database = "my2_app"
method = "gtid"
mode = "semi-sync"
)");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Run({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  StartWriter("my_app", "sst_rep_orders");
  // Killed after the copy, before it was recorded (its GTID position is lost with it): the next
  // apply copies again from a new snapshot.
  CliRun killed = Shardshift({"--config", TestConfigPath(), "apply", plan}, {{"SHARDSHIFT_KILL_AT", "step.ran:2"}});
  EXPECT_TRUE(killed.killed) << killed.output;
  CliRun applied = Run({"apply", plan});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  StopWriter();
  ASSERT_EQ(applied.rc, 0) << applied.output;
  EXPECT_EQ(errors_, 0);
  EXPECT_GT(writes_, 20);
  nlohmann::json status;
  for (int i = 0; i < 50; ++i) {
    status = Status(plan, 0);
    if (status["replicas"][0]["lag_transactions"].get<int64_t>() == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(status["replicas"][0]["lag_transactions"].get<int64_t>(), 0) << status.dump();
  EXPECT_TRUE(status["replicas"][0]["ready"].get<bool>()) << status.dump();
  EXPECT_EQ(status["replicas"][0]["sync_state"], "semi-sync") << status.dump();
  CliRun verified = Run({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
  EXPECT_EQ(Count("my2_app", "SELECT COUNT(*) FROM sst_rep_orders"), Count("my_app", "SELECT COUNT(*) FROM sst_rep_orders"));
  EXPECT_EQ(Count("my2_app", "SELECT SUM(v) FROM sst_rep_orders"), Count("my_app", "SELECT SUM(v) FROM sst_rep_orders"));
  toml::table router = toml::parse_file(plan + ".router.toml");
  EXPECT_EQ(router["primary"]["database"].value_or(std::string()), "my_app");
  EXPECT_EQ((*router["replicas"].as_array()->at(0).as_table())["mode"].value_or(std::string()), "semi-sync");

  // A restart of the replica forgets what SET GLOBAL set (semi-sync, the database filter): the
  // plan said what to configure, and status exits 1 naming both until they are back.
  EXPECT_NE(planned.output.find("SET GLOBAL does not survive a restart: put replicate_do_db = app and "
                                "rpl_semi_sync_slave_enabled = ON"), std::string::npos) << planned.output;
  p->Execute("SET GLOBAL rpl_semi_sync_master_timeout = 500");
  sandbox::Sandbox(std::filesystem::path(TestConfigPath()).parent_path().string()).RestartMariadb(true);
  r = Connect("my2_app");
  p->Execute("INSERT INTO sst_rep_orders (id, v) VALUES (5000000, 1)");  // waits 500 ms, then falls back
  nlohmann::json restarted = Status(plan, 1);
  const std::string unkept = restarted["replicas"][0]["unkept"].dump();
  EXPECT_FALSE(restarted["replicas"][0]["promises_kept"].get<bool>()) << restarted.dump();
  EXPECT_EQ(restarted["replicas"][0]["sync_state"], "async") << restarted.dump();
  EXPECT_NE(unkept.find("rpl_semi_sync_slave_enabled = OFF"), std::string::npos) << unkept;
  EXPECT_NE(unkept.find("replicate_do_db is '', not 'app'"), std::string::npos) << unkept;
  EXPECT_NE(unkept.find("fallen back to asynchronous"), std::string::npos) << unkept;
  CliRun text = Run({"replicas", "status", plan});
  EXPECT_EQ(text.rc, 1) << text.output;
  EXPECT_NE(text.output.find("NOT IN FORCE: semi-sync is off on the replica"), std::string::npos) << text.output;
  // What status advises, done: back in force after the next commit.
  r->Execute("STOP SLAVE");
  r->Execute("SET GLOBAL replicate_do_db = 'app'");
  r->Execute("SET GLOBAL rpl_semi_sync_slave_enabled = ON");
  r->Execute("START SLAVE");
  int rc = 1;
  for (int i = 0; i < 50 && rc != 0; ++i) {
    p->Execute("UPDATE sst_rep_orders SET v = v + 1 WHERE id = 1");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    rc = Run({"replicas", "status", plan}).rc;
  }
  nlohmann::json back = Status(plan, 0);
  EXPECT_EQ(back["replicas"][0]["sync_state"], "semi-sync") << back.dump();

  // A difference behind replication's back is named by verify.
  r->Execute("SET SESSION sql_log_bin = 0");
  r->Execute("UPDATE sst_rep_orders SET v = v + 100 WHERE id = 7");
  CliRun differs = Run({"verify", plan});
  EXPECT_EQ(differs.rc, 1) << differs.output;
  EXPECT_NE(differs.output.find("sst_rep_orders differs"), std::string::npos) << differs.output;

  // Stopped: broken.
  r->Execute("STOP SLAVE");
  nlohmann::json after = Status(plan, 1);
  EXPECT_TRUE(after["replicas"][0]["broken"].get<bool>()) << after.dump();
}

// The programs of a run's initial MariaDB copy that are alive now (ours: they read their options
// from a shardshift file), by pid.
std::vector<std::string> CopyProgramsRunning() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    if ((cmdline.starts_with("/usr/bin/mariadb-dump ") || cmdline.starts_with("/usr/bin/mariadb ")) &&
        (cmdline.find("shardshift") != std::string::npos || cmdline.find("/dev/fd/") != std::string::npos)) {
      out.push_back(entry.path().filename().string() + ": " + cmdline);
    }
  }
  return out;
}

// Files under the temporary folder that hold text, by path; the test sandbox's own folder (its
// config and the servers' files hold the sandbox password by design) is not searched, which
// matters when the build folder is itself under /tmp (a fresh clone in CI).
std::vector<std::string> TempFilesHolding(const std::string& text) {
  std::vector<std::string> out;
  std::error_code ec;
  const std::filesystem::path sandbox = std::filesystem::path(TestConfigPath()).parent_path();
  for (auto it = std::filesystem::recursive_directory_iterator(std::filesystem::temp_directory_path(), ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!ec && it->is_directory(ec) && std::filesystem::equivalent(it->path(), sandbox, ec)) {
      it.disable_recursion_pending();
      continue;
    }
    if (ec || !it->is_regular_file(ec) || it->file_size(ec) > (1 << 20)) continue;
    std::ifstream in(it->path());
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (body.find(text) != std::string::npos) out.push_back(it->path().string());
  }
  return out;
}

TEST_F(ReplicaTest, MariadbCopyKilledAgainAndAgainResumesAtOnceAndLeavesNoPasswordBehind) {
  auto p = Connect("my_app");
  auto r = Connect("my2_app");
  struct Cleanup {
    ReplicaTest* t;
    ~Cleanup() { t->UndoMariadbReplica("sst_rep_big"); }
  } cleanup{this};
  p->Execute("DROP TABLE IF EXISTS sst_rep_big");
  // Big enough that the dump and the load outlive a kill by seconds.
  p->Execute("CREATE TABLE sst_rep_big (id BIGINT PRIMARY KEY, v INT NOT NULL, pad VARCHAR(200) NOT NULL DEFAULT '') "
             "ENGINE=InnoDB");
  p->Execute("INSERT INTO sst_rep_big (id, v, pad) SELECT seq, 0, REPEAT('x', 180) FROM seq_1_to_300000");
  const std::string spec = Spec("[replica]\nprimary = \"my_app\"\n\n[[replica.replicas]]\ndatabase = \"my2_app\"\n"
                                "method = \"gtid\"\n");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Run({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  const std::string primary_password = catalog_->Url("my_app").password;
  const std::string replica_password = catalog_->Url("my2_app").password;
  ASSERT_FALSE(primary_password.empty());

  StartWriter("my_app", "sst_rep_big");
  // Killed in the middle of the copy three times, each run started the moment the last one died.
  for (const char* pass : {"1", "1", "3"}) {
    CliRun killed = Shardshift({"--config", TestConfigPath(), "--log-level", "warn", "apply", plan},
                               {{"SHARDSHIFT_KILL_AT", std::string("replica.copying:") + pass}});
    ASSERT_TRUE(killed.killed) << "the run did not reach the copy: " << killed.output;
    // Its mariadb-dump and mariadb died with it (give the kernel a moment to deliver).
    std::vector<std::string> left;
    for (int i = 0; i < 20 && !(left = CopyProgramsRunning()).empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(left.empty()) << "the killed run's copy programs still run: " << fmt::format("{}", fmt::join(left, "; "));
    EXPECT_TRUE(TempFilesHolding(primary_password).empty()) << "a password on disk after a kill: "
                                                             << fmt::format("{}", fmt::join(TempFilesHolding(primary_password), ", "));
    EXPECT_TRUE(TempFilesHolding(replica_password).empty());
  }
  // A replica that does not replicate: verify says so at once.
  CliRun early = Run({"verify", plan});
  EXPECT_EQ(early.rc, 1) << early.output;
  EXPECT_NE(early.output.find("not replicating"), std::string::npos) << early.output;

  CliRun applied = Run({"apply", plan});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  StopWriter();
  ASSERT_EQ(applied.rc, 0) << applied.output;
  EXPECT_EQ(errors_, 0);
  nlohmann::json status;
  for (int i = 0; i < 100; ++i) {
    status = Status(plan, 0);
    if (status["replicas"][0]["lag_transactions"].get<int64_t>() == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(status["replicas"][0]["lag_transactions"].get<int64_t>(), 0) << status.dump();
  CliRun verified = Run({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
  EXPECT_EQ(Count("my2_app", "SELECT COUNT(*) FROM sst_rep_big"), Count("my_app", "SELECT COUNT(*) FROM sst_rep_big"));
  EXPECT_EQ(Count("my2_app", "SELECT SUM(v) FROM sst_rep_big"), Count("my_app", "SELECT SUM(v) FROM sst_rep_big"));
  // The killed runs' log folders are gone, and no file anywhere in the temporary folder holds a password.
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("shardshift-dump-")) << entry.path();
  }
  EXPECT_TRUE(TempFilesHolding(primary_password).empty());
  EXPECT_TRUE(TempFilesHolding(replica_password).empty());
}

TEST_F(ReplicaTest, APrimaryWithWalLevelTooLowGetsAPlanThatSaysSoAndNothingChanges) {
  // The second PostgreSQL runs with the default wal_level = replica: no logical replica from it.
  auto p = Connect("pg2_app");
  p->Execute("DROP TABLE IF EXISTS sst_rep_low");
  p->Execute("CREATE TABLE sst_rep_low (id int PRIMARY KEY)");
  auto target = Connect("pg_app");
  target->Execute("DROP TABLE IF EXISTS sst_rep_low");
  const std::string spec = Spec(R"([replica]
primary = "pg2_app"

[[replica.replicas]]
database = "pg_app"
method = "logical"
tables = ["sst_rep_low"]
)");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Run({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  EXPECT_NE(planned.output.find("wal_level is 'replica': logical replication needs 'logical'"), std::string::npos)
      << planned.output;
  CliRun shown = Run({"show", plan});
  EXPECT_NE(shown.output.find("ALTER SYSTEM SET wal_level = 'logical'"), std::string::npos) << shown.output;
  EXPECT_NE(shown.output.find("restart"), std::string::npos) << shown.output;
  CliRun applied = Run({"apply", plan});
  EXPECT_EQ(applied.rc, 2) << applied.output;
  EXPECT_NE(applied.output.find("is not ready: wal_level is 'replica'"), std::string::npos) << applied.output;
  EXPECT_EQ(Count("pg2_app", "SELECT count(*) FROM pg_publication"), 0) << "apply changed the primary";
  EXPECT_EQ(Count("pg_app", "SELECT count(*) FROM pg_class WHERE relname = 'sst_rep_low'"), 0)
      << "apply changed the replica";
  p->Execute("DROP TABLE IF EXISTS sst_rep_low");
}

TEST_F(ReplicaTest, ASyncReplicaWhoseApplicationRoleDoesNotWaitGetsAPlanThatSaysSoAndNothingChanges) {
  auto p = Connect("pg_app");
  struct Cleanup {
    ReplicaTest* t;
    ~Cleanup() {
      try {
        auto p = t->Connect("pg_app");
        p->Execute("DROP ROLE IF EXISTS sst_rep_app");
        p->Execute("DROP TABLE IF EXISTS sst_rep_role");
      } catch (...) {  // NOLINT: best effort
      }
    }
  } cleanup{this};
  p->Execute("DROP ROLE IF EXISTS sst_rep_app");
  p->Execute("CREATE ROLE sst_rep_app LOGIN");
  p->Execute("ALTER ROLE sst_rep_app SET synchronous_commit = off");
  p->Execute("DROP TABLE IF EXISTS sst_rep_role");
  p->Execute("CREATE TABLE sst_rep_role (id int PRIMARY KEY)");
  const std::string names = p->Query("SELECT current_setting('synchronous_standby_names') AS s").Text(0, "s");
  const std::string spec = Spec(R"([replica]
primary = "pg_app"

[[replica.replicas]]
database = "pg2_app"
method = "logical"
mode = "sync"
tables = ["sst_rep_role"]
)");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Run({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  EXPECT_NE(planned.output.find("commits would not wait for the synchronous replica under synchronous_commit set per "
                                "role or database (role sst_rep_app: off)"), std::string::npos) << planned.output;
  EXPECT_NE(planned.output.find("sst_rep_app\" RESET synchronous_commit"), std::string::npos) << planned.output;
  CliRun applied = Run({"apply", plan});
  EXPECT_EQ(applied.rc, 2) << applied.output;
  EXPECT_NE(applied.output.find("is not ready: "), std::string::npos) << applied.output;
  EXPECT_EQ(Count("pg_app", "SELECT count(*) FROM pg_publication"), 0) << "apply changed the primary";
  EXPECT_EQ(p->Query("SELECT current_setting('synchronous_standby_names') AS s").Text(0, "s"), names);
  EXPECT_EQ(Count("pg2_app", "SELECT count(*) FROM pg_class WHERE relname = 'sst_rep_role'"), 0)
      << "apply changed the replica";
}

TEST_F(ReplicaTest, AMariadbUserWithoutThePrivilegesGetsTheGrantsToRunAndApplyRefuses) {
  // A config whose MariaDB user may only read.
  for (const char* db : {"my_app", "my2_app"}) {
    auto c = Connect(db);
    c->Execute("DROP USER IF EXISTS 'sst_weak'@'127.0.0.1'");
    c->Execute("CREATE USER 'sst_weak'@'127.0.0.1' IDENTIFIED BY 'sst-weak-pw'");
    c->Execute("GRANT SELECT ON *.* TO 'sst_weak'@'127.0.0.1'");
  }
  const std::string config = (dir_ / "weak.toml").string();
  std::ofstream(config) << fmt::format(
      "[databases.my_app]\nurl = \"mysql://sst_weak:sst-weak-pw@127.0.0.1:{}/app\"\n"
      "[databases.my2_app]\nurl = \"mysql://sst_weak:sst-weak-pw@127.0.0.1:{}/app\"\n",
      catalog_->Url("my_app").PortOrDefault(), catalog_->Url("my2_app").PortOrDefault());
  const std::string spec = Spec("[replica]\nprimary = \"my_app\"\n[[replica.replicas]]\ndatabase = \"my2_app\"\n"
                                "method = \"gtid\"\n");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  EXPECT_NE(planned.output.find("the primary's configured user lacks CREATE USER, REPLICATION SLAVE"), std::string::npos)
      << planned.output;
  EXPECT_NE(planned.output.find("GRANT CREATE USER, REPLICATION SLAVE, RELOAD ON *.* TO sst_weak WITH GRANT OPTION"),
            std::string::npos) << planned.output;
  EXPECT_EQ(planned.output.find("sst-weak-pw"), std::string::npos) << "a password was printed";
  CliRun applied = Shardshift({"--config", config, "apply", plan});
  EXPECT_EQ(applied.rc, 2) << applied.output;
  EXPECT_NE(applied.output.find("is not ready"), std::string::npos) << applied.output;
  // Nothing was copied or configured on the replica.
  EXPECT_EQ(Count("my2_app", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'"), 0);
  EXPECT_TRUE(Connect("my2_app")->Query("SHOW SLAVE STATUS").rows.empty());
  for (const char* db : {"my_app", "my2_app"}) Connect(db)->Execute("DROP USER IF EXISTS 'sst_weak'@'127.0.0.1'");
}

TEST_F(ReplicaTest, AStandbyOnAnotherHostGetsTheCommandsToRunThere) {
  const std::string spec = Spec(R"([replica]
primary = "pg_app"

[[replica.replicas]]
database = "pgstandby_app"
method = "physical"
)");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Run({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  CliRun shown = Run({"show", plan});
  EXPECT_NE(shown.output.find("pg_basebackup -h 127.0.0.1 -p " + std::to_string(catalog_->Url("pg_app").PortOrDefault())),
            std::string::npos) << shown.output;
  EXPECT_NE(shown.output.find("-S shardshift_sst_replicas_pgstandby_app -R"), std::string::npos) << shown.output;
  EXPECT_EQ(shown.output.find(catalog_->Url("pg_app").password), std::string::npos) << "a password in the plan";
}

}  // namespace
}  // namespace shardshift::testing
