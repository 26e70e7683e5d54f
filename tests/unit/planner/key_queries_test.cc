#include "planner/key_queries.h"

#include <gtest/gtest.h>

namespace shardshift::planner {
namespace {

TEST(KeyQueriesTest, ReadsAllKeysOrADeterministicSample) {
  db::TableName t{"public", "Users"};
  EXPECT_EQ(KeySampleQuery(db::Engine::kPostgres, t, {"id"}, 1.0).sql, "SELECT \"id\" FROM \"public\".\"Users\" AS _shardshift_k");
  EXPECT_EQ(KeySampleQuery(db::Engine::kPostgres, t, {"a", "b"}, 0.05).sql,
            "SELECT \"a\", \"b\" FROM \"public\".\"Users\" AS _shardshift_k TABLESAMPLE SYSTEM (5.000000) REPEATABLE (42)");
  EXPECT_EQ(KeySampleQuery(db::Engine::kMySQL, {"", "users"}, {"id"}, 0.05).sql,
            "SELECT `id` FROM `users` AS _shardshift_k WHERE RAND(42) < 0.05000000");
}

TEST(KeyQueriesTest, CountsOutsideARangeWithParameters) {
  Statement s = OutsideRangeQuery(db::Engine::kPostgres, {"", "t"}, {"id"}, std::vector<std::string>{"10"},
                                  std::vector<std::string>{"20"});
  EXPECT_EQ(s.sql,
            "SELECT COALESCE(SUM(CASE WHEN \"id\" < $1 THEN 1 ELSE 0 END), 0) AS below, "
            "COALESCE(SUM(CASE WHEN \"id\" >= $2 THEN 1 ELSE 0 END), 0) AS above FROM \"t\" AS _shardshift_k "
            "WHERE \"id\" < $3 OR \"id\" >= $4");
  ASSERT_EQ(s.params.size(), 4u);
  EXPECT_EQ(*s.params[3].value, "20");
  Statement c = OutsideRangeQuery(db::Engine::kMySQL, {"", "t"}, {"a", "b"}, std::nullopt,
                                  std::vector<std::string>{"2", "x"});
  EXPECT_EQ(c.sql,
            "SELECT COALESCE(0, 0) AS below, COALESCE(SUM(CASE WHEN (`a`, `b`) >= (?, ?) THEN 1 ELSE 0 END), 0) "
            "AS above FROM `t` AS _shardshift_k WHERE (`a`, `b`) >= (?, ?)");
  EXPECT_EQ(c.params.size(), 4u);
}

}  // namespace
}  // namespace shardshift::planner
