// Directory routing (issue 22), both engines: a table hash-sharded by tenant over two shards (each
// row placed by xxh64-jump-v1, as an application routing by the map does) gets a directory with a
// reshard spec whose target layout is `directory`. The plan moves no row; apply (killed once after
// its first step) creates the directory; afterwards every tenant's rows, read back row by row,
// route by the directory to the shard that holds them, `verify` agrees, and a row written to the
// wrong shard is named by `verify`. The same over two range shards; a second plan with another
// layout into the same directory is refused, as is a spec asking for other shards.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "planner/directory_sql.h"
#include "plans/directory.h"
#include "plans/routing.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class DirectoryTest : public EngineTest {
 protected:
  static std::string Name(const std::string& what) {
    return fmt::format("sst-dir-{}-{}-{}", what, getpid(),
                       std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  }
  void CreateTable(db::Connection& c) {
    c.Execute(std::string("CREATE TABLE sst_dir_orders (tenant_id bigint NOT NULL, id bigint NOT NULL, note varchar(40) "
                          "NOT NULL, PRIMARY KEY (tenant_id, id))") + (pg() ? "" : " ENGINE=InnoDB"));
  }
  // The directory's two tables on the app database, dropped before and after.
  struct DropDirectory {
    db::Connection& c;
    void Drop() {
      c.Execute("DROP TABLE IF EXISTS sst_dir_directory_layout");
      c.Execute("DROP TABLE IF EXISTS sst_dir_directory");
    }
    explicit DropDirectory(db::Connection& conn) : c(conn) { Drop(); }
    ~DropDirectory() {
      try {
        Drop();
      } catch (...) {  // NOLINT: best effort in a destructor
      }
    }
  };
  std::string Spec(const std::string& name, const std::string& source) {
    return fmt::format(R"([migration]
name = "{}"
kind = "reshard"

[reshard]
table = "sst_dir_orders"
key = ["tenant_id", "id"]
shard_by = ["tenant_id"]

{}

[reshard.target]
layout = "directory"

[reshard.target.directory]
database = "{}"
table = "sst_dir_directory"
)",
                       name, source, Db("app"));
  }
  // Every row of sst_dir_orders on each shard: does the directory route its tenant there?
  void ExpectEveryRowRoutedWhereItIs(const std::vector<std::string>& shards, int64_t want_rows) {
    auto app = Connect("app");
    const plans::Directory dir = planner::ReadDirectory(*app, db::TableName{"", "sst_dir_directory"}, Db("app"));
    int64_t rows = 0;
    for (const std::string& shard : shards) {
      auto c = Connect(shard);
      db::ResultSet r = c->Query("SELECT tenant_id FROM sst_dir_orders");
      for (size_t i = 0; i < r.rows.size(); ++i) {
        ++rows;
        const std::string tenant = r.Text(i, "tenant_id");
        ASSERT_EQ(dir.ShardOf(tenant).value_or("(none)"), Db(shard)) << "tenant " << tenant;
      }
    }
    EXPECT_EQ(rows, want_rows);
  }
};

