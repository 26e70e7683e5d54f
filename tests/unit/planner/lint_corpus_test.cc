// tests/lint_corpus/postgres: a bad and a safe migration for every squawk rule and strong_migrations
// check (tests/lint_corpus/make_postgres.py writes them). A bad case must report the rule its
// second line names; a safe case must report nothing at all (notes aside). One test per file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "planner/lint.h"

namespace shardshift::planner {
namespace {

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> out;
  const std::filesystem::path dir = std::filesystem::path(SHARDSHIFT_SOURCE_DIR) / "tests/lint_corpus/postgres";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".sql") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class LintCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LintCorpusTest, PostgresCase) {
  const std::string path = std::string(SHARDSHIFT_SOURCE_DIR) + "/tests/lint_corpus/postgres/" + GetParam();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string sql = text.str();
  const size_t at = sql.find("-- expect: ");
  ASSERT_NE(at, std::string::npos) << path << " says nothing of what to expect";
  const std::string expect = sql.substr(at + 11, sql.find('\n', at) - at - 11);
  std::string found;
  bool has = false;
  int findings = 0;
  for (const LintFinding& f : LintPostgresSql(sql, GetParam())) {
    if (f.severity == "note") continue;
    ++findings;
    found += " " + f.rule;
    has = has || f.rule == expect;
  }
  if (expect == "nothing") {
    EXPECT_EQ(findings, 0) << GetParam() << " is safe but lint reported" << found << "\n" << sql;
  } else {
    EXPECT_TRUE(has) << GetParam() << " is bad but lint did not report " << expect << " (it reported" << found
                     << ")\n" << sql;
  }
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.size() - 4);  // no .sql
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, LintCorpusTest, ::testing::ValuesIn(CorpusFiles()), CaseName);

}  // namespace
}  // namespace shardshift::planner
