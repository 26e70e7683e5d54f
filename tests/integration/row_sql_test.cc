// The row-movement SQL (db/row_sql.h) on real tables of both engines: chunked walks in key order
// with composite keys, lookups and deletes by key, and checksums that agree on equal tables and
// disagree, down to the key, on different ones.
#include <set>

#include "db/row_sql.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

using db::KeyValues;

class RowSqlTest : public EngineTest {
 protected:
  // (a, b) composite key over 1..n x {x, y}: 2n rows, with NULLs and awkward text.
  void Fill(db::Connection& conn, const std::string& table, int n) {
    conn.Execute("CREATE TABLE " + conn.Quote(table) + Sql(
        " (a int NOT NULL, b varchar(10) NOT NULL, v text, PRIMARY KEY (a, b))",
        " (a int NOT NULL, b varchar(10) NOT NULL, v text, PRIMARY KEY (a, b)) ENGINE=InnoDB"));
    conn.Execute(pg() ? "INSERT INTO " + conn.Quote(table) +
                            " SELECT g, s, CASE WHEN g % 5 = 0 THEN NULL ELSE 'v|' || g || s END "
                            "FROM generate_series(1, " + std::to_string(n) + ") g, unnest(ARRAY['x', 'y']) s"
                      : "INSERT INTO " + conn.Quote(table) +
                            " SELECT seq, s.b, IF(seq % 5 = 0, NULL, CONCAT('v|', seq, s.b)) FROM seq_1_to_" +
                            std::to_string(n) + ", (SELECT 'x' AS b UNION ALL SELECT 'y') s");
  }
  db::RowSql Rows(const std::string& table) const {
    return db::RowSql(GetParam(), {"", table}, {"a", "b"}, {"a", "b", "v"});
  }
};

TEST_P(RowSqlTest, AFilterNarrowsEveryStatementToItsRows) {
  // A move_keys migration sees a table as only its keys' rows: walks, lookups, deletes, checksums.
  auto conn = Connect();
  DropTable t(*conn, "sst_rows_f");
  Fill(*conn, "sst_rows_f", 100);
  const db::RowSql only(GetParam(), {"", "sst_rows_f"}, {"a", "b"}, {"a", "b", "v"},
                        conn->Quote("a") + " IN ('7', '8')");
  db::SqlText walk = only.SelectChunk(std::nullopt, std::nullopt, 1000);
  db::ResultSet r = conn->Query(walk.sql, walk.params);
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_EQ(r.rows[0][0], "7");
  EXPECT_EQ(r.rows[3][0], "8");
  db::SqlText after = only.SelectChunk(KeyValues{"7", "y"}, std::nullopt, 1000);
  EXPECT_EQ(conn->Query(after.sql, after.params).rows.size(), 2u);
  db::SqlText look = only.SelectByKeys({{"7", "x"}, {"9", "x"}});
  EXPECT_EQ(conn->Query(look.sql, look.params).rows.size(), 1u) << "(9, x) is not among the filter's rows";
  db::SqlText sum = only.Checksum(std::nullopt, std::nullopt);
  EXPECT_EQ(conn->Query(sum.sql, sum.params).Text(0, "n"), "4");
  db::SqlText del = only.DeleteByKeys({{"9", "x"}, {"8", "y"}});
  EXPECT_EQ(conn->Execute(del.sql, del.params), 1);
  EXPECT_EQ(conn->Query("SELECT COUNT(*) AS n FROM sst_rows_f").Text(0, "n"), "199");
  EXPECT_EQ(conn->Query("SELECT COUNT(*) AS n FROM sst_rows_f WHERE a = 9").Text(0, "n"), "2");
}

