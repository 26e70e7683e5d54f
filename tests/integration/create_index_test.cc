// Index builds on three shards through the shardshift executable, on both engines, while an
// application writes to every shard: each shard ends with a valid index of the asked shape and the
// writer saw no error; a build killed midway resumes and leaves no invalid index behind; what an
// engine cannot build is refused with what it can build instead.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "db/error.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class CreateIndexTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sst-index-{}-{}", getpid(), pg() ? "pg" : "my");
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    for (const char* base : {"hash_0", "hash_1", "hash_2"}) {
      shards_.push_back(Connect(base));
      db::Connection& c = *shards_.back();
      c.Execute("DROP TABLE IF EXISTS sst_events");
      c.Execute(Sql("CREATE TABLE sst_events (id bigint PRIMARY KEY, status text NOT NULL, created_at timestamp NOT NULL, "
                    "email text, payload text)",
                    "CREATE TABLE sst_events (id BIGINT PRIMARY KEY, status VARCHAR(16) NOT NULL, created_at DATETIME(6) "
                    "NOT NULL, email VARCHAR(100), payload TEXT) ENGINE=InnoDB"));
      c.Execute(pg() ? "INSERT INTO sst_events SELECT g, CASE WHEN g % 10 = 0 THEN 'active' ELSE 'done' END, "
                       "timestamp '2026-01-01' + g * interval '1 second', 'e' || g || '@x', repeat('p', 50) "
                       "FROM generate_series(1, 200000) g"
                     : "INSERT INTO sst_events SELECT seq, IF(seq % 10 = 0, 'active', 'done'), TIMESTAMP '2026-01-01 00:00:00' "
                       "+ INTERVAL seq SECOND, CONCAT('e', seq, '@x'), REPEAT('p', 50) FROM seq_1_to_200000");
    }
  }
  void TearDown() override {
    for (auto& c : shards_) {
      if (c->Usable()) c->Execute("DROP TABLE IF EXISTS sst_events");
    }
    std::filesystem::remove_all(dir_);
  }
  CliRun Run(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"--config", TestConfigPath(), "--log-level", "warn"});
    return Shardshift(args, env);
  }
  std::string Spec(const std::string& file, const std::string& indexes) {
    const std::string path = (dir_ / file).string();
    std::ofstream(path) << fmt::format(R"([migration]
name = "sst-index-{}-{}"
kind = "create_index"
[create_index]
databases = ["{}", "{}", "{}"]
parallel = 2
{}
)", getpid(), std::chrono::steady_clock::now().time_since_epoch().count(), Db("hash_0"), Db("hash_1"), Db("hash_2"), indexes);
    return path;
  }
  const db::IndexInfo* Find(db::SchemaInfo& schema, const std::string& name) {
    for (const db::IndexInfo& i : schema.tables.at(0).indexes) {
      if (i.name == name) return &i;
    }
    return nullptr;
  }

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<db::Connection>> shards_;
};

