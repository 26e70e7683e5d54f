#include <gtest/gtest.h>

#include "db/connection.h"
#include "db/error.h"

namespace shardshift::db {
namespace {

struct QuoteCase {
  std::string name;
  std::string postgres;
  std::string mysql;
};

class QuoteTest : public ::testing::TestWithParam<QuoteCase> {};

TEST_P(QuoteTest, QuotesForEachEngine) {
  EXPECT_EQ(QuoteIdentifier(Engine::kPostgres, GetParam().name), GetParam().postgres);
  EXPECT_EQ(QuoteIdentifier(Engine::kMySQL, GetParam().name), GetParam().mysql);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, QuoteTest,
    ::testing::Values(QuoteCase{"users", "\"users\"", "`users`"},
                      QuoteCase{"Mixed Case", "\"Mixed Case\"", "`Mixed Case`"},
                      QuoteCase{"we\"ird", "\"we\"\"ird\"", "`we\"ird`"},
                      QuoteCase{"back`tick", "\"back`tick\"", "`back``tick`"},
                      QuoteCase{"ünïcödé 表", "\"ünïcödé 表\"", "`ünïcödé 表`"},
                      QuoteCase{"a; DROP TABLE x; --", "\"a; DROP TABLE x; --\"",
                                "`a; DROP TABLE x; --`"}));

TEST(QuoteTest, RejectsEmptyAndNul) {
  EXPECT_THROW(QuoteIdentifier(Engine::kPostgres, ""), Error);
  EXPECT_THROW(QuoteIdentifier(Engine::kMySQL, std::string("a\0b", 3)), Error);
}

TEST(QuoteTest, QualifiesTables) {
  EXPECT_EQ(QuoteTable(Engine::kPostgres, TableName::Parse("public.users")), "\"public\".\"users\"");
  EXPECT_EQ(QuoteTable(Engine::kMySQL, TableName::Parse("users")), "`users`");
  EXPECT_EQ(TableName::Parse("s.t.u").name, "t.u");
}

}  // namespace
}  // namespace shardshift::db
