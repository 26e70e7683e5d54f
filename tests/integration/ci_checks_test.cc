// What a CI pipeline runs before a migration reaches production, against the fixture's servers:
// `lint --db` grades lock and rewrite findings by the live table's size.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class CiChecksTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() / fmt::format("sst-ci-{}-{}", getpid(), pg() ? "pg" : "my");
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_P(CiChecksTest, LintWithDbGradesFindingsByTheLiveTablesSize) {
  auto conn = Connect("app");
  DropTable big(*conn, "sst_lint_big");
  DropTable small(*conn, "sst_lint_small");
  conn->Execute(Sql("CREATE TABLE sst_lint_big (id bigint PRIMARY KEY, v text)",
                    "CREATE TABLE sst_lint_big (id BIGINT PRIMARY KEY, v TEXT) ENGINE=InnoDB"));
  conn->Execute(Sql("INSERT INTO sst_lint_big SELECT g, repeat('v', 200) FROM generate_series(1, 20000) g",
                    "INSERT INTO sst_lint_big SELECT seq, REPEAT('v', 200) FROM seq_1_to_20000"));
  conn->Execute(Sql("CREATE TABLE sst_lint_small (id bigint PRIMARY KEY, v text)",
                    "CREATE TABLE sst_lint_small (id BIGINT PRIMARY KEY, v TEXT) ENGINE=InnoDB"));
  conn->Execute(Sql("ANALYZE sst_lint_big", "ANALYZE TABLE sst_lint_big"));
  // The fixture's config, with a 1 MB threshold: the big table is about 4 MB.
  std::ifstream in(TestConfigPath());
  const std::string config = Write("shardshift.toml", std::string(std::istreambuf_iterator<char>(in), {}) +
                                                          "\n[lint]\nsmall_table_mb = 1\n");
  const std::string sql = Write(
      "m.sql", pg() ? "SET lock_timeout = '2s';\nCREATE INDEX sst_a ON sst_lint_big (v);\n"
                      "CREATE INDEX sst_b ON sst_lint_small (v);\nCREATE INDEX sst_c ON sst_lint_nowhere (v);\n"
                    : "SET SESSION lock_wait_timeout = 5;\nALTER TABLE sst_lint_big ADD INDEX sst_a (v(10));\n"
                      "ALTER TABLE sst_lint_small ADD INDEX sst_b (v(10));\nALTER TABLE sst_lint_nowhere ADD INDEX sst_c (v(10));\n");
  const std::string rule = pg() ? "SS101" : "SS301";
  // Without a database every one is an error.
  CliRun plain = Shardshift({"--config", config, "lint", "--format", "github", "--dialect", pg() ? "postgres" : "mariadb", sql});
  EXPECT_EQ(plain.rc, 1) << plain.output;
  EXPECT_NE(plain.output.find("::error file=" + sql + ",line=4"), std::string::npos) << plain.output;
  // With --db (and the dialect taken from it): only the big table's is.
  CliRun graded = Shardshift({"--config", config, "lint", "--format", "github", "--db", Db("app"), sql});
  EXPECT_EQ(graded.rc, 1) << graded.output;
  EXPECT_NE(graded.output.find("::error file=" + sql + ",line=2,col=1,title=" + rule), std::string::npos) << graded.output;
  EXPECT_NE(graded.output.find("sst_lint_big is "), std::string::npos) << graded.output;
  EXPECT_NE(graded.output.find("::warning file=" + sql + ",line=3,col=1,title=" + rule), std::string::npos) << graded.output;
  EXPECT_NE(graded.output.find("small enough that the lock is brief"), std::string::npos) << graded.output;
  EXPECT_NE(graded.output.find("::warning file=" + sql + ",line=4,col=1,title=" + rule), std::string::npos) << graded.output;
  EXPECT_NE(graded.output.find("sst_lint_nowhere does not exist on " + Db("app")), std::string::npos) << graded.output;
  // Without the big table's statement, nothing is an error: exit 0.
  const std::string small_only = Write("small.sql", pg() ? "SET lock_timeout = '2s';\nCREATE INDEX sst_b ON sst_lint_small (v);\n"
                                                         : "SET SESSION lock_wait_timeout = 5;\nALTER TABLE sst_lint_small ADD INDEX sst_b (v(10));\n");
  CliRun ok = Shardshift({"--config", config, "lint", "--db", Db("app"), small_only});
  EXPECT_EQ(ok.rc, 0) << ok.output;
  EXPECT_EQ(ok.output.find("password"), std::string::npos);
  // An unknown database is bad input.
  CliRun unknown = Shardshift({"--config", config, "lint", "--db", "no_such_db", sql});
  EXPECT_EQ(unknown.rc, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("no_such_db"), std::string::npos) << unknown.output;
}

INSTANTIATE_TEST_SUITE_P(Engines, CiChecksTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
