// `shardshift advise index` on both engines: a duplicate, a redundant and an unused index are
// found, a foreign key without an index is found (PostgreSQL; InnoDB indexes foreign keys itself),
// indexes backing constraints are never proposed for dropping, and --emit-spec writes a spec that
// `plan` accepts.
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class IndexAdviceTest : public EngineTest {};

TEST_P(IndexAdviceTest, FindsDuplicateRedundantUnusedAndUnindexedForeignKeys) {
  auto c = Connect("range_2");
  DropTable drop(*c, std::vector<std::string>{"sst_child", "sst_parent"});
  c->Execute(Sql("CREATE TABLE sst_parent (id bigint PRIMARY KEY)", "CREATE TABLE sst_parent (id BIGINT PRIMARY KEY) ENGINE=InnoDB"));
  c->Execute(Sql("CREATE TABLE sst_child (id bigint PRIMARY KEY, parent_id bigint REFERENCES sst_parent (id), a int, b int, "
                 "c int, email text UNIQUE)",
                 "CREATE TABLE sst_child (id BIGINT PRIMARY KEY, parent_id BIGINT, a INT, b INT, c INT, email VARCHAR(100) "
                 "UNIQUE, CONSTRAINT sst_child_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES sst_parent (id)) "
                 "ENGINE=InnoDB"));
  for (const char* idx : {"sst_child_c_1 ON sst_child (c)", "sst_child_c_2 ON sst_child (c)", "sst_child_a ON sst_child (a)",
                          "sst_child_a_b ON sst_child (a, b)", "sst_child_b ON sst_child (b)"}) {
    c->Execute(std::string("CREATE INDEX ") + idx);
  }
  const std::filesystem::path spec = std::filesystem::temp_directory_path() / fmt::format("sst-advice-{}.toml", getpid());
  CliRun r = Shardshift({"--config", TestConfigPath(), "advise", "index", "--db", Db("range_2"), "--table", "sst_child",
                         "--json", "--emit-spec", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.output;
  nlohmann::json out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  std::map<std::string, std::vector<std::string>> found;  // kind -> indexes
  for (const auto& f : out["findings"]) {
    found[f["kind"].get<std::string>()].push_back(f["index"].get<std::string>());
    EXPECT_FALSE(f["why"].get<std::string>().empty());
    EXPECT_FALSE(f["statement"].get<std::string>().empty());
  }
  ASSERT_EQ(found["duplicate"].size(), 1u) << r.output;
  EXPECT_TRUE(found["duplicate"][0] == "sst_child_c_1" || found["duplicate"][0] == "sst_child_c_2") << r.output;
  EXPECT_EQ(found["redundant"], std::vector<std::string>{"sst_child_a"}) << r.output;
  const auto& unused = found["unused"];
  EXPECT_NE(std::find(unused.begin(), unused.end(), "sst_child_b"), unused.end()) << r.output;
  for (const auto& [kind, names] : found) {
    for (const std::string& n : names) {
      EXPECT_TRUE(n != "sst_child_pkey" && n != "PRIMARY" && n.find("email") == std::string::npos &&
                  (kind == "missing_fk_index" || n.find("parent") == std::string::npos))
          << kind << " proposes dropping " << n << ", which backs a constraint";
    }
  }
  if (pg()) {
    EXPECT_EQ(found["missing_fk_index"], std::vector<std::string>{"sst_child_parent_id_idx"}) << r.output;
    const std::string plan = spec.string() + ".plan";
    CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec.string(), "-o", plan});
    EXPECT_EQ(planned.rc, 0) << planned.output;
    std::filesystem::remove(plan);
  } else {
    EXPECT_TRUE(found["missing_fk_index"].empty()) << "InnoDB indexes foreign keys itself: " << r.output;
  }
  std::filesystem::remove(spec);
}

INSTANTIATE_TEST_SUITE_P(Engines, IndexAdviceTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
