// Vertical splits through the shardshift executable, on both engines, while an application writes
// (inserts, updates of moved and of kept columns, deletes):
//   - same database: users -> users + two new tables (one with a renamed column), killed inside the
//     copy, the verification and the switch, resumed; the new tables equal the source's
//     projection; on PostgreSQL the compatibility view returns what the table did, also after the
//     contract dropped the moved columns;
//   - another database, without contract: the source keeps its columns;
//   - bad specs (a missing column, a column named twice, a key that is not unique) are refused.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>

#include <boost/process.hpp>

#include "db/error.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

namespace bp = boost::process;

class VerticalSplitTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sst-split-{}-{}", getpid(), pg() ? "pg" : "my");
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    src_ = Connect("range_0");
    other_ = Connect("range_1");
    Drop();
    src_->Execute(Sql("CREATE TABLE sst_users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL, "
                      "bio text, avatar bytea, prefs text, score numeric(20,5))",
                      "CREATE TABLE sst_users (id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, name "
                      "VARCHAR(100) NOT NULL, bio TEXT, avatar BLOB, prefs TEXT, score DECIMAL(20,5)) ENGINE=InnoDB"));
    src_->Execute(pg() ? "INSERT INTO sst_users SELECT g, 'u' || g || '@x', 'User ' || g, CASE WHEN g % 4 = 0 THEN NULL "
                         "ELSE 'bio é ' || g END, decode(md5(g::text), 'hex'), '{\"k\": ' || g || '}', g / 7.0 "
                         "FROM generate_series(1, 5000) g"
                       : "INSERT INTO sst_users SELECT seq, CONCAT('u', seq, '@x'), CONCAT('User ', seq), IF(seq % 4 = 0, "
                         "NULL, CONCAT('bio é ', seq)), UNHEX(MD5(seq)), CONCAT('{\"k\": ', seq, '}'), seq / 7.0 "
                         "FROM seq_1_to_5000");
  }
  void TearDown() override {
    StopWriter();
    if (src_ && src_->Usable()) Drop();
    std::filesystem::remove_all(dir_);
  }
  void Drop() {
    if (pg()) src_->Execute("DROP VIEW IF EXISTS sst_users_compat");
    for (db::Connection* c : {src_.get(), other_.get()}) {
      DropTestTables(*c, {"sst_mentions", "sst_profiles", "sst_prefs", "sst_users"});
    }
  }

  // The application: inserts, updates of moved and of kept columns, deletes.
  void StartWriter() {
    writer_ = std::thread([this] {
      auto c = Connect("range_0");
      std::mt19937 rng(7);
      int next = 100000;
      while (!stop_) {
        const int id = 1 + static_cast<int>(rng() % 5000);
        try {
          switch (rng() % 5) {
            case 0:
              ++next;
              c->Execute("INSERT INTO sst_users (id, email, name, bio, prefs, score) VALUES (" + P(1) + ", " + P(2) +
                             ", 'new', 'fresh bio', '{}', 1.5)",
                         {next, "n" + std::to_string(next) + "@x"});
              break;
            case 1:
              c->Execute("UPDATE sst_users SET bio = " + P(1) + ", avatar = NULL WHERE id = " + P(2),
                         {"changed " + std::to_string(rng()), id});
              break;
            case 2:
              c->Execute("UPDATE sst_users SET prefs = " + P(1) + ", score = score + 1 WHERE id = " + P(2),
                         {"{\"v\": " + std::to_string(rng() % 100) + "}", id});
              break;
            case 3:
              c->Execute("UPDATE sst_users SET name = " + P(1) + " WHERE id = " + P(2), {"Renamed", id});
              break;
            default:
              c->Execute("DELETE FROM sst_users WHERE id = " + P(1), {id});
          }
          ++writes_;
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        } catch (const db::Error& e) {
          if (e.kind() != db::ErrorKind::kUniqueViolation) throw;
        }
      }
    });
  }
  void StopWriter() {
    stop_ = true;
    if (writer_.joinable()) writer_.join();
  }

  std::string WriteSpec(const std::string& name, const std::string& body) {
    const std::string path = (dir_ / (name + ".toml")).string();
    std::ofstream(path) << body;
    return path;
  }
  CliRun Run(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"--config", TestConfigPath(), "--log-level", "warn"});
    return Shardshift(args, env);
  }
  std::vector<db::Row> Rows(db::Connection& c, const std::string& sql) { return c.Query(sql).rows; }
  // Plans the split of sst_users' bio and prefs into sst_profiles on database; the plan's path, or
  // "" when planning failed.
  std::string PlanProfiles(const std::string& file, const std::string& database) {
    const std::string name = fmt::format("sst-split-{}-{}-{}", file, getpid(),
                                         std::chrono::steady_clock::now().time_since_epoch().count());
    const std::string spec = WriteSpec(file, fmt::format(R"([migration]
name = "{}"
kind = "vertical_split"
[vertical_split]
database = "{}"
table = "sst_users"
key = ["id"]
[[vertical_split.tables]]
name = "sst_profiles"
database = "{}"
columns = ["bio", "prefs"]
)", name, Db("range_0"), database));
    const std::string plan = (dir_ / (file + ".plan.toml")).string();
    return Run({"plan", spec, "-o", plan}).rc == 0 ? plan : "";
  }

  std::filesystem::path dir_;
  std::unique_ptr<db::Connection> src_;
  std::unique_ptr<db::Connection> other_;
  std::thread writer_;
  std::atomic<bool> stop_{false};
  std::atomic<int> writes_{0};
};

