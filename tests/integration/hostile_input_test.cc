// Names and files that must not hurt (issue 16), through the shardshift executable on both engines:
// a key column that takes a name of shardshift's own changelog is refused at plan time, naming it;
// a key column holding the capture function's dollar-quote tag is captured and moved like any other.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

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

INSTANTIATE_TEST_SUITE_P(Engines, HostileInputTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
