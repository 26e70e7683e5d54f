// The shadow-table rebuild, on both engines, through the shardshift executable: an index the
// engine cannot build online (MariaDB: an Aria table, which has no LOCK=NONE) or one the spec asks
// to build that way (PostgreSQL: build = "shadow") is built on a copy of the table that is kept
// current and swapped in by name, while an application writes; the run is killed in the backfill,
// with writes blocked, with the rename queued and after the swap before it was recorded, and
// resumed each time. The table ends holding exactly what the application wrote, with the new index
// valid, the writer saw no error, and cleanup removes the old table. What a rebuild by name cannot
// carry over is refused at plan time. The rebuild runs with each capture: the log (capture "auto" on
// the sandbox, whose servers allow it; its slot or position removed at cleanup) and triggers.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "db/error.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class ShadowIndexTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sst-shadow-{}-{}", getpid(), pg() ? "pg" : "my");
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    conn_ = Connect("range_1");
    Drop();
  }
  void TearDown() override {
    if (conn_ && conn_->Usable()) Drop();
    std::filesystem::remove_all(dir_);
  }
  void Drop() {
    for (const char* t : {"sst_shadow_child", "sst_shadow", "_ss_old_sst_shadow", "_ss_new_sst_shadow"}) {
      conn_->Execute(std::string("DROP TABLE IF EXISTS ") + conn_->Quote(t));
    }
  }
  CliRun Run(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"--config", TestConfigPath(), "--log-level", "warn"});
    return Shardshift(args, env);
  }
  std::string Spec(const std::string& index, const std::string& capture = "auto") {
    const std::string path = (dir_ / "spec.toml").string();
    std::ofstream(path) << fmt::format(R"([migration]
name = "sst-shadow-{}-{}"
kind = "create_index"
[options]
chunk_rows = 500
max_rows_per_second = 40000
capture = "{}"
[create_index]
databases = ["{}"]
[[create_index.indexes]]
table = "sst_shadow"
{}
)", getpid(), capture, capture, Db("range_1"), index);
    return path;
  }
  int64_t Count(const std::string& sql) { return std::stoll(conn_->Query(sql).rows.at(0).at(0).value_or("0")); }
  void RebuildUnderWrites(const std::string& capture);

  std::filesystem::path dir_;
  std::unique_ptr<db::Connection> conn_;
};

