#include "planner/inspector.h"

#include <gtest/gtest.h>

#include "db/error.h"

namespace shardshift::planner {
namespace {

TEST(MemorySchemaReaderTest, FiltersBySchemaTableAndStatistics) {
  db::SchemaInfo s;
  db::TableInfo a;
  a.schema = "public";
  a.name = "users";
  a.stats.push_back({"id", 5.0, 0.0, {}, {}, {}});
  db::TableInfo b;
  b.schema = "audit";
  b.name = "users";
  s.tables = {a, b};
  MemorySchemaReader reader;
  reader.Add("app", s);
  EXPECT_EQ(reader.Read("app", {}).tables.size(), 2u);
  EXPECT_EQ(reader.Read("app", {"audit", "", true}).tables.size(), 1u);
  EXPECT_EQ(reader.Read("app", {"", "users", true}).tables.size(), 2u);
  EXPECT_TRUE(reader.Read("app", {"public", "users", false}).tables[0].stats.empty());
  EXPECT_THROW(reader.Read("other", {}), db::Error);
}

}  // namespace
}  // namespace shardshift::planner
