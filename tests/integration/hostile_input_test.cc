// Names and files that must not hurt (issue 16), through the shardshift executable on both engines:
// a key column that takes a name of shardshift's own changelog is refused at plan time, naming it;
// a key column holding the capture function's dollar-quote tag is captured and moved like any other;
// a server lost inside a run (a PostgreSQL target closed to connections; a MariaDB server of the
// test's own sandbox killed) ends the run with exit 1 and "run apply again", not the bad-input 2.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/process.hpp>

#include <fmt/format.h>

#include "db/schema.h"
#include "sandbox/sandbox.h"
#include "tests/fuzz_mutate.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class HostileInputTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sst-hostile-{}-{}", getpid(), pg() ? "pg" : "my");
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // A reshard spec of table (key: its one column `key`) from range_0 onto hash_0 and hash_1.
  std::string Spec(const std::string& name, const std::string& table, const std::string& key) const {
    const std::string path = (dir_ / (name + ".toml")).string();
    std::ofstream(path) << fmt::format(R"([migration]
name = "{}"
kind = "reshard"
[reshard]
table = "{}"
key = ["{}"]
[reshard.source]
layout = "single"
database = "{}"
[reshard.target]
databases = ["{}", "{}"]
)", name, table, key, Db("range_0"), Db("hash_0"), Db("hash_1"));
    return path;
  }
  std::string Q(const std::string& id) const { return pg() ? "\"" + id + "\"" : "`" + id + "`"; }

  std::filesystem::path dir_;
};

TEST_P(HostileInputTest, AKeyColumnNamedLikeTheChangelogsOwnIsRefusedAtPlanTime) {
  auto source = Connect("range_0");
  DropTable t(*source, "sst_own_names");
  source->Execute(fmt::format("CREATE TABLE sst_own_names ({} bigint PRIMARY KEY, v text)", Q(pg() ? "_ss_id" : "_SS_ID")));
  const std::string spec = Spec("own-names", "sst_own_names", pg() ? "_ss_id" : "_SS_ID");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", plan});
  EXPECT_EQ(planned.rc, 2) << planned.output;
  EXPECT_NE(planned.output.find(fmt::format("key column '{}' of table sst_own_names has the name of a column of "
                                            "shardshift's changelog", pg() ? "_ss_id" : "_SS_ID")),
            std::string::npos)
      << planned.output;
  EXPECT_FALSE(std::filesystem::exists(plan));
}

TEST_P(HostileInputTest, AKeyColumnHoldingTheDollarQuoteTagIsCapturedAndMoved) {
  const std::string key = "k$shardshift$; DROP TABLE x; --";
  auto source = Connect("range_0");
  std::vector<std::unique_ptr<db::Connection>> targets;
  std::vector<std::unique_ptr<DropTable>> drops;
  for (const char* t : {"hash_0", "hash_1"}) {
    targets.push_back(Connect(t));
    drops.push_back(std::make_unique<DropTable>(*targets.back(), "sst_tagged"));
  }
  DropTable t(*source, "sst_tagged");
  source->Execute(fmt::format("CREATE TABLE sst_tagged ({} bigint PRIMARY KEY, v text)", Q(key)));
  source->Execute(pg() ? "INSERT INTO sst_tagged SELECT g, 'v' || g FROM generate_series(1, 300) g"
                       : "INSERT INTO sst_tagged SELECT seq, CONCAT('v', seq) FROM seq_1_to_300");
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", Spec("tagged", "sst_tagged", key), "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  CliRun applied = Shardshift({"--config", TestConfigPath(), "apply", "--until", "cutover", plan});
  EXPECT_EQ(applied.rc, 0) << applied.output;
  // A write made now is captured by the trigger whose body holds the tag, and replayed at the cutover.
  source->Execute(fmt::format("UPDATE sst_tagged SET v = 'changed' WHERE {} = 7", Q(key)));
  CliRun switched = Shardshift({"--config", TestConfigPath(), "apply", plan});
  EXPECT_EQ(switched.rc, 0) << switched.output;
  int64_t rows = 0;
  std::string seven;
  for (auto& c : targets) {
    rows += std::stoll(c->Query("SELECT COUNT(*) AS n FROM sst_tagged").Text(0, "n"));
    db::ResultSet r = c->Query(fmt::format("SELECT v FROM sst_tagged WHERE {} = 7", Q(key)));
    if (!r.rows.empty()) seven = r.Text(0, "v");
  }
  EXPECT_EQ(rows, 300);
  EXPECT_EQ(seven, "changed");
  CliRun cleaned = Shardshift({"--config", TestConfigPath(), "apply", "--cleanup", plan});
  EXPECT_EQ(cleaned.rc, 0) << cleaned.output;
}

