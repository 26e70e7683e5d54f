// Introspection into the neutral model, on both engines: composite keys, partial, covering,
// descending, expression and prefix indexes, foreign keys, awkward names, sizes and statistics.
#include "db/error.h"
#include "planner/inspector.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

const db::IndexInfo* FindIndex(const db::TableInfo& t, const std::string& name) {
  for (const auto& i : t.indexes) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

class IntrospectTest : public EngineTest {
 protected:
  db::TableInfo Table(db::Connection& conn, const std::string& name) {
    db::SchemaInfo s = conn.Introspect({pg() ? "public" : "", name, true});
    EXPECT_EQ(s.tables.size(), 1u) << name;
    if (s.tables.empty()) return {};
    return s.tables[0];
  }
};

TEST_P(IntrospectTest, KeysIndexesAndForeignKeys) {
  auto conn = Connect();
  DropTable tables(*conn, std::vector<std::string>{"sst_child", "sst_parent"});
  if (pg()) {
    conn->ExecuteScript(R"(
      CREATE TABLE sst_parent (a int, b text, payload text DEFAULT 'none', PRIMARY KEY (a, b));
      CREATE TABLE sst_child (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pa int NOT NULL, pb text NOT NULL,
        status text NOT NULL, created timestamptz, note text,
        FOREIGN KEY (pa, pb) REFERENCES sst_parent (a, b) ON DELETE CASCADE);
      CREATE INDEX sst_child_active ON sst_child (created DESC) WHERE status = 'active';
      CREATE INDEX sst_child_cover ON sst_child (pa, pb) INCLUDE (note);
      CREATE UNIQUE INDEX sst_child_uniq ON sst_child (status, id);
      CREATE INDEX sst_child_lower ON sst_child (lower(note) text_pattern_ops);
    )");
  } else {
    conn->ExecuteScript(R"(
      CREATE TABLE sst_parent (a INT NOT NULL, b VARCHAR(20) NOT NULL, payload TEXT DEFAULT 'none',
        PRIMARY KEY (a, b)) ENGINE=InnoDB;
      CREATE TABLE sst_child (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, pa INT NOT NULL, pb VARCHAR(20) NOT NULL,
        status VARCHAR(10) NOT NULL, created DATETIME, note TEXT,
        KEY sst_child_cover (pa, pb), KEY sst_child_active (created DESC),
        UNIQUE KEY sst_child_uniq (status, id), KEY sst_child_note (note(10)),
        CONSTRAINT sst_child_parent FOREIGN KEY (pa, pb) REFERENCES sst_parent (a, b) ON DELETE CASCADE
      ) ENGINE=InnoDB;
    )");
  }
  db::TableInfo p = Table(*conn, "sst_parent");
  EXPECT_EQ(p.primary_key, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(p.columns.size(), 3u);
  EXPECT_FALSE(p.columns[0].nullable);
  EXPECT_TRUE(p.columns[2].nullable);
  ASSERT_TRUE(p.columns[2].default_value.has_value());
  EXPECT_NE(p.columns[2].default_value->find("none"), std::string::npos);

  db::TableInfo c = Table(*conn, "sst_child");
  EXPECT_EQ(c.primary_key, std::vector<std::string>{"id"});
  EXPECT_TRUE(c.FindColumn("id")->identity);
  ASSERT_EQ(c.foreign_keys.size(), 1u);
  const db::ForeignKeyInfo& fk = c.foreign_keys[0];
  EXPECT_EQ(fk.columns, (std::vector<std::string>{"pa", "pb"}));
  EXPECT_EQ(fk.ref_table, "sst_parent");
  EXPECT_EQ(fk.ref_columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(fk.on_delete, "CASCADE");

  const db::IndexInfo* active = FindIndex(c, "sst_child_active");
  ASSERT_NE(active, nullptr);
  ASSERT_EQ(active->columns.size(), 1u);
  EXPECT_EQ(active->columns[0].name, "created");
  EXPECT_TRUE(active->columns[0].descending);

  const db::IndexInfo* cover = FindIndex(c, "sst_child_cover");
  ASSERT_NE(cover, nullptr);
  ASSERT_EQ(cover->columns.size(), 2u);
  EXPECT_EQ(cover->columns[1].name, "pb");

  const db::IndexInfo* uniq = FindIndex(c, "sst_child_uniq");
  ASSERT_NE(uniq, nullptr);
  EXPECT_TRUE(uniq->unique);
  EXPECT_EQ(c.unique_keys, (std::vector<std::vector<std::string>>{{"id"}, {"status", "id"}}));

  if (pg()) {
    EXPECT_EQ(active->predicate, "(status = 'active'::text)");
    EXPECT_EQ(cover->include, std::vector<std::string>{"note"});
    const db::IndexInfo* lower = FindIndex(c, "sst_child_lower");
    ASSERT_NE(lower, nullptr);
    EXPECT_EQ(lower->columns[0].name, "");
    EXPECT_EQ(lower->columns[0].expression, "lower(note)");
    EXPECT_EQ(lower->columns[0].opclass, "text_pattern_ops");
    EXPECT_EQ(FindIndex(c, "sst_child_pkey")->constraint, "primary");
  } else {
    const db::IndexInfo* note = FindIndex(c, "sst_child_note");
    ASSERT_NE(note, nullptr);
    EXPECT_EQ(note->columns[0].prefix_length, 10);
    EXPECT_EQ(FindIndex(c, "PRIMARY")->constraint, "primary");
  }
}

TEST_P(IntrospectTest, AwkwardNamesSurviveQuoting) {
  auto conn = Connect();
  const std::string table = pg() ? "sst_We\"ird Näme 表" : "sst_We`ird Näme 表";
  DropTable t(*conn, table);
  conn->Execute("CREATE TABLE " + conn->Quote(table) + " (" + conn->Quote("Mixed Case") + " int PRIMARY KEY, " +
                conn->Quote("sp ace;--") + " text)");
  conn->Execute("INSERT INTO " + conn->Quote(table) + " VALUES (" + P(1) + ", " + P(2) + ")", {1, "x"});
  db::TableInfo info = Table(*conn, table);
  EXPECT_EQ(info.name, table);
  ASSERT_EQ(info.columns.size(), 2u);
  EXPECT_EQ(info.columns[0].name, "Mixed Case");
  EXPECT_EQ(info.columns[1].name, "sp ace;--");
  EXPECT_EQ(info.primary_key, std::vector<std::string>{"Mixed Case"});
  db::ResultSet r = conn->Query("SELECT " + conn->Quote("sp ace;--") + " AS v FROM " + conn->Quote(table));
  EXPECT_EQ(r.Text(0, "v"), "x");
}

TEST_P(IntrospectTest, SizesAndColumnStatistics) {
  auto conn = Connect();
  DropTable t(*conn, "sst_stats");
  if (pg()) {
    conn->ExecuteScript(R"(
      CREATE TABLE sst_stats (id int PRIMARY KEY, color text NOT NULL);
      INSERT INTO sst_stats SELECT g, CASE WHEN g % 10 < 7 THEN 'red' WHEN g % 10 < 9 THEN 'green' ELSE 'blue' END
        FROM generate_series(1, 5000) g;
      ANALYZE sst_stats;
    )");
  } else {
    conn->ExecuteScript(R"(
      CREATE TABLE sst_stats (id INT PRIMARY KEY, color VARCHAR(10) NOT NULL, KEY sst_stats_color (color)) ENGINE=InnoDB;
      INSERT INTO sst_stats SELECT seq, CASE WHEN seq % 10 < 7 THEN 'red' WHEN seq % 10 < 9 THEN 'green' ELSE 'blue' END
        FROM seq_1_to_5000;
      ANALYZE TABLE sst_stats PERSISTENT FOR ALL;
    )");
  }
  db::TableInfo info = Table(*conn, "sst_stats");
  EXPECT_GT(info.row_estimate, 4000);
  EXPECT_LT(info.row_estimate, 6000);
  EXPECT_GT(info.total_bytes, 0);
  const db::ColumnStats* color = info.FindStats("color");
  ASSERT_NE(color, nullptr);
  ASSERT_TRUE(color->distinct.has_value());
  EXPECT_NEAR(*color->distinct, 3.0, 0.5);
  const db::ColumnStats* id = info.FindStats("id");
  ASSERT_NE(id, nullptr);
  EXPECT_GT(*id->distinct, 4000);
  if (pg()) {
    ASSERT_FALSE(color->most_common.empty());
    EXPECT_EQ(color->most_common[0].first, "red");
    EXPECT_NEAR(color->most_common[0].second, 0.7, 0.01);
  }
}

TEST_P(IntrospectTest, FingerprintChangesWithDdlOnly) {
  auto conn = Connect();
  DropTable t(*conn, "sst_fp");
  conn->Execute("CREATE TABLE sst_fp (id int PRIMARY KEY, v int)");
  planner::EngineSchemaReader reader(*catalog_);
  db::IntrospectOptions only{pg() ? "public" : "", "sst_fp", true};
  std::string before = db::Fingerprint(reader.Read(Db("range_0"), only));
  conn->Execute("INSERT INTO sst_fp VALUES (1, 1), (2, 2)");
  conn->Execute(Sql("ANALYZE sst_fp", "ANALYZE TABLE sst_fp"));
  EXPECT_EQ(db::Fingerprint(reader.Read(Db("range_0"), only)), before);  // data and stats changed
  conn->Execute("ALTER TABLE sst_fp ADD COLUMN w int");
  EXPECT_NE(db::Fingerprint(reader.Read(Db("range_0"), only)), before);
}

INSTANTIATE_TEST_SUITE_P(Engines, IntrospectTest,
                         ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL), EngineParamName);

}  // namespace
}  // namespace shardshift::testing