TEST_P(VerticalSplitTest, SameDatabaseWithKillsCompatViewAndContract) {
  const std::string name = fmt::format("sst-split-same-{}-{}", getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
  const std::string spec = WriteSpec("same", fmt::format(R"([migration]
name = "{}"
kind = "vertical_split"
[options]
chunk_rows = 200
max_rows_per_second = 5000
[vertical_split]
database = "{}"
table = "sst_users"
key = ["id"]
keep = ["email", "name"]
contract = true
{}
[[vertical_split.tables]]
name = "sst_profiles"
columns = ["bio", "avatar"]
rename = {{ bio = "about" }}
indexes = [["about"]]
[[vertical_split.tables]]
name = "sst_prefs"
columns = ["prefs", "score"]
)", name, Db("range_0"), pg() ? "compat_view = \"sst_users_compat\"" : ""));
  const std::string plan = (dir_ / "same.plan.toml").string();
  CliRun planned = Run({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;

  StartWriter();
  for (const char* point : {"backfill.chunk:4", "verify.chunk:3"}) {
    CliRun killed = Run({"apply", plan}, {{"SHARDSHIFT_KILL_AT", point}});
    EXPECT_TRUE(killed.killed) << point << ": " << killed.output;
  }
  CliRun expanded = Run({"apply", "--until", "expand-complete", plan});
  ASSERT_EQ(expanded.rc, 0) << expanded.output;
  EXPECT_NE(expanded.output.find("expand complete"), std::string::npos) << expanded.output;
  EXPECT_NE(expanded.output.find("stopped before     switch"), std::string::npos) << expanded.output;
  CliRun live = Run({"verify", plan});  // no apply runs: it replays what is queued, then compares
  EXPECT_EQ(live.rc, 0) << live.output;

  // Kept current while the application reads them: `apply --until expand-complete --follow`
  // replays until interrupted.
  bp::ipstream follow_out;
  bp::child follow(SHARDSHIFT_BIN,
                   bp::args = {"--config", TestConfigPath(), "--log-level", "warn", "apply", "--until",
                               "expand-complete", "--follow", plan},
                   bp::std_out > follow_out, bp::std_err > bp::null);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  StopWriter();
  EXPECT_GT(writes_, 100);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // the last writes, replayed while following
  ::kill(follow.id(), SIGTERM);
  std::string follow_text, line;
  while (std::getline(follow_out, line)) follow_text += line + "\n";
  follow.wait();
  EXPECT_EQ(follow.exit_code(), 0) << follow_text;

  // The new tables equal the source's projection, and the view the table; then a kill inside the
  // switch leaves the source writable, and the next apply switches; apply --cleanup then stops
  // capture and contracts.
  const std::string original = "SELECT id, email, name, bio, avatar, prefs, score FROM sst_users ORDER BY id";
  std::vector<db::Row> before = Rows(*src_, original);
  EXPECT_EQ(Rows(*src_, "SELECT id, about, avatar FROM sst_profiles ORDER BY id"),
            Rows(*src_, "SELECT id, bio, avatar FROM sst_users ORDER BY id"));
  EXPECT_EQ(Rows(*src_, "SELECT id, prefs, score FROM sst_prefs ORDER BY id"),
            Rows(*src_, "SELECT id, prefs, score FROM sst_users ORDER BY id"));
  if (pg()) {
    EXPECT_EQ(Rows(*src_, "SELECT * FROM sst_users_compat ORDER BY id"), before);
  }
  CliRun killed = Run({"apply", plan}, {{"SHARDSHIFT_KILL_AT", "cutover.blocked"}});
  EXPECT_TRUE(killed.killed) << killed.output;
  src_->Execute("UPDATE sst_users SET name = 'after the kill' WHERE id = 2");  // writable again
  before = Rows(*src_, original);
  CliRun finished = Run({"apply", plan});
  ASSERT_EQ(finished.rc, 0) << finished.output;
  EXPECT_NE(finished.output.find("write-blocked"), std::string::npos) << finished.output;
  EXPECT_EQ(finished.output.find("routing map"), std::string::npos) << finished.output;
  EXPECT_NE(finished.output.find("apply --cleanup"), std::string::npos) << finished.output;
  // The window: nothing is dropped until cleanup, and verify compares the new tables with the
  // source's columns, which the way back keeps current.
  EXPECT_EQ(src_->Introspect({"", "sst_users", false}).tables.at(0).columns.size(), 7u) << "contracted before cleanup";
  CliRun window = Run({"verify", plan});
  EXPECT_EQ(window.rc, 0) << window.output;
  CliRun cleaned = Run({"apply", "--cleanup", plan});
  ASSERT_EQ(cleaned.rc, 0) << cleaned.output;
  EXPECT_NE(cleaned.output.find("contract." + Db("range_0")), std::string::npos) << cleaned.output;

  // Contracted: the moved columns are gone from the source, their values live in the new tables.
  std::vector<std::string> columns;
  const db::SchemaInfo contracted = src_->Introspect({"", "sst_users", false});
  for (const db::ColumnInfo& c : contracted.tables.at(0).columns) columns.push_back(c.name);
  EXPECT_EQ(columns, (std::vector<std::string>{"id", "email", "name"}));
  if (pg()) {
    EXPECT_EQ(Rows(*src_, "SELECT * FROM sst_users_compat ORDER BY id"), before);
  }
  std::vector<db::Row> joined = Rows(
      *src_, "SELECT u.id, u.email, u.name, p.about, p.avatar, q.prefs, q.score FROM sst_users u LEFT JOIN sst_profiles p "
             "ON p.id = u.id LEFT JOIN sst_prefs q ON q.id = u.id ORDER BY u.id");
  EXPECT_EQ(joined, before);
  // Not bad input: there is simply nothing left to compare, and verify says so (issue 16).
  CliRun after = Run({"verify", plan});
  EXPECT_EQ(after.rc, 0) << after.output;
  EXPECT_NE(after.output.find("nothing to compare: plan '"), std::string::npos) << after.output;
  EXPECT_NE(after.output.find("has switched and was cleaned up"), std::string::npos) << after.output;
}

TEST_P(VerticalSplitTest, OntoAnotherDatabaseWithoutContract) {
  const std::string name = fmt::format("sst-split-other-{}-{}", getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
  const std::string spec = WriteSpec("other", fmt::format(R"([migration]
name = "{}"
kind = "vertical_split"
[options]
chunk_rows = 300
[vertical_split]
database = "{}"
table = "sst_users"
key = ["id"]
[[vertical_split.tables]]
name = "sst_profiles"
database = "{}"
columns = ["bio", "avatar", "prefs"]
)", name, Db("range_0"), Db("range_1")));
  const std::string plan = (dir_ / "other.plan.toml").string();
  CliRun planned = Run({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  StartWriter();
  auto exists = [&](db::Connection& c, const std::string& table) {
    return !c.Query(pg() ? "SELECT 1 FROM pg_class WHERE relname = $1 AND relkind = 'r'"
                         : "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                    {table})
                .rows.empty();
  };
  const std::string changelog = db::TableName::Parse(PlanValues(plan, "changelog").at(0)).name;
  // The changelogs on each database before the run (other tests' runs may have left theirs).
  auto changelogs = [&](db::Connection& c) {
    db::ResultSet r = c.Query(pg() ? "SELECT relname AS t FROM pg_class WHERE relname LIKE '\\_shardshift\\_log%' AND relkind = 'r'"
                                   : "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                                     "AND TABLE_NAME LIKE '\\_shardshift\\_log%'");
    std::set<std::string> out;
    for (size_t i = 0; i < r.rows.size(); ++i) out.insert(r.Text(i, "t"));
    return out;
  };
  const std::set<std::string> src_changelogs = changelogs(*src_), other_changelogs = changelogs(*other_);
  {
    // Given up once expanded, with the application writing: the new table and the capture go, the
    // table keeps every row and column; the plan then starts over from nothing.
    CliRun expanded = Run({"apply", "--until", "expand-complete", plan});
    ASSERT_EQ(expanded.rc, 0) << expanded.output;
    ASSERT_TRUE(exists(*other_, "sst_profiles") && exists(*src_, changelog));
    CliRun abandoned = Run({"apply", "--abandon", plan});
    ASSERT_EQ(abandoned.rc, 0) << abandoned.output;
    EXPECT_NE(abandoned.output.find("abandoned plan"), std::string::npos) << abandoned.output;
    EXPECT_FALSE(exists(*other_, "sst_profiles")) << "abandon left the new table";
    EXPECT_FALSE(exists(*src_, changelog)) << "abandon left the changelog";
    EXPECT_EQ(src_->Introspect({"", "sst_users", false}).tables.at(0).columns.size(), 7u);
  }
  CliRun expanded = Run({"apply", "--until", "expand-complete", plan});
  ASSERT_EQ(expanded.rc, 0) << expanded.output;
  StopWriter();
  CliRun finished = Run({"apply", plan});
  ASSERT_EQ(finished.rc, 0) << finished.output;
  EXPECT_EQ(Rows(*other_, "SELECT id, bio, avatar, prefs FROM sst_profiles ORDER BY id"),
            Rows(*src_, "SELECT id, bio, avatar, prefs FROM sst_users ORDER BY id"));
  // No contract was asked for: the source keeps every column.
  EXPECT_EQ(src_->Introspect({"", "sst_users", false}).tables.at(0).columns.size(), 7u);
  // Cleanup ends the way back: nothing of the run is left on either database.
  CliRun cleaned = Run({"apply", "--cleanup", plan});
  ASSERT_EQ(cleaned.rc, 0) << cleaned.output;
  EXPECT_EQ(src_->Introspect({"", "sst_users", false}).tables.at(0).columns.size(), 7u);
  EXPECT_EQ(changelogs(*src_), src_changelogs) << "cleanup left a changelog on the source";
  EXPECT_EQ(changelogs(*other_), other_changelogs) << "cleanup left the way back's changelog on the new table's database";
}

TEST_P(VerticalSplitTest, BadSpecsAreRefusedClearly) {
  auto spec = [&](const std::string& name, const std::string& vs, const std::string& table) {
    return WriteSpec(name, fmt::format(R"([migration]
name = "bad"
kind = "vertical_split"
[vertical_split]
database = "{}"
table = "sst_users"
{}
[[vertical_split.tables]]
name = "sst_profiles"
{}
)", Db("range_0"), vs, table));
  };
  struct Case {
    std::string file;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {spec("missing", "key = [\"id\"]", "columns = [\"bio\", \"nickname\"]"),
       "missing.toml:10:11: field 'vertical_split.tables.columns': table sst_users has no column 'nickname'"},
      {spec("twice", "key = [\"id\"]\nkeep = [\"bio\"]", "columns = [\"bio\"]"),
       "twice.toml:11:11: field 'vertical_split.tables[0].columns': column 'bio' is named twice (kept and moved to "
       "sst_profiles)"},
      {spec("notunique", "key = [\"name\"]", "columns = [\"bio\"]"),
       "notunique.toml:7:7: field 'vertical_split.key': (name) is not the primary key or a unique key"},
      {spec("unnamed", "key = [\"id\"]\nkeep = [\"email\"]", "columns = [\"bio\"]"),
       "field 'vertical_split.keep': column(s) name, avatar, prefs, score of sst_users are neither kept nor moved"},
  };
  for (const Case& c : cases) {
    CliRun r = Run({"plan", c.file, "-o", (dir_ / "bad.plan.toml").string()});
    EXPECT_EQ(r.rc, 2) << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << "expected: " << c.expected << "\ngot: " << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "bad.plan.toml"));
  }
}

// Every step killed once right after it did its work, before it was recorded: the next apply does
// it again, and the end is the same.
TEST_P(VerticalSplitTest, EveryStepKilledAfterItsWorkIsRepeatedSafely) {
  const std::string name = fmt::format("sst-split-steps-{}-{}", getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
  const std::string spec = WriteSpec("steps", fmt::format(R"([migration]
name = "{}"
kind = "vertical_split"
[vertical_split]
database = "{}"
table = "sst_users"
key = ["id"]
contract = true
[[vertical_split.tables]]
name = "sst_profiles"
columns = ["bio", "avatar"]
[[vertical_split.tables]]
name = "sst_prefs"
database = "{}"
columns = ["prefs", "score"]
)", name, Db("range_0"), Db("range_1")));
  const std::string plan = (dir_ / "steps.plan.toml").string();
  ASSERT_EQ(Run({"plan", spec, "-o", plan}).rc, 0);
  const std::vector<db::Row> bio = Rows(*src_, "SELECT id, bio, avatar FROM sst_users ORDER BY id");
  const std::vector<db::Row> prefs = Rows(*src_, "SELECT id, prefs, score FROM sst_users ORDER BY id");
  int kills = 0;
  // The first apply dies after its first step; each later one repeats the step that died unrecorded
  // (its first pass) and dies after the next (its second).
  // Then the same with apply --cleanup, which ends the window.
  for (const bool cleanup : {false, true}) {
    for (int round = 0; round < 20; ++round) {
      std::vector<std::string> args = {"apply", plan};
      if (cleanup) args.insert(args.begin() + 1, "--cleanup");
      CliRun r = Run(args, {{"SHARDSHIFT_KILL_AT", round == 0 ? "step.ran:1" : "step.ran:2"}});
      if (!r.killed) {
        ASSERT_EQ(r.rc, 0) << r.output;
        break;
      }
      ++kills;
    }
    if (!cleanup) {
      EXPECT_EQ(kills, 8) << "create_table x2, capture, backfill, replay, verify, expand_complete, switch: each "
                             "killed once";
      EXPECT_EQ(src_->Introspect({"", "sst_users", false}).tables.at(0).columns.size(), 7u) << "contracted before "
                                                                                              "cleanup";
    }
  }
  EXPECT_EQ(kills, 12) << "and stop_capture, the way back's capture on each new table, contract";
  EXPECT_EQ(Rows(*src_, "SELECT id, bio, avatar FROM sst_profiles ORDER BY id"), bio);
  EXPECT_EQ(Rows(*other_, "SELECT id, prefs, score FROM sst_prefs ORDER BY id"), prefs);
  const db::SchemaInfo contracted = src_->Introspect({"", "sst_users", false});
  EXPECT_EQ(contracted.tables.at(0).columns.size(), 3u);
}

// A new table changed behind shardshift's back: verify names the key, apply stops at verification,
// and the moved columns are not dropped; once repaired, the contract goes ahead.
TEST_P(VerticalSplitTest, DifferenceIsNamedAndBlocksTheContract) {
  const std::string name = fmt::format("sst-split-tamper-{}-{}", getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
  const std::string spec = WriteSpec("tamper", fmt::format(R"([migration]
name = "{}"
kind = "vertical_split"
[vertical_split]
database = "{}"
table = "sst_users"
key = ["id"]
contract = true
[[vertical_split.tables]]
name = "sst_profiles"
database = "{}"
columns = ["bio"]
)", name, Db("range_0"), Db("range_1")));
  const std::string plan = (dir_ / "tamper.plan.toml").string();
  ASSERT_EQ(Run({"plan", spec, "-o", plan}).rc, 0);
  ASSERT_EQ(Run({"apply", "--until", "verify", plan}).rc, 0);
  // The new table is fenced until the switch: only a session that says it is shardshift's gets by.
  EXPECT_THROW(other_->Execute("UPDATE sst_profiles SET bio = 'tampered' WHERE id = 42"), db::Error);
  other_->Execute(pg() ? "SET shardshift.session = 'on'" : "SET @shardshift_session = 1");
  other_->Execute("UPDATE sst_profiles SET bio = 'tampered' WHERE id = 42");
  other_->Execute("DELETE FROM sst_profiles WHERE id = 43");
  CliRun verified = Run({"verify", plan});
  EXPECT_EQ(verified.rc, 1) << verified.output;
  EXPECT_NE(verified.output.find("key (42) differs (" + Db("range_1") + ":sst_profiles)"), std::string::npos) << verified.output;
  EXPECT_NE(verified.output.find("key (43) missing at target"), std::string::npos) << verified.output;
  CliRun stopped = Run({"apply", plan});
  EXPECT_EQ(stopped.rc, 1) << stopped.output;
  EXPECT_NE(stopped.output.find("verification failed"), std::string::npos) << stopped.output;
  EXPECT_EQ(src_->Introspect({"", "sst_users", false}).tables.at(0).columns.size(), 7u) << "contracted anyway";
  other_->Execute("UPDATE sst_profiles SET bio = 'bio é 42' WHERE id = 42");
  other_->Execute("INSERT INTO sst_profiles (id, bio) VALUES (43, 'bio é 43')");
  CliRun finished = Run({"apply", plan});
  ASSERT_EQ(finished.rc, 0) << finished.output;
  CliRun cleaned = Run({"apply", "--cleanup", plan});
  ASSERT_EQ(cleaned.rc, 0) << cleaned.output;
  EXPECT_EQ(src_->Introspect({"", "sst_users", false}).tables.at(0).columns.size(), 6u);
}

// After the switch the application inserts rows into the table with its kept columns only (their
// moved columns go to the new table, or nowhere): the table then has keys the new table lacks,
// which a reader of the split sees as "no value" either way. `verify` in the window, with that
// writer running, must not call them missing; a moved value that is really missing from the new
// table is still named.
// The expand's verification compares for as long as the table takes. Writes made meanwhile reach
// the new table as they come: they are not left queued for the switch to catch up with (under a
// writer, a 500k-row comparison once left 319,000 changes behind it). The run is paused after its
// first segment compared equal; rows of that segment are changed, and the new table must have
// them while the run still stands there.
TEST_P(VerticalSplitTest, TheNewTableKeepsUpWhileTheExpandVerifies) {
  const std::string plan = PlanProfiles("verifying", Db("range_0"));
  ASSERT_FALSE(plan.empty());
  const std::string pause = (dir_ / "pause").string();
  AtScopeExit resume{[&] { std::filesystem::remove(pause); }};
  std::future<CliRun> expand = std::async(std::launch::async, [&] {
    return Run({"apply", "--until", "expand-complete", plan},
               {{"SHARDSHIFT_PAUSE_AT", "verify.chunk:1"}, {"SHARDSHIFT_PAUSE_FILE", pause}});
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(pause) && std::chrono::steady_clock::now() < deadline &&
         expand.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
  }
  ASSERT_TRUE(std::filesystem::exists(pause)) << "the run never reached its verification";
  for (int id = 1; id <= 20; ++id) {
    src_->Execute("UPDATE sst_users SET bio = " + P(1) + " WHERE id = " + P(2), {"while verifying", id});
  }
  const std::string changed = "SELECT COUNT(*) FROM sst_profiles WHERE bio = 'while verifying'";
  int64_t seen = 0;
  for (int i = 0; i < 200 && seen < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen = std::stoll(src_->Query(changed).rows.at(0).at(0).value_or("0"));
  }
  std::filesystem::remove(pause);
  CliRun expanded = expand.get();
  ASSERT_EQ(expanded.rc, 0) << expanded.output;
  EXPECT_EQ(seen, 20) << "the writes made while the verification ran did not reach the new table until it ended";
  EXPECT_EQ(Rows(*src_, "SELECT id, bio, prefs FROM sst_profiles ORDER BY id"),
            Rows(*src_, "SELECT id, bio, prefs FROM sst_users ORDER BY id"));
}

TEST_P(VerticalSplitTest, RowsInsertedWithoutMovedColumnsInTheWindowAreNoDifference) {
  const std::string plan = PlanProfiles("window", Db("range_1"));
  ASSERT_FALSE(plan.empty());
  ASSERT_EQ(Run({"apply", "--until", "verify", plan}).rc, 0);
  // Kept-column writes from before the switch until after the window's verify: inserts without the
  // moved columns and renames.
  std::atomic<int> inserted{0};
  std::string failure;
  std::thread kept([&] {
    auto c = Connect("range_0");
    for (int id = 300001; !stop_; ++id) {
      try {
        c->Execute("INSERT INTO sst_users (id, email, name) VALUES (" + P(1) + ", " + P(2) + ", 'kept only')",
                   {id, "k" + std::to_string(id) + "@x"});
        c->Execute("UPDATE sst_users SET name = " + P(1) + " WHERE id = " + P(2), {"Renamed " + std::to_string(id), id - 300000});
        ++inserted;
      } catch (const db::Error& e) {
        if (failure.empty()) failure = e.what();  // the fence must let kept-column writes by
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CliRun switched = Run({"apply", plan});
  const int at_switch = inserted.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CliRun verified = Run({"verify", "--full", plan});
  stop_ = true;
  kept.join();
  ASSERT_EQ(switched.rc, 0) << switched.output;
  EXPECT_EQ(failure, "");
  const int after = inserted.load() - at_switch;
  EXPECT_GT(after, 50) << "the writer hardly ran after the switch";
  const int64_t lacking = std::stoll(src_->Query("SELECT COUNT(*) AS n FROM sst_users WHERE id > 300000").Text(0, "n")) -
                          std::stoll(other_->Query("SELECT COUNT(*) AS n FROM sst_profiles WHERE id > 300000").Text(0, "n"));
  EXPECT_GT(lacking, 50) << "every inserted row has a new-table row: the case is not exercised";
  EXPECT_EQ(verified.rc, 0) << verified.output;
  EXPECT_EQ(verified.output.find("missing at target"), std::string::npos) << verified.output;
  // A moved value the new table lost (deleted there by a session the fence lets by) is still named.
  other_->Execute(pg() ? "SET shardshift.session = 'on'" : "SET @shardshift_session = 1");
  other_->Execute("DELETE FROM sst_profiles WHERE id = 42");
  CliRun tampered = Run({"verify", "--full", plan});
  EXPECT_EQ(tampered.rc, 1) << tampered.output;
  EXPECT_NE(tampered.output.find("key (42) missing at target"), std::string::npos) << tampered.output;
  // Put back, and a value the application writes to the new table (a row copied before the switch
  // with no value) flows back and compares equal.
  other_->Execute("INSERT INTO sst_profiles (id, bio, prefs) VALUES (42, 'bio é 42', '{\"k\": 42}')");
  other_->Execute(pg() ? "RESET shardshift.session" : "SET @shardshift_session = NULL");
  other_->Execute("UPDATE sst_profiles SET bio = 'written after the switch' WHERE id = 300001");
  CliRun again = Run({"verify", "--full", plan});
  EXPECT_EQ(again.rc, 0) << again.output;
  EXPECT_EQ(src_->Query("SELECT bio FROM sst_users WHERE id = 300001").Text(0, "bio"), "written after the switch");
  ASSERT_EQ(Run({"apply", "--cleanup", plan}).rc, 0);
}

TEST_P(VerticalSplitTest, ForeignKeysOnMovedColumnsAreRefusedUnlessTheSpecSaysSo) {
  src_->Execute(Sql("CREATE TABLE sst_mentions (id bigint PRIMARY KEY, email text NOT NULL REFERENCES sst_users (email))",
                    "CREATE TABLE sst_mentions (id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL, CONSTRAINT "
                    "sst_mentions_email_fkey FOREIGN KEY (email) REFERENCES sst_users (email)) ENGINE=InnoDB"));
  auto spec = [&](const std::string& file, const std::string& policy) {
    return WriteSpec(file, fmt::format(R"([migration]
name = "fk-{}"
kind = "vertical_split"
[vertical_split]
database = "{}"
table = "sst_users"
key = ["id"]
{}
[[vertical_split.tables]]
name = "sst_profiles"
columns = ["email", "bio"]
)", file, Db("range_0"), policy));
  };
  CliRun refused = Run({"plan", spec("fk_refuse", ""), "-o", (dir_ / "fk.plan.toml").string()});
  EXPECT_EQ(refused.rc, 2) << refused.output;
  EXPECT_NE(refused.output.find("foreign keys involve moved columns: sst_mentions_email_fkey on sst_mentions (email) -> "
                                "sst_users (email)"),
            std::string::npos)
      << refused.output;
  CliRun allowed = Run({"plan", spec("fk_drop", "foreign_keys = \"drop_at_contract\""), "-o",
                        (dir_ / "fk.plan.toml").string()});
  EXPECT_EQ(allowed.rc, 0) << allowed.output;
  EXPECT_NE(allowed.output.find("is dropped at contract"), std::string::npos) << allowed.output;
}

INSTANTIATE_TEST_SUITE_P(Engines, VerticalSplitTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
