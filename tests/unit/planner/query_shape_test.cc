#include "planner/query_shape.h"

#include <gtest/gtest.h>

namespace shardshift::planner {
namespace {

TEST(QueryShapeTest, FindsEqualityRangeSortSelectAndConstantFilters) {
  QueryShape q = AnalyzeQuery(
      "SELECT id, email FROM users WHERE status = 'active' AND tenant_id = $1 AND created_at > $2 "
      "AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 20");
  ASSERT_TRUE(q.ok) << q.error;
  EXPECT_EQ(q.statement, "select");
  ASSERT_EQ(q.tables.size(), 1u);
  const TableUse& u = q.tables[0];
  EXPECT_EQ(u.table, "users");
  EXPECT_EQ(u.equality, (std::vector<std::string>{"status", "tenant_id"}));
  EXPECT_EQ(u.range, std::vector<std::string>{"created_at"});
  EXPECT_EQ(u.order_by, (std::vector<SortColumn>{{"created_at", true, false, ""}}));
  EXPECT_EQ(u.selected, (std::vector<std::string>{"id", "email"}));
  EXPECT_EQ(u.constant_filters, (std::vector<std::string>{"status = 'active'", "deleted_at IS NULL"}));
}

TEST(QueryShapeTest, ResolvesAliasesAndJoins) {
  QueryShape q = AnalyzeQuery(
      "SELECT u.email, o.total FROM users u JOIN orders o ON o.user_id = u.id "
      "WHERE u.country = $1 AND o.placed_at BETWEEN $2 AND $3 AND o.status IN ('paid', 'sent') ORDER BY o.placed_at");
  ASSERT_TRUE(q.ok) << q.error;
  ASSERT_EQ(q.tables.size(), 2u);
  EXPECT_EQ(q.tables[0].table, "users");
  EXPECT_EQ(q.tables[0].join, std::vector<std::string>{"id"});
  EXPECT_EQ(q.tables[0].equality, std::vector<std::string>{"country"});
  EXPECT_EQ(q.tables[1].table, "orders");
  EXPECT_EQ(q.tables[1].join, std::vector<std::string>{"user_id"});
  EXPECT_EQ(q.tables[1].equality, std::vector<std::string>{"status"});
  EXPECT_EQ(q.tables[1].range, std::vector<std::string>{"placed_at"});
  EXPECT_EQ(q.tables[1].order_by, (std::vector<SortColumn>{{"placed_at", false, false, ""}}));
  EXPECT_EQ(q.params.at(1), (std::pair<std::string, std::string>{"users", "country"}));
  EXPECT_EQ(q.params.at(3), (std::pair<std::string, std::string>{"orders", "placed_at"}));
}

TEST(QueryShapeTest, UnqualifiedColumnsOfSeveralTablesNeedTheirColumns) {
  const std::string sql = "SELECT * FROM users JOIN orders ON orders.user_id = users.id WHERE placed_at > $1";
  EXPECT_TRUE(AnalyzeQuery(sql).tables[1].range.empty());  // whose placed_at? unknown without the schema
  QueryShape q = AnalyzeQuery(sql, {{"users", {"id", "email"}}, {"orders", {"id", "user_id", "placed_at"}}});
  EXPECT_EQ(q.tables[1].range, std::vector<std::string>{"placed_at"});
  EXPECT_EQ(q.tables[0].selected, std::vector<std::string>{"*"});
}

TEST(QueryShapeTest, UpdatesAndDeletesFilterToo) {
  QueryShape u = AnalyzeQuery("UPDATE sessions SET seen = now() WHERE token = $1");
  ASSERT_TRUE(u.ok);
  EXPECT_EQ(u.statement, "update");
  EXPECT_EQ(u.tables.at(0).equality, std::vector<std::string>{"token"});
  QueryShape d = AnalyzeQuery("DELETE FROM app.events WHERE created_at < $1");
  EXPECT_EQ(d.tables.at(0).table, "app.events");
  EXPECT_EQ(d.tables.at(0).range, std::vector<std::string>{"created_at"});
}

TEST(QueryShapeTest, LikePrefixesAndExpressionsAreSeen) {
  QueryShape q = AnalyzeQuery(
      "SELECT id FROM users WHERE email LIKE $1 AND name LIKE 'ab%' AND note LIKE '%x' AND lower(login) = $2 "
      "AND upper(a || b) = 'X'");
  ASSERT_TRUE(q.ok) << q.error;
  const TableUse& u = q.tables.at(0);
  EXPECT_EQ(u.prefix, (std::vector<std::string>{"email", "name"}));  // '%x' cannot read a range
  EXPECT_EQ(u.expressions, std::vector<std::string>{"lower(\"login\")"});  // a || b is not one column
  EXPECT_EQ(q.like_params, std::set<int>{1});
  EXPECT_EQ(q.params.at(2), (std::pair<std::string, std::string>{"users", "login"}));
  EXPECT_TRUE(u.equality.empty());
}

TEST(QueryShapeTest, ASyntaxErrorIsReported) {
  QueryShape q = AnalyzeQuery("SELEC 1");
  EXPECT_FALSE(q.ok);
  EXPECT_NE(q.error.find("syntax error"), std::string::npos) << q.error;
}

}  // namespace
}  // namespace shardshift::planner