TEST_P(RowSqlTest, ChunkedWalkVisitsEveryRowOnceInKeyOrder) {
  auto conn = Connect();
  DropTable t(*conn, "sst_rows");
  Fill(*conn, "sst_rows", 500);
  db::RowSql rows = Rows("sst_rows");
  std::optional<KeyValues> cursor;
  std::vector<std::pair<int, std::string>> seen;
  int chunks = 0;
  while (true) {
    db::SqlText q = rows.SelectChunk(cursor, std::nullopt, 37);
    db::ResultSet r = conn->Query(q.sql, q.params);
    if (r.rows.empty()) break;
    ++chunks;
    for (const auto& row : r.rows) seen.emplace_back(std::stoi(*row[0]), *row[1]);
    cursor = KeyValues{*r.rows.back()[0], *r.rows.back()[1]};
  }
  ASSERT_EQ(seen.size(), 1000u);
  EXPECT_EQ(chunks, (1000 + 36) / 37);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]) << i;
  // An upper bound stops the walk there: (1, x) .. (10, y) is 20 rows.
  db::SqlText bounded = rows.SelectChunk(std::nullopt, KeyValues{"10", "y"}, 1000);
  EXPECT_EQ(conn->Query(bounded.sql, bounded.params).rows.size(), 20u);
  db::SqlText at = rows.KeyAtOffset(KeyValues{"10", "x"}, 3);  // (10,y) (11,x) (11,y)
  db::ResultSet boundary = conn->Query(at.sql, at.params);
  ASSERT_EQ(boundary.rows.size(), 1u);
  EXPECT_EQ(boundary.rows[0], (db::Row{"11", "y"}));
}

TEST_P(RowSqlTest, SelectsAndDeletesByKey) {
  auto conn = Connect();
  DropTable t(*conn, "sst_rows");
  Fill(*conn, "sst_rows", 50);
  db::RowSql rows = Rows("sst_rows");
  std::vector<KeyValues> keys = {{"3", "x"}, {"5", "y"}, {"99", "x"}};
  db::SqlText sel = rows.SelectByKeys(keys);
  db::ResultSet r = conn->Query(sel.sql, sel.params);
  EXPECT_EQ(r.rows.size(), 2u);
  db::SqlText del = rows.DeleteByKeys(keys);
  EXPECT_EQ(conn->Execute(del.sql, del.params), 2);
  EXPECT_EQ(conn->Query("SELECT count(*) AS n FROM sst_rows").Text(0, "n"), "98");
}

// A one-column key (on PostgreSQL one array parameter): text keys with the characters an array
// literal must escape, and keys that match nothing, select and delete exactly the rows named.
TEST_P(RowSqlTest, SelectsAndDeletesByAOneColumnKeyOfAwkwardText) {
  auto conn = Connect();
  DropTable t(*conn, "sst_text_keys");
  conn->Execute("CREATE TABLE " + conn->Quote("sst_text_keys") + " (k varchar(40) PRIMARY KEY, v int)");
  const std::vector<std::string> awkward = {"plain", "with \"quote\"", "back\\slash", "comma,brace}{", "NULL", "",
                                            " spaced ", "ünï"};
  for (size_t i = 0; i < awkward.size(); ++i) {
    conn->Execute("INSERT INTO " + conn->Quote("sst_text_keys") + Sql(" VALUES ($1, $2)", " VALUES (?, ?)"),
                  {awkward[i], std::to_string(i)});
  }
  conn->Execute("INSERT INTO " + conn->Quote("sst_text_keys") + Sql(" VALUES ('other', 99)", " VALUES ('other', 99)"));
  db::RowSql rows(GetParam(), {"", "sst_text_keys"}, {"k"}, {"k", "v"});
  std::vector<KeyValues> keys;
  for (const std::string& k : awkward) keys.push_back({k});
  keys.push_back({"absent"});
  db::SqlText sel = rows.SelectByKeys(keys);
  std::set<std::string> found;
  for (const db::Row& r : conn->Query(sel.sql, sel.params).rows) found.insert(*r[0]);
  EXPECT_EQ(found, std::set<std::string>(awkward.begin(), awkward.end()));
  db::SqlText del = rows.DeleteByKeys(keys);
  EXPECT_EQ(conn->Execute(del.sql, del.params), static_cast<int64_t>(awkward.size()));
  EXPECT_EQ(conn->Query("SELECT k FROM " + conn->Quote("sst_text_keys")).Text(0, "k"), "other");
}

