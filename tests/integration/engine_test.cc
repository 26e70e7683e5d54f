// Every engine feature of db/, on both engines, against real servers.
#include <atomic>
#include <thread>

#include "db/error.h"
#include "db/pool.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

using db::Chunk;
using db::Error;
using db::ErrorKind;
using db::Param;
using db::Value;

std::string AllBytes() {
  std::string out;
  for (int i = 0; i < 256; ++i) out += static_cast<char>(i);
  return out;
}

// PostgreSQL shows bytea as \x hex; MySQL gives the raw bytes.
std::string Bytes(bool pg, const Value& v) {
  if (!pg) return *v;
  std::string out;
  for (size_t i = 2; i + 1 < v->size(); i += 2) out += static_cast<char>(std::stoi(v->substr(i, 2), nullptr, 16));
  return out;
}

class ValuesTest : public EngineTest {};

const std::string kUnicode = "ünïcödé 表 🚀 'quote' \"dq\" back\\slash tab\t nl\n cr\r end";
const std::string kThirtyDigits = "12345678901234567890.1234567890";

TEST_P(ValuesTest, AwkwardValuesRoundTripThroughStreamingReadAndBulkWrite) {
  auto conn = Connect();
  DropTable src(*conn, "sst_values");
  DropTable dst(*conn, "sst_values_copy");
  for (const std::string& name : {src.name(), dst.name()}) {
    conn->Execute(std::string("CREATE TABLE ") + conn->Quote(name) +
                  Sql(" (id int PRIMARY KEY, t text, b bytea, n numeric(40,10), ts timestamptz, "
                      "j jsonb, f float8)",
                      " (id INT PRIMARY KEY, t TEXT, b LONGBLOB, n DECIMAL(40,10), ts TIMESTAMP(6) NULL, "
                      "j JSON, f DOUBLE) CHARACTER SET utf8mb4"));
  }
  std::string insert = "INSERT INTO sst_values (id, t, b, n, ts, j, f) VALUES (" + P(1) + ", " +
                       P(2) + ", " + P(3) + ", " + P(4) + ", " + P(5) + ", " + P(6) + ", " + P(7) + ")";
  const char* ts3 = pg() ? "2024-02-29 23:59:59.999999+05:30" : "2024-02-29 18:29:59.999999";
  conn->Execute(insert, {1, "", Param::Binary(""), "0", pg() ? "1970-01-01 00:00:01+00" : "1970-01-01 00:00:01",
                         "{}", "0"});
  conn->Execute(insert, {2, std::nullopt, Param(std::nullopt), std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  conn->Execute(insert, {3, kUnicode, Param::Binary(AllBytes()), kThirtyDigits, ts3,
                         "{\"a\": [1, 2.5, \"x\"], \"nested\": {\"k\": null}}", "1.0000000000000002"});
  conn->Execute(insert, {4, "a'); DROP TABLE sst_values; --", Param::Binary(std::string("\0\0\\x00", 6)),
                         "-0.0000000001", pg() ? "1999-12-31 23:00:00-08" : "2000-01-01 07:00:00",
                         "\"just a string\"", "-1e-300"});

  // Stream in chunks of 3: 4 rows come as 3 + 1, and each chunk goes straight to the bulk writer.
  auto stream = conn->Stream("SELECT id, t, b, n, ts, j, f FROM sst_values ORDER BY id", {}, 3);
  std::vector<size_t> sizes;
  Chunk chunk;
  auto writer = Connect();
  while (stream->Next(chunk)) {
    sizes.push_back(chunk.rows.size());
    writer->BulkInsert({"", "sst_values_copy"}, {"id", "t", "b", "n", "ts", "j", "f"}, chunk);
  }
  stream.reset();
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 1}));

  db::ResultSet a = conn->Query("SELECT id, t, b, n, ts, j, f FROM sst_values ORDER BY id");
  db::ResultSet b = conn->Query("SELECT id, t, b, n, ts, j, f FROM sst_values_copy ORDER BY id");
  ASSERT_EQ(a.rows.size(), 4u);
  EXPECT_EQ(a.rows, b.rows);
  // What a user would check: the values themselves.
  EXPECT_EQ(a.At(0, "t"), Value(""));            // empty string stays empty, not NULL
  EXPECT_EQ(Bytes(pg(), a.At(0, "b")), "");
  for (const char* col : {"t", "b", "n", "ts", "j", "f"}) EXPECT_EQ(a.At(1, col), std::nullopt) << col;
  EXPECT_EQ(a.At(2, "t"), Value(kUnicode));
  EXPECT_EQ(Bytes(pg(), a.At(2, "b")), AllBytes());
  EXPECT_EQ(Bytes(pg(), b.At(2, "b")), AllBytes());
  EXPECT_EQ(a.At(2, "n"), Value(kThirtyDigits));
  EXPECT_EQ(a.At(2, "ts"), Value(pg() ? "2024-02-29 18:29:59.999999+00" : "2024-02-29 18:29:59.999999"));
  EXPECT_EQ(a.At(3, "t"), Value("a'); DROP TABLE sst_values; --"));
  EXPECT_EQ(Bytes(pg(), a.At(3, "b")), std::string("\0\0\\x00", 6));
  // The database agrees the copies are equal, compared as typed values.
  db::ResultSet same = conn->Query(Sql(
      "SELECT count(*) AS n FROM sst_values a JOIN sst_values_copy b USING (id) WHERE "
      "a.t IS NOT DISTINCT FROM b.t AND a.b IS NOT DISTINCT FROM b.b AND a.n IS NOT DISTINCT FROM b.n "
      "AND a.ts IS NOT DISTINCT FROM b.ts AND a.j IS NOT DISTINCT FROM b.j AND a.f IS NOT DISTINCT FROM b.f",
      "SELECT count(*) AS n FROM sst_values a JOIN sst_values_copy b USING (id) WHERE "
      "BINARY a.t <=> BINARY b.t AND a.b <=> b.b AND a.n <=> b.n AND a.ts <=> b.ts "
      "AND BINARY a.j <=> BINARY b.j AND a.f <=> b.f"));
  EXPECT_EQ(same.Text(0, "n"), "4");
}

