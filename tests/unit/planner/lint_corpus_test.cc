// tests/lint_corpus: a bad and a safe migration for every squawk rule and strong_migrations check
// (postgres/, written by make_postgres.py) and for every strong_migrations check that applies to
// MariaDB and every operation MariaDB's online DDL cannot do with LOCK=NONE (mariadb/, written by
// make_mariadb.py, linted against mariadb/schema.sql as `--schema` gives it). A bad case must report
// the rule its second line names; a safe case must report nothing at all (notes aside). One test
// per file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "planner/lint.h"

namespace shardshift::planner {
namespace {

std::string Folder(const std::string& dialect) {
  return std::string(SHARDSHIFT_SOURCE_DIR) + "/tests/lint_corpus/" + dialect + "/";
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> CorpusFiles(const std::string& dialect) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(Folder(dialect))) {
    if (e.path().extension() == ".sql" && e.path().filename() != "schema.sql") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Check(const std::string& name, const std::string& sql, const std::vector<LintFinding>& findings) {
  const size_t at = sql.find("-- expect: ");
  ASSERT_NE(at, std::string::npos) << name << " says nothing of what to expect";
  const std::string expect = sql.substr(at + 11, sql.find('\n', at) - at - 11);
  std::string found;
  bool has = false;
  int count = 0;
  for (const LintFinding& f : findings) {
    if (f.severity == "note") continue;
    ++count;
    found += " " + f.rule;
    has = has || f.rule == expect;
  }
  if (expect == "nothing") {
    EXPECT_EQ(count, 0) << name << " is safe but lint reported" << found << "\n" << sql;
  } else {
    EXPECT_TRUE(has) << name << " is bad but lint did not report " << expect << " (it reported" << found << ")\n"
                     << sql;
  }
}

class LintCorpusTest : public ::testing::TestWithParam<std::string> {};
class LintMariadbCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LintCorpusTest, PostgresCase) {
  const std::string sql = Read(Folder("postgres") + GetParam());
  Check(GetParam(), sql, LintPostgresSql(sql, GetParam()));
}

TEST_P(LintMariadbCorpusTest, MariadbCase) {
  const std::string sql = Read(Folder("mariadb") + GetParam());
  const SchemaDump schema{Read(Folder("mariadb") + "schema.sql"), "schema.sql"};
  ASSERT_FALSE(schema.text.empty());
  Check(GetParam(), sql, LintMariadbSql(sql, GetParam(), nullptr, &schema));
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.size() - 4);  // no .sql
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, LintCorpusTest, ::testing::ValuesIn(CorpusFiles("postgres")), CaseName);
INSTANTIATE_TEST_SUITE_P(Corpus, LintMariadbCorpusTest, ::testing::ValuesIn(CorpusFiles("mariadb")), CaseName);

}  // namespace
}  // namespace shardshift::planner