// A key of several columns (on PostgreSQL one JSON parameter the server converts column by column):
// awkward column names, text with quotes, backslashes and control characters, a timestamp, and a
// thousand keys at once, half of them absent, select and delete exactly the rows named.
TEST_P(RowSqlTest, SelectsAndDeletesByAKeyOfSeveralColumnsOfAwkwardNamesAndTypes) {
  auto conn = Connect();
  DropTable t(*conn, "sst_multi_keys");
  const std::string tenant = "Tenant Id", text = "we\"ird", at = "at";
  conn->Execute("CREATE TABLE " + conn->Quote("sst_multi_keys") + " (" + conn->Quote(tenant) + " bigint NOT NULL, " +
                conn->Quote(text) + Sql(" text", " varchar(40)") + " NOT NULL, " + conn->Quote(at) +
                Sql(" timestamp(6)", " datetime(6)") + " NOT NULL, v int, PRIMARY KEY (" + conn->Quote(tenant) + ", " +
                conn->Quote(text) + ", " + conn->Quote(at) + "))");
  const std::vector<std::string> awkward = {"plain", "with \"quote\"", "back\\slash", "tab\there", "line\nbreak",
                                            "{\"json\": 1}", "ünï", ""};
  std::vector<KeyValues> present;
  for (size_t i = 0; i < awkward.size(); ++i) {
    present.push_back({std::to_string(1000 + i), awkward[i], fmt::format("2026-01-0{} 03:04:05.12345{}", 1 + i % 9, 1 + i % 9)});
    conn->Execute("INSERT INTO " + conn->Quote("sst_multi_keys") + Sql(" VALUES ($1, $2, $3, $4)", " VALUES (?, ?, ?, ?)"),
                  {present.back()[0], present.back()[1], present.back()[2], std::to_string(i)});
  }
  conn->Execute("INSERT INTO " + conn->Quote("sst_multi_keys") + " VALUES (1, 'other', '2026-01-01 00:00:00', 99)");
  db::RowSql rows(GetParam(), {"", "sst_multi_keys"}, {tenant, text, at}, {tenant, text, at, "v"});
  std::vector<KeyValues> keys = present;
  for (int i = 0; i < 992; ++i) keys.push_back({std::to_string(5000 + i), "absent", "2026-01-01 00:00:00"});
  // Another key's parts crossed: each part is somewhere, the key is not.
  keys.push_back({present[0][0], present[1][1], present[0][2]});
  db::SqlText sel = rows.SelectByKeys(keys);
  std::set<KeyValues> found;
  for (const db::Row& r : conn->Query(sel.sql, sel.params).rows) found.insert({*r[0], *r[1], *r[2]});
  EXPECT_EQ(found, std::set<KeyValues>(present.begin(), present.end()));
  db::SqlText del = rows.DeleteByKeys(keys);
  EXPECT_EQ(conn->Execute(del.sql, del.params), static_cast<int64_t>(present.size()));
  EXPECT_EQ(conn->Query("SELECT v FROM " + conn->Quote("sst_multi_keys")).Text(0, "v"), "99");
}