TEST_P(ValuesTest, ParametersAreDataNeverSql) {
  auto conn = Connect();
  DropTable t(*conn, "sst_params");
  conn->Execute("CREATE TABLE sst_params (id int PRIMARY KEY, v text)");
  const std::string evil = "x'); DROP TABLE sst_params; -- ? $1 \\'";
  conn->Execute("INSERT INTO sst_params (id, v) VALUES (" + P(1) + ", " + P(2) + ")", {1, evil});
  db::ResultSet r = conn->Query("SELECT '?' AS q, v FROM sst_params WHERE id = " + P(1), {1});
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.Text(0, "q"), "?");
  EXPECT_EQ(r.Text(0, "v"), evil);
  EXPECT_THROW(conn->Query("SELECT " + P(1) + " AS a", {1, 2}), Error);  // one placeholder, two values
  EXPECT_THROW(conn->Query("SELECT " + P(1) + " AS a, " + P(2) + " AS b", {1}), Error);  // two, one
}

TEST_P(ValuesTest, StreamingHoldsOneChunkAndCanBeAbandoned) {
  auto conn = Connect();
  auto sql = Sql("SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 10000) AS g ORDER BY g",
                 "SELECT seq AS id, REPEAT('x', 100) AS pad FROM seq_1_to_10000 ORDER BY seq");
  auto stream = conn->Stream(sql, {}, 1000);
  Chunk chunk;
  size_t chunks = 0;
  size_t rows = 0;
  int64_t last = 0;
  while (stream->Next(chunk)) {
    ++chunks;
    EXPECT_LE(chunk.rows.size(), 1000u);
    for (const auto& row : chunk.rows) {
      int64_t id = std::stoll(*row[0]);
      EXPECT_EQ(id, last + 1);  // in order, none lost or repeated
      last = id;
    }
    rows += chunk.rows.size();
  }
  EXPECT_EQ(rows, 10000u);
  EXPECT_EQ(chunks, 10u);
  EXPECT_FALSE(stream->Next(chunk));  // stays finished
  stream.reset();

  auto early = conn->Stream(sql, {}, 100);
  ASSERT_TRUE(early->Next(chunk));
  EXPECT_EQ(chunk.rows.size(), 100u);
  early.reset();  // abandon the other 9900 rows
  EXPECT_EQ(conn->Query("SELECT 41 + 1 AS v").Text(0, "v"), "42");
}