void ShadowIndexTest::RebuildUnderWrites(const std::string& capture) {
  conn_->Execute(Sql("CREATE TABLE sst_shadow (id bigserial PRIMARY KEY, v int NOT NULL, note text, "
                     "code text UNIQUE, CHECK (v >= 0))",
                     "CREATE TABLE sst_shadow (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL, note "
                     "TEXT, code VARCHAR(40) UNIQUE) ENGINE=Aria"));
  conn_->Execute(Sql("INSERT INTO sst_shadow (id, v, note, code) SELECT g, 0, repeat('n', g % 40), 'c' || g "
                     "FROM generate_series(1, 30000) g",
                     "INSERT INTO sst_shadow (id, v, note, code) SELECT seq, 0, REPEAT('n', seq % 40), CONCAT('c', seq) "
                     "FROM seq_1_to_30000"));
  if (pg()) conn_->Execute("SELECT setval('sst_shadow_id_seq', 30000)");
  // PostgreSQL can build any index online; the spec asks for the rebuild. The Aria table has no
  // online ADD INDEX, so MariaDB gets the rebuild by itself.
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Run({"plan",
                        Spec(std::string("name = \"sst_shadow_v_note\"\ncolumns = [\"v\", \"id DESC\"]\n") +
                                 (pg() ? "build = \"shadow\"\n" : ""),
                             capture),
                        "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  std::string text;
  {
    std::ifstream in(plan);
    text.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  const bool log = capture != "trigger";
  EXPECT_EQ(text.find("capture = \"log\"") != std::string::npos, log) << text;
  // What log capture leaves on the server until cleanup: PostgreSQL's slot, MariaDB's position.
  std::smatch match;
  const std::string slot = std::regex_search(text, match, std::regex("\nslot = \"([a-z0-9_]+)\"")) ? match[1].str() : "";
  const std::string position =
      std::regex_search(text, match, std::regex("\nposition = \"([A-Za-z0-9_.]+)\"")) ? match[1].str() : "";
  EXPECT_EQ(!(pg() ? slot : position).empty(), log) << text;
  if (!pg()) {
    EXPECT_NE(planned.output.find("uses the Aria engine"), std::string::npos) << planned.output;
  }

  std::mutex mu;
  std::map<int64_t, int64_t> model;  // id -> v, what the application wrote
  for (int64_t id = 1; id <= 30000; ++id) model[id] = 0;
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::atomic<int> writes{0};
  std::string first_error;
  std::thread writer([&] {
    auto c = Connect("range_1");
    std::mt19937 rng(5);
    int64_t next = 1'000'000;
    while (!stop) {
      const int op = static_cast<int>(rng() % 3);
      const int64_t id = 1 + static_cast<int64_t>(rng() % 30000);
      try {
        std::lock_guard<std::mutex> hold(mu);
        if (op == 0) {
          ++next;
          c->Execute("INSERT INTO sst_shadow (id, v, code) VALUES (" + P(1) + ", 1, " + P(2) + ")",
                     {next, "w" + std::to_string(next)});
          model[next] = 1;
        } else if (op == 1) {
          if (c->Execute("UPDATE sst_shadow SET v = v + 1 WHERE id = " + P(1), {id}) > 0) ++model[id];
        } else {
          if (c->Execute("DELETE FROM sst_shadow WHERE id = " + P(1), {id}) > 0) model.erase(id);
        }
        ++writes;
      } catch (const db::Error& e) {
        if (errors++ == 0) first_error = e.what();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  // Killed in the backfill, with writes blocked, with the swap about to happen (MariaDB: the
  // rename queued behind the lock), and after the swap before it was recorded.
  for (const char* point : {"backfill.chunk:4", "cutover.blocked", "cutover.published", "step.ran:1"}) {
    CliRun killed = Run({"apply", plan}, {{"SHARDSHIFT_KILL_AT", point}});
    EXPECT_TRUE(killed.killed) << point << ": " << killed.output;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  CliRun finished = Run({"apply", plan});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // writes to the new table after the swap
  stop = true;
  writer.join();
  ASSERT_EQ(finished.rc, 0) << finished.output;
  EXPECT_EQ(errors, 0) << "the application saw errors, the first: " << first_error;
  EXPECT_GT(writes, 200);

  // The table under its own name now has the index, valid, and exactly the rows written.
  db::SchemaInfo schema = conn_->Introspect({"", "sst_shadow", false});
  ASSERT_EQ(schema.tables.size(), 1u);
  bool found = false;
  for (const db::IndexInfo& i : schema.tables[0].indexes) {
    EXPECT_TRUE(i.valid) << i.name;
    if (i.name != "sst_shadow_v_note") continue;
    found = true;
    ASSERT_EQ(i.columns.size(), 2u);
    EXPECT_EQ(i.columns[0].name, "v");
    EXPECT_EQ(i.columns[1].name, "id");
    EXPECT_TRUE(i.columns[1].descending);
  }
  EXPECT_TRUE(found) << "the new index is missing on the swapped-in table";
  std::map<int64_t, int64_t> have;
  for (const db::Row& r : conn_->Query("SELECT id, v FROM sst_shadow ORDER BY id").rows) {
    have[std::stoll(*r.at(0))] = std::stoll(*r.at(1));
  }
  EXPECT_EQ(have.size(), model.size());
  int shown = 0;
  for (const auto& [id, v] : model) {
    auto it = have.find(id);
    if (it == have.end() || it->second != v) {
      if (shown++ < 5) {
        ADD_FAILURE() << "id " << id << ": written v=" << v << ", table has "
                      << (it == have.end() ? std::string("no row") : std::to_string(it->second));
      }
    }
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM _ss_old_sst_shadow") > 0, true) << "the old table is kept until cleanup";
  CliRun verified = Run({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;

  CliRun cleaned = Run({"apply", "--cleanup", plan});
  ASSERT_EQ(cleaned.rc, 0) << cleaned.output;
  EXPECT_EQ(Count(pg() ? "SELECT COUNT(*) FROM pg_class WHERE relname = '_ss_old_sst_shadow' OR relname LIKE '\\_shardshift\\_log\\_sst\\_shadow%'"
                       : "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND (TABLE_NAME = "
                         "'_ss_old_sst_shadow' OR TABLE_NAME LIKE '\\_shardshift\\_log\\_sst\\_shadow%')"),
            0);
  if (!slot.empty()) {
    EXPECT_EQ(Count("SELECT COUNT(*) FROM pg_replication_slots WHERE slot_name = '" + slot + "'"), 0);
  }
  if (!position.empty()) {
    EXPECT_EQ(Count("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '" +
                    db::TableName::Parse(position).name + "'"),
              0);
  }
  // The key's sequence (PostgreSQL) or counter (MariaDB) still serves the application.
  conn_->Execute("INSERT INTO sst_shadow (v, code) VALUES (0, 'after')");
  EXPECT_GT(Count("SELECT MAX(id) FROM sst_shadow"), 30000);
}

TEST_P(ShadowIndexTest, RebuildsUnderWritesThroughKillsAndLosesNothing) { RebuildUnderWrites("auto"); }

TEST_P(ShadowIndexTest, RebuildsUnderWritesThroughKillsAndLosesNothingCapturedByTriggers) {
  RebuildUnderWrites("trigger");
}

TEST_P(ShadowIndexTest, RefusesWhatARebuildByNameCannotCarryOver) {
  conn_->Execute(Sql("CREATE TABLE sst_shadow (id bigint PRIMARY KEY, v int)",
                     "CREATE TABLE sst_shadow (id BIGINT PRIMARY KEY, v INT) ENGINE=InnoDB"));
  conn_->Execute(Sql("CREATE TABLE sst_shadow_child (id bigint PRIMARY KEY, parent bigint REFERENCES sst_shadow (id))",
                     "CREATE TABLE sst_shadow_child (id BIGINT PRIMARY KEY, parent BIGINT, FOREIGN KEY (parent) "
                     "REFERENCES sst_shadow (id)) ENGINE=InnoDB"));
  CliRun r = Run({"plan", Spec("columns = [\"v\"]\nbuild = \"shadow\"\n"), "-o", (dir_ / "plan.toml").string()});
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find("spec.toml:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("which references it"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "plan.toml"));
  if (!pg()) {
    // An Aria table asked to build online: refused, with the way that works.
    conn_->Execute("DROP TABLE sst_shadow_child");
    conn_->Execute("ALTER TABLE sst_shadow ENGINE=Aria");
    CliRun online = Run({"plan", Spec("columns = [\"v\"]\nbuild = \"online\"\n"), "-o", (dir_ / "plan.toml").string()});
    EXPECT_EQ(online.rc, 2) << online.output;
    EXPECT_NE(online.output.find("cannot add an index with LOCK=NONE"), std::string::npos) << online.output;
    EXPECT_NE(online.output.find("build = \"shadow\""), std::string::npos) << online.output;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, ShadowIndexTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