TEST_P(CreateIndexTest, BuildsOnEveryShardWhileAWriterRunsAndResumesAfterAKill) {
  std::string indexes = R"([[create_index.indexes]]
table = "sst_events"
name = "sst_events_status_created"
columns = ["status", "created_at DESC"]
)";
  if (pg()) {
    indexes += R"([[create_index.indexes]]
table = "sst_events"
name = "sst_events_active_email"
columns = ["email"]
include = ["created_at"]
where = "status = 'active'"
)";
  }
  const std::string plan = (dir_ / "plan.toml").string();
  CliRun planned = Run({"plan", Spec("spec.toml", indexes), "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;

  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::atomic<int> writes{0};
  std::vector<std::thread> writers;
  for (const char* base : {"hash_0", "hash_1", "hash_2"}) {
    writers.emplace_back([&, base] {
      auto c = Connect(base);
      std::mt19937 rng(11);
      int next = 1'000'000;
      while (!stop) {
        try {
          if (rng() % 2) {
            c->Execute("INSERT INTO sst_events (id, status, created_at, email) VALUES (" + P(1) + ", 'active', " +
                           Sql("now()", "NOW(6)") + ", 'w@x')",
                       {++next});
          } else {
            c->Execute("UPDATE sst_events SET status = 'active' WHERE id = " + P(1), {1 + static_cast<int>(rng() % 200000)});
          }
          ++writes;
        } catch (const db::Error& e) {
          ++errors;
        }
      }
    });
  }
  // Killed while a build runs; on PostgreSQL the build dies with it and leaves an invalid index.
  CliRun killed = Run({"apply", plan}, {{"SHARDSHIFT_KILL_AT", "build_index.running"}});
  EXPECT_TRUE(killed.killed) << killed.output;
  if (pg()) {
    // The build's session notices its client is gone (client_connection_check_interval) and stops,
    // leaving the index invalid: what the next apply must clean up.
    int invalid = 0;
    for (int i = 0; i < 50 && invalid == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      invalid = 0;
      for (auto& c : shards_) {
        invalid += std::stoi(c->Query("SELECT COUNT(*) AS n FROM pg_index WHERE NOT indisvalid AND indrelid = "
                                      "'sst_events'::regclass").Text(0, "n"));
      }
    }
    EXPECT_GE(invalid, 1) << "the killed build left no invalid index to clean up";
  }
  CliRun finished = Run({"apply", plan});
  stop = true;
  for (std::thread& t : writers) t.join();
  ASSERT_EQ(finished.rc, 0) << finished.output;
  EXPECT_EQ(errors, 0) << "the application saw errors during the builds";
  EXPECT_GT(writes, 100);

  for (auto& c : shards_) {
    db::SchemaInfo schema = c->Introspect({"", "sst_events", false});
    const db::IndexInfo* compound = Find(schema, "sst_events_status_created");
    ASSERT_NE(compound, nullptr) << c->name();
    EXPECT_TRUE(compound->valid);
    ASSERT_EQ(compound->columns.size(), 2u);
    EXPECT_EQ(compound->columns[0].name, "status");
    EXPECT_EQ(compound->columns[1].name, "created_at");
    EXPECT_TRUE(compound->columns[1].descending);
    if (pg()) {
      const db::IndexInfo* partial = Find(schema, "sst_events_active_email");
      ASSERT_NE(partial, nullptr) << c->name();
      EXPECT_TRUE(partial->valid);
      EXPECT_EQ(partial->include, std::vector<std::string>{"created_at"});
      EXPECT_NE(partial->predicate.find("active"), std::string::npos) << partial->predicate;
      for (const db::IndexInfo& i : schema.tables.at(0).indexes) EXPECT_TRUE(i.valid) << i.name << " left invalid";
    }
  }
  CliRun verified = Run({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
  // An index dropped behind its back is reported.
  shards_[1]->Execute(pg() ? "DROP INDEX sst_events_status_created" : "DROP INDEX sst_events_status_created ON sst_events");
  CliRun missing = Run({"verify", plan});
  EXPECT_EQ(missing.rc, 1) << missing.output;
  EXPECT_NE(missing.output.find(Db("hash_1") + ": index sst_events_status_created is missing"), std::string::npos)
      << missing.output;
}

// The whole path: advice on one shard, its spec for all three, planned and applied while writers
// run on every shard; each shard ends with the advised index, valid, and the writers saw no error.
TEST_P(CreateIndexTest, AdviceBecomesASpecAppliedOnThreeShardsUnderWrites) {
  // The advice here is an unindexed foreign key, which exists on PostgreSQL only (InnoDB indexes
  // foreign keys itself): on MariaDB nothing is advised, and no spec with nothing to build is written.
  if (!pg()) {
    CliRun r = Run({"advise", "index", "--db", Db("hash_0"), "--table", "sst_events", "--emit-spec",
                    (dir_ / "advice.toml").string()});
    EXPECT_EQ(r.rc, 0) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "advice.toml")) << "a spec with nothing to build was written";
    return;
  }
  for (auto& c : shards_) {
    c->Execute("DROP TABLE IF EXISTS sst_event_kinds");
    c->Execute("CREATE TABLE sst_event_kinds (status text PRIMARY KEY)");
    c->Execute("INSERT INTO sst_event_kinds VALUES ('active'), ('done')");
    c->Execute("ALTER TABLE sst_events ADD FOREIGN KEY (status) REFERENCES sst_event_kinds (status)");
  }
  const std::string spec = (dir_ / "advice.toml").string();
  CliRun advised = Run({"advise", "index", "--db", Db("hash_0"), "--table", "sst_events", "--emit-spec", spec, "--shards",
                        Db("hash_0") + "," + Db("hash_1") + "," + Db("hash_2")});
  ASSERT_EQ(advised.rc, 0) << advised.output;
  EXPECT_NE(advised.output.find("missing_fk_index sst_events_status_idx"), std::string::npos) << advised.output;
  const std::string plan = (dir_ / "advice.plan.toml").string();
  CliRun planned = Run({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> writers;
  for (const char* base : {"hash_0", "hash_1", "hash_2"}) {
    writers.emplace_back([&, base] {
      auto c = Connect(base);
      int next = 2'000'000;
      while (!stop) {
        try {
          c->Execute("INSERT INTO sst_events (id, status, created_at) VALUES ($1, 'done', now())", {++next});
        } catch (const db::Error&) {
          ++errors;
        }
      }
    });
  }
  CliRun applied = Run({"apply", plan});
  stop = true;
  for (std::thread& t : writers) t.join();
  ASSERT_EQ(applied.rc, 0) << applied.output;
  EXPECT_EQ(errors, 0);
  for (auto& c : shards_) {
    db::SchemaInfo schema = c->Introspect({"", "sst_events", false});
    const db::IndexInfo* idx = Find(schema, "sst_events_status_idx");
    ASSERT_NE(idx, nullptr) << c->name();
    EXPECT_TRUE(idx->valid);
  }
  for (auto& c : shards_) {
    c->Execute("DROP TABLE IF EXISTS sst_events");
    c->Execute("DROP TABLE IF EXISTS sst_event_kinds");
  }
}

// Drops: PostgreSQL drops concurrently; MariaDB makes the index IGNORED first and drops it at
// --cleanup. An index backing a constraint is refused.
TEST_P(CreateIndexTest, DropsConcurrentlyOrIgnoredFirst) {
  for (auto& c : shards_) c->Execute("CREATE INDEX sst_events_email ON sst_events (email)");
  const std::string plan = (dir_ / "drop.plan.toml").string();
  CliRun planned = Run({"plan", Spec("drop.toml", R"([[create_index.drops]]
table = "sst_events"
name = "sst_events_email"
)"), "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  CliRun applied = Run({"apply", plan});
  ASSERT_EQ(applied.rc, 0) << applied.output;
  auto present = [&](db::Connection& c) {
    db::SchemaInfo schema = c.Introspect({"", "sst_events", false});
    return Find(schema, "sst_events_email") != nullptr;
  };
  for (auto& c : shards_) {
    if (pg()) {
      EXPECT_FALSE(present(*c)) << c->name();
    } else {
      EXPECT_TRUE(present(*c)) << c->name() << ": dropped before --cleanup";
      EXPECT_EQ(c->Query("SELECT IGNORED AS i FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND "
                         "TABLE_NAME = 'sst_events' AND INDEX_NAME = 'sst_events_email'").Text(0, "i"), "YES");
    }
  }
  if (!pg()) {
    EXPECT_NE(applied.output.find("cleanup"), std::string::npos) << applied.output;
    CliRun cleaned = Run({"apply", "--cleanup", plan});
    ASSERT_EQ(cleaned.rc, 0) << cleaned.output;
    for (auto& c : shards_) EXPECT_FALSE(present(*c)) << c->name();
  }
  const std::string pk = pg() ? "sst_events_pkey" : "PRIMARY";
  CliRun refused = Run({"plan", Spec("drop_pk.toml", "[[create_index.drops]]\ntable = \"sst_events\"\nname = \"" + pk + "\"\n"),
                        "-o", (dir_ / "p.toml").string()});
  EXPECT_EQ(refused.rc, 2) << refused.output;
  EXPECT_NE(refused.output.find("backs a primary key constraint"), std::string::npos) << refused.output;
}

TEST_P(CreateIndexTest, WhatTheEngineCannotBuildIsRefusedWithAnAlternative) {
  const std::string spec = Spec("partial.toml", R"([[create_index.indexes]]
table = "sst_events"
columns = ["email"]
include = ["created_at"]
)");
  CliRun r = Run({"plan", spec, "-o", (dir_ / "p.toml").string()});
  // An expression key part: PostgreSQL checks the columns it names; MariaDB cannot index one.
  CliRun expression = Run({"plan", Spec("expr.toml", R"x([[create_index.indexes]]
table = "sst_events"
columns = ["(lower(nope))"]
)x"), "-o", (dir_ / "p.toml").string()});
  EXPECT_EQ(expression.rc, 2) << expression.output;
  EXPECT_NE(expression.output.find(pg() ? "field 'create_index.indexes.columns': table sst_events on '" + Db("hash_0") +
                                              "' has no column 'nope'"
                                        : "field 'create_index.indexes.columns': MariaDB 10.11 cannot index an "
                                          "expression ('lower(nope)'): add a virtual column"),
            std::string::npos)
      << expression.output;
  if (pg()) {
    EXPECT_EQ(r.rc, 0) << r.output;
    CliRun unparsed = Run({"plan", Spec("unparsed.toml", R"x([[create_index.indexes]]
table = "sst_events"
columns = ["(lower(email) +)"]
)x"), "-o", (dir_ / "p.toml").string()});
    EXPECT_EQ(unparsed.rc, 2) << unparsed.output;
    EXPECT_NE(unparsed.output.find("the expression (lower(email) +) does not parse: syntax error"), std::string::npos)
        << unparsed.output;
    return;
  }
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find("field 'create_index.indexes.include': MariaDB has no INCLUDE columns: to cover the query, "
                          "append them as key columns, columns = [\"email\", \"created_at\"]"),
            std::string::npos)
      << r.output;
  CliRun missing = Run({"plan", Spec("missing.toml", R"([[create_index.indexes]]
table = "sst_events"
columns = ["nope"]
)"), "-o", (dir_ / "p.toml").string()});
  EXPECT_EQ(missing.rc, 2) << missing.output;
  EXPECT_NE(missing.output.find("table sst_events on '" + Db("hash_0") + "' has no column 'nope'"), std::string::npos)
      << missing.output;
}

INSTANTIATE_TEST_SUITE_P(Engines, CreateIndexTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