// The fuzzer through the executable: mutated specs go to `plan` and mutated plans to `apply
// --dry-run`, against the real servers. Each ends with exit 0, 1 or 2 (never a signal, never a
// hang past the harness's limit), a refusal says where, and no database changes.
TEST_P(HostileInputTest, MutatedSpecsAndPlansExitCleanlyAndChangeNothing) {
  auto source = Connect("range_0");
  DropTable t(*source, "sst_fuzz");
  source->Execute("CREATE TABLE sst_fuzz (id bigint PRIMARY KEY, v text)");
  source->Execute(pg() ? "INSERT INTO sst_fuzz SELECT g, 'v' || g FROM generate_series(1, 200) g"
                       : "INSERT INTO sst_fuzz SELECT seq, CONCAT('v', seq) FROM seq_1_to_200");
  const std::string spec_text = [&] {
    std::ifstream in(Spec("fuzz", "sst_fuzz", "id"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  const std::string plan = (dir_ / "plan.toml").string();
  ASSERT_EQ(Shardshift({"--config", TestConfigPath(), "plan", Spec("fuzz", "sst_fuzz", "id"), "-o", plan}).rc, 0);
  const std::string plan_text = [&] {
    std::ifstream in(plan);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  std::vector<std::unique_ptr<db::Connection>> dbs;
  for (const char* d : {"range_0", "hash_0", "hash_1"}) dbs.push_back(Connect(d));
  auto shapes = [&] {
    std::vector<std::string> out;
    for (auto& c : dbs) out.push_back(db::Fingerprint(c->Introspect({"", "", false})));
    return out;
  };
  const std::vector<std::string> before = shapes();
  std::mt19937 rng(pg() ? 161 : 162);
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    const bool on_plan = i % 2 == 1;
    const std::string file = (dir_ / (on_plan ? "mutated-plan.toml" : "mutated-spec.toml")).string();
    std::ofstream(file, std::ios::trunc) << testing::MutateToml(on_plan ? plan_text : spec_text, rng);
    CliRun r = on_plan ? Shardshift({"--config", TestConfigPath(), "apply", "--dry-run", file})
                       : Shardshift({"--config", TestConfigPath(), "plan", file, "-o", (dir_ / "out.toml").string()});
    EXPECT_FALSE(r.killed) << "case " << i << " ended by a signal:\n" << r.output;
    EXPECT_TRUE(r.rc == 0 || r.rc == 1 || r.rc == 2) << "case " << i << " exit " << r.rc << ":\n" << r.output;
    if (r.rc == 2) {
      ++refused;
      EXPECT_TRUE(r.output.find(file) != std::string::npos || r.output.find("database '") != std::string::npos)
          << "case " << i << " refused without saying where:\n" << r.output;
    }
  }
  EXPECT_GE(refused, 10);
  EXPECT_EQ(shapes(), before) << "a refused or dry run changed a database";
}

// A target that stops taking connections in the middle of a copy (its sessions cut, its database
// closed to new ones): apply gives up after its retries with exit 1, a failed run to resume, not
// 2, the code of bad input found before anything changed. PostgreSQL only: a database there can be
// closed to connections without touching the others the shared fixture serves.
class LostServerTest : public HostileInputTest {};

TEST_P(LostServerTest, AServerLostInTheMiddleOfARunIsAFailedRunNotBadInput) {
  auto source = Connect("range_0");
  auto admin = Connect("app");
  std::vector<std::unique_ptr<db::Connection>> targets;
  std::vector<std::unique_ptr<DropTable>> drops;
  for (const char* t : {"hash_0", "hash_1"}) {
    targets.push_back(Connect(t));
    drops.push_back(std::make_unique<DropTable>(*targets.back(), "sst_lost"));
  }
  DropTable t(*source, "sst_lost");
  source->Execute("CREATE TABLE sst_lost (id bigint PRIMARY KEY, v text)");
  source->Execute("INSERT INTO sst_lost SELECT g, 'v' || g FROM generate_series(1, 20000) g");
  const std::string spec = Spec("lost", "sst_lost", "id");
  std::ofstream(spec, std::ios::app) << "[options]\nmax_rows_per_second = 2000\nretries = 1\nchunk_rows = 500\n";
  const std::string plan = (dir_ / "plan.toml").string();
  ASSERT_EQ(Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", plan}).rc, 0);
  const std::string closed = catalog_->Url(Db("hash_1")).database;  // the server's name for it
  struct Reopen {
    db::Connection& admin;
    std::string db;
    ~Reopen() { admin.Execute("ALTER DATABASE " + admin.Quote(db) + " ALLOW_CONNECTIONS true"); }
  } reopen{*admin, closed};
  std::string cut_failed;
  std::thread cut([&] {
    try {
      std::this_thread::sleep_for(std::chrono::seconds(2));  // inside the throttled copy (10 s)
      admin->Execute("ALTER DATABASE " + admin->Quote(closed) + " ALLOW_CONNECTIONS false");
      admin->Query("SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity WHERE datname = " + P(1) +
                       " AND application_name = 'shardshift'",
                   {closed});
    } catch (const std::exception& e) {
      cut_failed = e.what();
    }
  });
  CliRun applied = Shardshift({"--config", TestConfigPath(), "apply", "--until", "cutover", plan});
  cut.join();
  ASSERT_EQ(cut_failed, "");
  EXPECT_EQ(applied.rc, 1) << applied.output;
  EXPECT_NE(applied.output.find("the run had started: run apply again to resume"), std::string::npos) << applied.output;
  // Open again, the run resumes and finishes the copy.
  admin->Execute("ALTER DATABASE " + admin->Quote(closed) + " ALLOW_CONNECTIONS true");
  CliRun resumed = Shardshift({"--config", TestConfigPath(), "apply", "--until", "cutover", plan});
  EXPECT_EQ(resumed.rc, 0) << resumed.output;
  int64_t rows = 0;
  for (auto& c : targets) rows += std::stoll(c->Query("SELECT COUNT(*) AS n FROM sst_lost").Text(0, "n"));
  EXPECT_EQ(rows, 20000);
  EXPECT_EQ(Shardshift({"--config", TestConfigPath(), "apply", plan}).rc, 0);
  CliRun cleaned = Shardshift({"--config", TestConfigPath(), "apply", "--cleanup", plan});
  EXPECT_EQ(cleaned.rc, 0) << cleaned.output;
}

// The same on MariaDB, whose databases share a server with no per-database ALLOW_CONNECTIONS: a
// sandbox of its own (one MariaDB), whose server is killed (SIGKILL) inside the throttled copy. The
// run had started: exit 1, not the bad-input 2, and it says to resume.
TEST(LostMariadbServerTest, AServerKilledInTheMiddleOfARunIsAFailedRunNotBadInput) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / fmt::format("sst-lost-my-{}", getpid());
  std::filesystem::remove_all(dir);
  sandbox::Sandbox box((dir / "sandbox").string());
  const sandbox::SandboxState state = box.Up(false, false, true);
  struct Down {
    sandbox::Sandbox& box;
    std::filesystem::path dir;
    ~Down() {
      try {
        box.Down();
      } catch (const std::exception&) {  // NOLINT: best effort
      }
      std::filesystem::remove_all(dir);
    }
  } down{box, dir};
  const db::Catalog catalog = db::Catalog::FromConfig(plans::LoadConfig(state.config_path));
  {
    auto source = catalog.Connect("my_range_0");
    source->Execute("CREATE TABLE sst_lost (id BIGINT PRIMARY KEY, v TEXT)");
    source->Execute("INSERT INTO sst_lost SELECT seq, CONCAT('v', seq) FROM seq_1_to_20000");
  }
  const std::string spec = (dir / "spec.toml").string();
  std::ofstream(spec) << R"([migration]
name = "lost-mariadb"
kind = "reshard"
[options]
max_rows_per_second = 2000
retries = 1
chunk_rows = 500
[reshard]
table = "sst_lost"
key = ["id"]
[reshard.source]
layout = "single"
database = "my_range_0"
[reshard.target]
databases = ["my_hash_0", "my_hash_1"]
)";
  const std::string plan = (dir / "plan.toml").string();
  ASSERT_EQ(Shardshift({"--config", state.config_path, "plan", spec, "-o", plan}).rc, 0);
  std::thread cut([&] {
    std::this_thread::sleep_for(std::chrono::seconds(2));  // inside the throttled copy (10 s)
    kill(state.mariadb.pid, SIGKILL);
  });
  CliRun applied = Shardshift({"--config", state.config_path, "apply", "--until", "cutover", plan});
  cut.join();
  EXPECT_EQ(applied.rc, 1) << applied.output;
  EXPECT_NE(applied.output.find("the run had started: run apply again to resume"), std::string::npos) << applied.output;
}

INSTANTIATE_TEST_SUITE_P(Postgres, LostServerTest, ::testing::Values(db::Engine::kPostgres), EngineParamName);

INSTANTIATE_TEST_SUITE_P(Engines, HostileInputTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
