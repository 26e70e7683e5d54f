// Change capture on real tables of both engines: every committed write leaves its key in the
// changelog, in the same transaction; a rolled-back write leaves nothing; installing twice is
// harmless; removing leaves the table as it was.
#include "db/error.h"
#include "planner/capture_sql.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class CaptureTest : public EngineTest {
 protected:
  std::vector<std::string> Log(db::Connection& conn, const planner::CaptureSql& capture) {
    db::ResultSet r = conn.Query("SELECT " + conn.Quote("a") + ", " + conn.Quote("b") + ", _ss_op FROM " +
                                 conn.Quote(capture.changelog) + " ORDER BY _ss_id");
    std::vector<std::string> out;
    for (const auto& row : r.rows) out.push_back(*row[2] + " " + *row[0] + "/" + *row[1]);
    return out;
  }
};

TEST_P(CaptureTest, RecordsEveryCommittedKeyAndBothKeysOfAKeyChange) {
  auto conn = Connect();
  const std::string table = "sst_Captured Table";
  DropTable t(*conn, table);
  conn->Execute("CREATE TABLE " + conn->Quote(table) +
                Sql(" (a int NOT NULL, b text NOT NULL, v text, PRIMARY KEY (a, b))",
                    " (a int NOT NULL, b varchar(10) NOT NULL, v text, PRIMARY KEY (a, b)) ENGINE=InnoDB"));
  db::SchemaInfo schema = conn->Introspect({pg() ? "public" : "", table, false});
  ASSERT_EQ(schema.tables.size(), 1u);
  planner::CaptureSql capture = planner::BuildCapture(GetParam(), schema.tables[0], {"a", "b"}, "sst-test");
  DropTable log(*conn, capture.changelog.name);
  for (int round = 0; round < 2; ++round) {  // installing again changes nothing
    for (const std::string& sql : capture.install) conn->Execute(sql);
  }
  const std::string q = conn->Quote(table);
  conn->Execute("INSERT INTO " + q + " VALUES (1, 'x', 'one'), (2, 'y', NULL)");
  conn->Execute("UPDATE " + q + " SET v = 'uno' WHERE a = 1");            // key unchanged: one entry
  conn->Execute("UPDATE " + q + " SET a = 20 WHERE a = 2");               // key changed: old and new
  {
    db::Transaction tx(*conn);
    conn->Execute("DELETE FROM " + q + " WHERE a = 1");
  }  // rolled back: no entry
  conn->Execute("DELETE FROM " + q + " WHERE a = 20");
  EXPECT_EQ(Log(*conn, capture),
            (std::vector<std::string>{"I 1/x", "I 2/y", "U 1/x", "U 2/y", "U 20/y", "D 20/y"}));

  for (const std::string& sql : capture.remove) conn->Execute(sql);
  conn->Execute("INSERT INTO " + q + " VALUES (3, 'z', 'three')");  // writes still work, uncaptured
  db::SchemaInfo after = conn->Introspect({pg() ? "public" : "", capture.changelog.name, false});
  EXPECT_TRUE(after.tables.empty());
  db::ResultSet triggers = conn->Query(Sql(
      "SELECT count(*) AS n FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = to_regclass($1)",
      "SELECT count(*) AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() "
      "AND EVENT_OBJECT_TABLE = ?"), {pg() ? conn->Quote(table) : table});
  EXPECT_EQ(triggers.Text(0, "n"), "0");
}

TEST_P(CaptureTest, NamesAreStableAndDifferByMigration) {
  db::TableInfo t;
  t.schema = pg() ? "public" : "";
  t.name = "users";
  t.columns = {db::ColumnInfo::Plain("id", "bigint", false)};
  auto a = planner::BuildCapture(GetParam(), t, {"id"}, "m1");
  EXPECT_EQ(a.changelog.name, planner::BuildCapture(GetParam(), t, {"id"}, "m1").changelog.name);
  EXPECT_NE(a.changelog.name, planner::BuildCapture(GetParam(), t, {"id"}, "m2").changelog.name);
  EXPECT_THROW(planner::BuildCapture(GetParam(), t, {"nope"}, "m1"), db::Error);
}

INSTANTIATE_TEST_SUITE_P(Engines, CaptureTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