TEST_P(DirectoryTest, CreatedOverAHashLayoutRoutesEveryKeyWhereItIs) {
  auto s0 = Connect("hash_0");
  auto s1 = Connect("hash_1");
  auto app = Connect("app");
  DropTable d0(*s0, "sst_dir_orders");
  DropTable d1(*s1, "sst_dir_orders");
  DropDirectory dd(*app);
  CreateTable(*s0);
  CreateTable(*s1);
  // 300 tenants, 4 rows each, each on the shard xxh64-jump-v1 gives it.
  int64_t rows = 0;
  for (int tenant = 1; tenant <= 300; ++tenant) {
    db::Connection& c = plans::ShardForKey({std::to_string(tenant)}, 2) == 0 ? *s0 : *s1;
    for (int id = 1; id <= 4; ++id, ++rows) {
      c.Execute(fmt::format("INSERT INTO sst_dir_orders VALUES ({}, {}, 'n')", tenant, id));
    }
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / Name("hash");
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  const std::string source =
      fmt::format("[reshard.source]\nlayout = \"hash\"\ndatabases = [\"{}\", \"{}\"]", Db("hash_0"), Db("hash_1"));
  std::ofstream(spec) << Spec(Name("hash"), source);
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  EXPECT_EQ(PlanValues(plan, "id"), (std::vector<std::string>{"create_directory", "check_directory"}));

  // Killed after creating the directory, before recording it: the next apply repeats it and checks.
  CliRun killed = Shardshift({"--config", TestConfigPath(), "apply", plan}, {{"SHARDSHIFT_KILL_AT", "step.ran"}});
  EXPECT_TRUE(killed.killed) << killed.output;
  CliRun applied = Shardshift({"--config", TestConfigPath(), "apply", plan});
  ASSERT_EQ(applied.rc, 0) << applied.output;
  EXPECT_NE(applied.output.find("directory check    300 key(s), each routed to the shard that holds it"),
            std::string::npos)
      << applied.output;
  // No row moved, and every tenant routes where its rows are.
  ExpectEveryRowRoutedWhereItIs({"hash_0", "hash_1"}, rows);
  CliRun verified = Shardshift({"--config", TestConfigPath(), "verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;

  // A listed tenant routes by its entry; one written to the wrong shard is named.
  app->Execute(fmt::format("INSERT INTO sst_dir_directory (shard_key, shard) VALUES ('5', '{}')", Db("hash_0")));
  db::Connection& home5 = plans::ShardForKey({"5"}, 2) == 0 ? *s0 : *s1;
  if (&home5 == s1.get()) {
    CliRun wrong = Shardshift({"--config", TestConfigPath(), "verify", plan});
    EXPECT_EQ(wrong.rc, 1) << wrong.output;
    EXPECT_NE(wrong.output.find("tenant_id 5 is on " + Db("hash_1") + " but the directory routes it to " + Db("hash_0")),
              std::string::npos)
        << wrong.output;
  }
  app->Execute("DELETE FROM sst_dir_directory WHERE shard_key = '5'");
  const int stray = plans::ShardForKey({"7"}, 2) == 0 ? 1 : 0;  // tenant 7 on the other shard
  (stray == 0 ? *s0 : *s1).Execute("INSERT INTO sst_dir_orders VALUES (7, 99, 'stray')");
  CliRun stray_run = Shardshift({"--config", TestConfigPath(), "verify", plan});
  EXPECT_EQ(stray_run.rc, 1) << stray_run.output;
  EXPECT_NE(stray_run.output.find("tenant_id 7 is on " + Db(stray == 0 ? "hash_0" : "hash_1")), std::string::npos)
      << stray_run.output;

  // Another layout into the same directory is refused, naming it; so are other target shards.
  const std::string spec2 = (dir / "spec2.toml").string();
  std::ofstream(spec2) << Spec(Name("other"), fmt::format("[reshard.source]\nlayout = \"single\"\ndatabase = \"{}\"",
                                                          Db("hash_0")));
  CliRun other = Shardshift({"--config", TestConfigPath(), "plan", spec2, "-o", (dir / "plan2.toml").string()});
  EXPECT_EQ(other.rc, 2) << other.output;
  EXPECT_NE(other.output.find("already has directory sst_dir_directory"), std::string::npos) << other.output;
  std::ofstream(spec2) << fmt::format(R"([migration]
name = "x"
kind = "reshard"
[reshard]
table = "sst_dir_orders"
key = ["tenant_id", "id"]
shard_by = ["tenant_id"]
[reshard.source]
layout = "hash"
databases = ["{0}", "{1}"]
[reshard.target]
layout = "directory"
databases = ["{0}", "{2}"]
[reshard.target.directory]
database = "{3}"
)",
                                      Db("hash_0"), Db("hash_1"), Db("hash_2"), Db("app"));
  CliRun moved = Shardshift({"--config", TestConfigPath(), "plan", spec2, "-o", (dir / "plan2.toml").string()});
  EXPECT_EQ(moved.rc, 2) << moved.output;
  EXPECT_NE(moved.output.find("reshard.target.databases"), std::string::npos) << moved.output;
  EXPECT_NE(moved.output.find(spec2 + ":13"), std::string::npos) << "names the file and line: " << moved.output;
  std::filesystem::remove_all(dir);
}

TEST_P(DirectoryTest, CreatedOverRangeShardsRoutesEveryKeyWhereItIs) {
  auto s0 = Connect("range_0");
  auto s1 = Connect("range_1");
  auto app = Connect("app");
  DropTable d0(*s0, "sst_dir_orders");
  DropTable d1(*s1, "sst_dir_orders");
  DropDirectory dd(*app);
  // A range layout keyed by tenant alone (the directory's range rule compares one integer column).
  for (db::Connection* c : {s0.get(), s1.get()}) {
    c->Execute(std::string("CREATE TABLE sst_dir_orders (tenant_id bigint PRIMARY KEY, note varchar(40) NOT NULL)") +
               (pg() ? "" : " ENGINE=InnoDB"));
  }
  for (int tenant = -50; tenant < 250; ++tenant) {
    (tenant < 100 ? *s0 : *s1).Execute(fmt::format("INSERT INTO sst_dir_orders VALUES ({}, 'n')", tenant));
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / Name("range");
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  std::string text = Spec(Name("range"), fmt::format(R"([reshard.source]
layout = "range"
[[reshard.source.shards]]
database = "{}"
to = 100
[[reshard.source.shards]]
database = "{}"
from = 100)",
                                                     Db("range_0"), Db("range_1")));
  // The table's key is tenant_id alone.
  text.replace(text.find("key = [\"tenant_id\", \"id\"]"), std::string("key = [\"tenant_id\", \"id\"]").size(),
               "key = [\"tenant_id\"]");
  std::ofstream(spec) << text;
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  CliRun applied = Shardshift({"--config", TestConfigPath(), "apply", plan});
  ASSERT_EQ(applied.rc, 0) << applied.output;
  ExpectEveryRowRoutedWhereItIs({"range_0", "range_1"}, 300);
  const plans::Directory d = planner::ReadDirectory(*app, db::TableName{"", "sst_dir_directory"}, Db("app"));
  EXPECT_EQ(d.layout.rule, "range");
  EXPECT_EQ(d.ShardOf("99"), Db("range_0"));
  EXPECT_EQ(d.ShardOf("100"), Db("range_1"));
  EXPECT_EQ(d.ShardOf("-9223372036854775808"), Db("range_0"));
  CliRun status = Shardshift({"--config", TestConfigPath(), "status", plan});
  EXPECT_EQ(status.rc, 0) << status.output;
  EXPECT_NE(status.output.find("done"), std::string::npos) << status.output;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Engines, DirectoryTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