TEST_P(RowSqlTest, ChecksumsAgreeOnCopiesAndNameTheKeyThatDiffers) {
  auto conn = Connect();
  DropTable a(*conn, "sst_sum_a");
  DropTable b(*conn, "sst_sum_b");
  Fill(*conn, "sst_sum_a", 300);
  Fill(*conn, "sst_sum_b", 300);
  db::RowSql ra = Rows("sst_sum_a");
  db::RowSql rb = Rows("sst_sum_b");
  auto sum = [&](const db::RowSql& r, std::optional<KeyValues> lo, std::optional<KeyValues> hi) {
    db::SqlText q = r.Checksum(lo, hi);
    db::ResultSet res = conn->Query(q.sql, q.params);
    return std::make_pair(res.Text(0, "n"), res.Text(0, "h"));
  };
  EXPECT_EQ(sum(ra, std::nullopt, std::nullopt), sum(rb, std::nullopt, std::nullopt));
  EXPECT_EQ(sum(ra, std::nullopt, std::nullopt).first, "600");
  // NULL and '' must not hash alike, nor a value moved to a neighbouring column.
  conn->Execute("UPDATE sst_sum_b SET v = '' WHERE a = 5 AND b = 'x'");  // was NULL
  KeyValues lo{"4", "y"};
  KeyValues hi{"6", "x"};
  EXPECT_NE(sum(ra, lo, hi), sum(rb, lo, hi));
  EXPECT_EQ(sum(ra, hi, std::nullopt), sum(rb, hi, std::nullopt));  // the rest still agrees
  // Narrowing down: the per-row hashes differ at exactly that key.
  db::SqlText ha = ra.RowHashes(lo, hi);
  db::SqlText hb = rb.RowHashes(lo, hi);
  db::ResultSet xa = conn->Query(ha.sql, ha.params);
  db::ResultSet xb = conn->Query(hb.sql, hb.params);
  ASSERT_EQ(xa.rows.size(), xb.rows.size());
  std::vector<std::string> differing;
  for (size_t i = 0; i < xa.rows.size(); ++i) {
    if (xa.rows[i] != xb.rows[i]) differing.push_back(*xa.rows[i][0] + "/" + *xa.rows[i][1]);
  }
  EXPECT_EQ(differing, std::vector<std::string>{"5/x"});
}

TEST_P(RowSqlTest, ChecksumNextSumsASegmentAndNamesItsLastKey) {
  auto conn = Connect();
  DropTable t(*conn, "sst_next");
  Fill(*conn, "sst_next", 100);  // (1, x) .. (100, y): 200 rows
  db::RowSql rows = Rows("sst_next");
  auto next = [&](std::optional<KeyValues> after, int64_t n) {
    db::SqlText q = rows.ChecksumNext(after, n);
    return conn->Query(q.sql, q.params);
  };
  auto sum = [&](std::optional<KeyValues> lo, std::optional<KeyValues> hi) {
    db::SqlText q = rows.Checksum(lo, hi);
    db::ResultSet r = conn->Query(q.sql, q.params);
    return std::make_pair(r.Text(0, "n"), r.Text(0, "h"));
  };
  // The 7 rows after (10, x): (10, y) .. (13, y), as the walk of chunks would find them.
  db::ResultSet seg = next(KeyValues{"10", "x"}, 7);
  ASSERT_EQ(seg.rows.size(), 1u);
  EXPECT_EQ(*seg.rows[0][0], "7");
  EXPECT_EQ((KeyValues{*seg.rows[0][2], *seg.rows[0][3]}), (KeyValues{"13", "y"}));
  EXPECT_EQ(*seg.rows[0][1], sum(KeyValues{"10", "x"}, KeyValues{"13", "y"}).second);
  // From the start, and a tail shorter than asked for: the count says so and the key is the last.
  db::ResultSet first = next(std::nullopt, 3);
  EXPECT_EQ((KeyValues{*first.rows[0][2], *first.rows[0][3]}), (KeyValues{"2", "x"}));
  db::ResultSet tail = next(KeyValues{"99", "x"}, 50);
  EXPECT_EQ(*tail.rows[0][0], "3");
  EXPECT_EQ((KeyValues{*tail.rows[0][2], *tail.rows[0][3]}), (KeyValues{"100", "y"}));
  EXPECT_EQ(*tail.rows[0][1], sum(KeyValues{"99", "x"}, std::nullopt).second);
  EXPECT_TRUE(next(KeyValues{"100", "y"}, 50).rows.empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, RowSqlTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
