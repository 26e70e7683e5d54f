#include "db/schema.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace shardshift::db {
namespace {

TableInfo Users() {
  TableInfo t;
  t.schema = "public";
  t.name = "users";
  t.columns = {ColumnInfo::Plain("id", "bigint", false),
               ColumnInfo::Plain("email", "text", false),
               ColumnInfo::Plain("nick", "text", true)};
  t.primary_key = {"id"};
  IndexInfo pk{"users_pkey", {{"id", "", false, "", 0}}, {}, true, true, true, "btree", "", "primary", 8192, "", ""};
  IndexInfo email{"users_email", {{"email", "", false, "", 0}}, {}, true, false, true, "btree", "", "", 8192, "", ""};
  IndexInfo nick{"users_nick", {{"nick", "", false, "", 0}}, {}, true, false, true, "btree", "", "", 8192, "", ""};
  IndexInfo partial{"users_p", {{"email", "", false, "", 0}}, {}, true, false, true, "btree", "id > 5", "", 8192, "", ""};
  t.indexes = {pk, email, nick, partial};
  t.row_estimate = 10;
  return t;
}

TEST(SchemaTest, UniqueKeysArePrimaryAndNotNullNonPartialUniqueIndexes) {
  TableInfo t = Users();
  DeriveUniqueKeys(t);
  ASSERT_EQ(t.unique_keys.size(), 2u);
  EXPECT_EQ(t.unique_keys[0], std::vector<std::string>{"id"});
  EXPECT_EQ(t.unique_keys[1], std::vector<std::string>{"email"});  // nick is nullable, users_p partial
}

TEST(SchemaTest, FingerprintFollowsShapeNotStatistics) {
  SchemaInfo a;
  a.tables = {Users()};
  SchemaInfo b = a;
  b.tables[0].row_estimate = 1000000;
  b.tables[0].stats.push_back({"id", 10.0, 0.0, {}, {}, {}});
  b.tables[0].indexes[0].size_bytes = 1 << 20;
  EXPECT_EQ(Fingerprint(a), Fingerprint(b));
  SchemaInfo c = a;
  c.tables[0].columns[2].type = "varchar(20)";
  EXPECT_NE(Fingerprint(a), Fingerprint(c));
  SchemaInfo d = a;
  d.tables[0].indexes[3].predicate = "id > 6";
  EXPECT_NE(Fingerprint(a), Fingerprint(d));
  SchemaInfo e = a;
  e.engine = Engine::kMySQL;
  EXPECT_NE(Fingerprint(a), Fingerprint(e));
}

TEST(SchemaTest, JsonAndTextShowTheModel) {
  SchemaInfo s;
  s.database = "app";
  s.tables = {Users()};
  nlohmann::json j = ToJson(s);
  EXPECT_EQ(j["tables"][0]["indexes"][3]["predicate"], "id > 5");
  EXPECT_EQ(j["tables"][0]["columns"][2]["nullable"], true);
  std::string text = RenderText(s);
  EXPECT_NE(text.find("unique index users_p (email) WHERE id > 5"), std::string::npos) << text;
}

}  // namespace
}  // namespace shardshift::db