class TransactionTest : public EngineTest {};

TEST_P(TransactionTest, RollsBackUnlessCommitted) {
  auto conn = Connect();
  DropTable t(*conn, "sst_tx");
  conn->Execute(Sql("CREATE TABLE sst_tx (id int PRIMARY KEY)", "CREATE TABLE sst_tx (id int PRIMARY KEY) ENGINE=InnoDB"));
  {
    db::Transaction tx(*conn);
    conn->Execute("INSERT INTO sst_tx VALUES (1)");
    EXPECT_TRUE(conn->InTransaction());
  }  // no Commit: rolled back
  EXPECT_FALSE(conn->InTransaction());
  EXPECT_EQ(conn->Query("SELECT count(*) AS n FROM sst_tx").Text(0, "n"), "0");
  {
    db::Transaction tx(*conn);
    conn->Execute("INSERT INTO sst_tx VALUES (2)");
    tx.Commit();
  }
  EXPECT_EQ(conn->Query("SELECT count(*) AS n FROM sst_tx").Text(0, "n"), "1");
}

TEST_P(TransactionTest, SnapshotReadsDoNotSeeLaterCommits) {
  auto reader = Connect();
  auto writer = Connect();
  DropTable t(*writer, "sst_snapshot");
  writer->Execute(Sql("CREATE TABLE sst_snapshot (id int PRIMARY KEY)",
                      "CREATE TABLE sst_snapshot (id int PRIMARY KEY) ENGINE=InnoDB"));
  writer->Execute("INSERT INTO sst_snapshot VALUES (1)");
  {
    db::Transaction snap(*reader, db::TxOptions::Snapshot());
    EXPECT_EQ(reader->Query("SELECT count(*) AS n FROM sst_snapshot").Text(0, "n"), "1");
    writer->Execute("INSERT INTO sst_snapshot VALUES (2)");
    EXPECT_EQ(reader->Query("SELECT count(*) AS n FROM sst_snapshot").Text(0, "n"), "1");
    EXPECT_THROW(reader->Execute("INSERT INTO sst_snapshot VALUES (3)"), Error);  // read only
    snap.Rollback();
  }
  EXPECT_EQ(reader->Query("SELECT count(*) AS n FROM sst_snapshot").Text(0, "n"), "2");
}

TEST_P(TransactionTest, LockTimeoutIsRetryableAndKeepsTheConnection) {
  auto holder = Connect();
  auto waiter = Connect();
  DropTable t(*holder, "sst_locks");
  holder->Execute(Sql("CREATE TABLE sst_locks (id int PRIMARY KEY, v int)",
                      "CREATE TABLE sst_locks (id int PRIMARY KEY, v int) ENGINE=InnoDB"));
  holder->Execute("INSERT INTO sst_locks VALUES (1, 1)");
  db::Transaction tx(*holder);
  holder->Query("SELECT v FROM sst_locks WHERE id = 1 FOR UPDATE");
  waiter->SetLockTimeout(200);
  try {
    waiter->Execute("UPDATE sst_locks SET v = 2 WHERE id = 1");
    FAIL() << "the update did not wait for the lock";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kLockTimeout) << e.what();
    EXPECT_TRUE(e.retryable());
    EXPECT_TRUE(e.connection_usable());
    EXPECT_EQ(e.statement(), "UPDATE sst_locks SET v = 2 WHERE id = 1");
  }
  tx.Rollback();
  EXPECT_EQ(waiter->Execute("UPDATE sst_locks SET v = 2 WHERE id = 1"), 1);
}

TEST_P(TransactionTest, UniqueConflictInBulkWriteIsAnErrorNamingTheKeyAndWritesNothing) {
  auto conn = Connect();
  DropTable t(*conn, "sst_unique");
  conn->Execute(Sql("CREATE TABLE sst_unique (id int PRIMARY KEY, v text)",
                    "CREATE TABLE sst_unique (id int PRIMARY KEY, v text) ENGINE=InnoDB"));
  conn->Execute("INSERT INTO sst_unique VALUES (7, 'old')");
  Chunk rows;
  rows.columns = {{"id", "int", false}, {"v", "text", false}};
  rows.rows = {{"6", "new"}, {"7", "new"}, {"8", "new"}};
  try {
    conn->BulkInsert({"", "sst_unique"}, {"id", "v"}, rows);
    FAIL() << "a duplicate key was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUniqueViolation) << e.what();
    EXPECT_NE(std::string(e.what()).find(pg() ? "Key (id)=(7) already exists" : "Duplicate entry '7'"),
              std::string::npos) << e.what();
  }
  EXPECT_EQ(conn->Query("SELECT count(*) AS n FROM sst_unique").Text(0, "n"), "1");
  EXPECT_EQ(conn->Query("SELECT v FROM sst_unique").Text(0, "v"), "old");
}

TEST_P(TransactionTest, ScriptsRunEveryStatementAndStopAtAnError) {
  auto conn = Connect();
  DropTable t(*conn, "sst_script");
  conn->ExecuteScript("CREATE TABLE sst_script (id int PRIMARY KEY);\n"
                      "INSERT INTO sst_script VALUES (1);\nINSERT INTO sst_script VALUES (2);");
  EXPECT_EQ(conn->Query("SELECT count(*) AS n FROM sst_script").Text(0, "n"), "2");
  EXPECT_THROW(conn->ExecuteScript("INSERT INTO sst_script VALUES (3); INSERT INTO sst_script VALUES (1);"
                                   " INSERT INTO sst_script VALUES (4);"),
               Error);
  EXPECT_EQ(conn->Query("SELECT 1 AS one").Text(0, "one"), "1");  // still usable
  // The statement after the failure did not run.
  EXPECT_EQ(conn->Query("SELECT count(*) AS n FROM sst_script WHERE id = 4").Text(0, "n"), "0");
}

class ConnectTest : public EngineTest {};

TEST_P(ConnectTest, WrongPasswordIsAnAuthErrorThatHidesThePassword) {
  db::ConnectionUrl url = catalog_->Url(Db("app"));
  url.password = "not-the-password";
  try {
    db::Connect(url, Db("app"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kAuth) << e.what();
    EXPECT_TRUE(e.is_bad_input());
    EXPECT_EQ(std::string(e.what()).find("not-the-password"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("database '" + Db("app") + "'"), std::string::npos) << e.what();
  }
}

TEST_P(ConnectTest, RefusedAndMissingDatabaseAreClassified) {
  db::ConnectionUrl url = catalog_->Url(Db("app"));
  db::ConnectionUrl refused = url;
  refused.port = 1;
  try {
    db::Connect(refused, "nowhere");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConnect) << e.what();
  }
  db::ConnectionUrl missing = url;
  missing.database = "sst_no_such_database";
  try {
    db::Connect(missing, "missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnknownDatabase) << e.what();
  }
}

TEST_P(ConnectTest, PoolBoundsConnectionsAndDiscardsOnesLeftInATransaction) {
  db::Pool pool(catalog_->Url(Db("app")), Db("app"), 2);
  std::atomic<int> held{0};
  std::atomic<int> max_held{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      db::Pool::Lease lease = pool.Acquire();
      StoreMax(max_held, ++held);
      lease->Query(Sql("SELECT pg_sleep(0.05)", "SELECT SLEEP(0.05)"));
      --held;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(max_held.load(), 2);
  EXPECT_EQ(pool.open_count(), 2u);
  {
    db::Pool::Lease lease = pool.Acquire();
    lease->Begin();
  }  // returned inside a transaction: closed, not reused
  EXPECT_EQ(pool.open_count(), 1u);
  db::Pool::Lease again = pool.Acquire();
  EXPECT_FALSE(again->InTransaction());
}

INSTANTIATE_TEST_SUITE_P(Engines, ValuesTest,
                         ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL), EngineParamName);
INSTANTIATE_TEST_SUITE_P(Engines, TransactionTest,
                         ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL), EngineParamName);
INSTANTIATE_TEST_SUITE_P(Engines, ConnectTest,
                         ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL), EngineParamName);

}  // namespace
}  // namespace shardshift::testing
