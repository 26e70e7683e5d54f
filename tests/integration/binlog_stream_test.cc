// MariaDB's binary log read as a replica reads it, on the sandbox's MariaDB (log_bin, ROW format):
// every committed write of the wanted table gives its key, in commit order (both keys of a key
// change; nothing of a rolled-back write or of another table), for keys of every kind the reader
// decodes, with row images FULL and MINIMAL; a stream started again at the GTID state of the last
// transaction it returned loses nothing and repeats nothing, across a rotation of the log (FLUSH
// BINARY LOGS); a large transaction of wide rows arrives whole; a TRUNCATE of the table stops it,
// naming the table; a GTID the server never logged is refused, naming the server.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "db/binlog_stream.h"
#include "db/error.h"
#include "executors/log_capture.h"
#include "planner/capture_sql.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

using namespace std::chrono_literals;

class BinlogStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestConfigPath().empty()) << "SHARDSHIFT_TEST_CONFIG is not set: run through ctest";
    catalog_ = std::make_unique<db::Catalog>(TestCatalog());
    db::ConnectOptions app;
    app.application_name = "shardshift-test";
    app.executor_session = false;
    conn_ = catalog_->Connect("my_range_0", app);
    conn_->Execute("DROP TABLE IF EXISTS sst_binlogged");
    conn_->Execute("DROP TABLE IF EXISTS sst_binlog_other");
    conn_->Execute("CREATE TABLE sst_binlogged (a int NOT NULL, b varchar(20) NOT NULL, c char(3), d decimal(12,3), "
                   "e datetime(3), f text, g bigint unsigned, PRIMARY KEY (a, b)) ENGINE=InnoDB");
    conn_->Execute("CREATE TABLE sst_binlog_other (id int PRIMARY KEY) ENGINE=InnoDB");
  }
  void TearDown() override {
    conn_->Execute("DROP TABLE IF EXISTS sst_binlogged");
    conn_->Execute("DROP TABLE IF EXISTS sst_binlog_other");
  }
  db::BinlogPosition Now() { return db::BinlogStream::ServerPosition(*conn_); }
  std::string Gtid() { return conn_->Query("SELECT @@gtid_binlog_pos AS p").Text(0, "p"); }
  std::unique_ptr<db::BinlogStream> Open(const std::string& from, const std::string& table = "sst_binlogged",
                                         std::vector<std::string> key = {"a", "b"}, db::RowFilter only = {}) {
    return std::make_unique<db::BinlogStream>(catalog_->Url("my_range_0"), "my_range_0", 4000 + ::getpid() % 1000,
                                              from, std::vector<db::StreamTable>{
                                                            {{"", table}, key, std::move(only)}});
  }
  // What the stream returns until it has received every transaction committed before `until`.
  std::vector<std::string> ReadUntil(db::BinlogStream& s, const db::BinlogPosition& until, std::string* resume = nullptr) {
    std::vector<std::string> out;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (;;) {
      db::StreamBatch b = s.Read(200ms, 10000);
      for (const db::RowChange& c : b.changes) {
        std::string key;
        for (const std::string& k : c.key) key += (key.empty() ? "" : "/") + k;
        out.push_back(std::string(1, c.op) + " " + key);
      }
      if (resume != nullptr && !b.resume.empty()) *resume = b.resume;
      if (b.received >= until.lsn()) return out;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "the stream did not reach " << until.ToString() << " in 20 s";
        return out;
      }
    }
  }

  std::unique_ptr<db::Catalog> catalog_;
  std::unique_ptr<db::Connection> conn_;
};

TEST_F(BinlogStreamTest, GivesEveryCommittedKeyInCommitOrder) {
  auto stream = Open(Gtid());
  conn_->Execute("INSERT INTO sst_binlogged VALUES (1, 'x', 'abc', 12.5, '2026-01-02 03:04:05.678', repeat('t', 300), "
                 "18446744073709551615), (-2, 'y', NULL, NULL, NULL, NULL, NULL)");
  conn_->Execute("UPDATE sst_binlogged SET f = 'short' WHERE a = 1");  // key unchanged: one entry
  conn_->Execute("UPDATE sst_binlogged SET a = 20 WHERE a = -2");      // key changed: old and new
  {
    db::Transaction tx(*conn_);
    conn_->Execute("DELETE FROM sst_binlogged WHERE a = 1");
  }  // rolled back: nothing
  {
    db::Transaction tx(*conn_);  // one transaction over the moved table and another
    conn_->Execute("INSERT INTO sst_binlog_other VALUES (7)");
    conn_->Execute("DELETE FROM sst_binlogged WHERE a = 20");
    tx.Commit();
  }
  conn_->Execute("SET SESSION binlog_row_image = 'MINIMAL'");  // the before image holds the key only
  conn_->Execute("UPDATE sst_binlogged SET c = 'zz' WHERE a = 1");
  conn_->Execute("UPDATE sst_binlogged SET b = 'xx' WHERE a = 1");
  conn_->Execute("SET SESSION binlog_row_image = 'FULL'");
  EXPECT_EQ(ReadUntil(*stream, Now()), (std::vector<std::string>{"I 1/x", "I -2/y", "U 1/x", "U -2/y", "U 20/y",
                                                                 "D 20/y", "U 1/x", "U 1/x", "U 1/xx"}));
}

// A key move's stream: only the changes of rows whose g is 7, in either image (a row that enters
// or leaves the value counts), and those whose before image does not show g (MINIMAL, g not in
// the primary key), which may be such rows.
TEST_F(BinlogStreamTest, GivesOnlyTheChangesOfTheFilteredRows) {
  auto stream = Open(Gtid(), "sst_binlogged", {"a", "b"}, {"g", {"7"}});
  conn_->Execute("INSERT INTO sst_binlogged (a, b, g) VALUES (1, 'x', 7), (2, 'y', 8), (3, 'z', 8)");
  conn_->Execute("UPDATE sst_binlogged SET c = 'q' WHERE a = 2");  // another value's row: nothing
  conn_->Execute("UPDATE sst_binlogged SET g = 7 WHERE a = 2");    // enters the value
  conn_->Execute("UPDATE sst_binlogged SET g = 9 WHERE a = 1");    // leaves it
  conn_->Execute("DELETE FROM sst_binlogged WHERE a = 1");         // no longer 7: nothing
  conn_->Execute("SET SESSION binlog_row_image = 'MINIMAL'");      // before images without g
  conn_->Execute("UPDATE sst_binlogged SET c = 'm' WHERE a = 3");
  conn_->Execute("DELETE FROM sst_binlogged WHERE a = 3");
  conn_->Execute("SET SESSION binlog_row_image = 'FULL'");
  EXPECT_EQ(ReadUntil(*stream, Now()), (std::vector<std::string>{"I 1/x", "U 2/y", "U 1/x", "U 3/z", "D 3/z"}));
}

TEST_F(BinlogStreamTest, ReadsKeysOfEveryKindItDecodes) {
  conn_->Execute("CREATE OR REPLACE TABLE sst_binlog_keys (u bigint unsigned NOT NULL, t tinyint NOT NULL, "
                 "d date NOT NULL, dt datetime(6) NOT NULL, ts timestamp(2) NOT NULL, ch char(4) NOT NULL, "
                 "other text, PRIMARY KEY (u, t, d, dt, ts, ch))");
  auto stream = Open(Gtid(), "sst_binlog_keys", {"u", "t", "d", "dt", "ts", "ch"});
  conn_->Execute("INSERT INTO sst_binlog_keys VALUES (18446744073709551614, -128, '2024-02-29', "
                 "'1999-12-31 23:59:59.000001', '2030-06-01 12:00:00.25', 'ab', 'x')");
  EXPECT_EQ(ReadUntil(*stream, Now()),
            (std::vector<std::string>{
                "I 18446744073709551614/-128/2024-02-29/1999-12-31 23:59:59.000001/2030-06-01 12:00:00.25/ab"}));
  // The text reads back as the same row.
  EXPECT_EQ(conn_->Query("SELECT count(*) AS n FROM sst_binlog_keys WHERE u = '18446744073709551614' AND t = '-128' "
                         "AND d = '2024-02-29' AND dt = '1999-12-31 23:59:59.000001' AND ts = '2030-06-01 "
                         "12:00:00.25' AND ch = 'ab'")
                .Text(0, "n"),
            "1");
  conn_->Execute("DROP TABLE sst_binlog_keys");
}

TEST_F(BinlogStreamTest, StartedAgainWhereItStoppedLosesNothingAcrossARotation) {
  const db::BinlogPosition start = Now();
  const std::string from = Gtid();
  std::set<std::string> written;
  auto write = [&](int first, int last) {
    for (int i = first; i < last; ++i) {
      conn_->Execute("INSERT INTO sst_binlogged (a, b) VALUES (?, 'r')", {std::to_string(i)});
      written.insert("I " + std::to_string(i) + "/r");
    }
  };
  write(0, 50);
  std::string resume;
  auto stream = Open(from);
  std::vector<std::string> first = ReadUntil(*stream, Now(), &resume);
  ASSERT_FALSE(resume.empty());
  EXPECT_EQ(resume.rfind("0-", 0), 0u) << resume;
  stream.reset();
  write(50, 100);
  conn_->Execute("FLUSH BINARY LOGS");
  write(100, 150);
  const db::BinlogPosition end = Now();
  EXPECT_GT(end.lsn() >> 32, start.lsn() >> 32) << "the log did not rotate";
  auto again = Open(resume);
  std::vector<std::string> second = ReadUntil(*again, end);
  std::set<std::string> got(first.begin(), first.end());
  got.insert(second.begin(), second.end());
  EXPECT_EQ(got, written);
  EXPECT_EQ(first.size() + second.size(), written.size()) << "from the GTID of its last commit, nothing twice";
}

TEST_F(BinlogStreamTest, ALargeTransactionOfWideRowsArrivesWholeAndATruncateStopsIt) {
  auto stream = Open(Gtid());
  {
    db::Transaction tx(*conn_);
    conn_->Execute("INSERT INTO sst_binlogged (a, b, f) SELECT seq, 'big', repeat('w', 20000) FROM seq_1_to_2000");
    conn_->Execute("UPDATE sst_binlogged SET c = 'u' WHERE b = 'big'");
    tx.Commit();
  }
  std::vector<std::string> got = ReadUntil(*stream, Now());
  ASSERT_EQ(got.size(), 4000u);
  EXPECT_EQ(got.front(), "I 1/big");
  EXPECT_EQ(got.back(), "U 2000/big");
  conn_->Execute("TRUNCATE TABLE sst_binlogged");
  try {
    ReadUntil(*stream, Now());
    ADD_FAILURE() << "a TRUNCATE of the table did not stop the stream";
  } catch (const db::Error& e) {
    EXPECT_EQ(e.kind(), db::ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find("sst_binlogged was truncated"), std::string::npos) << e.what();
  }
}

TEST_F(BinlogStreamTest, AGtidNeverLoggedIsRefusedNamingTheServer) {
  try {
    auto stream = Open("0-1-999999999");
    stream->Read(2s, 10);
    ADD_FAILURE() << "a stream from a GTID the server never logged started";
  } catch (const db::Error& e) {
    EXPECT_NE(std::string(e.what()).find("my_range_0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("0-1-999999999"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(catalog_->Url("my_range_0").password), std::string::npos) << e.what();
  }
}

// A commit is in the binary log, and streamed, a moment before InnoDB commits it and other
// sessions can see what it wrote. Replay re-reads a queued key's row, so a key queued in that
// moment would copy the row as it was, and the change would be lost. Here the moment is held open:
// semi-synchronous replication waiting after the log's sync (AFTER_SYNC) for a replica that never
// answers holds the commit until its timeout. The capture's queued key must not be readable before
// the change is. (MariaDB commits in binary log order, so the queueing transaction, logged after
// the change, becomes visible after it: the capture relies on that, and this checks it.)
TEST_F(BinlogStreamTest, ACaptureQueuesAKeyOnlyOnceOtherSessionsCanReadItsChange) {
  conn_->Execute("INSERT INTO sst_binlogged (a, b, f) VALUES (1, 'x', 'before')");
  db::SchemaInfo schema = conn_->Introspect({"", "sst_binlogged", false});
  ASSERT_EQ(schema.tables.size(), 1u);
  const planner::CaptureSql capture =
      planner::BuildBinlogCapture(schema.tables[0], {"a", "b"}, "sst-binlog-visible", "my_range_0");
  for (const std::string& sql : capture.remove) conn_->Execute(sql);
  for (const std::string& sql : capture.install) conn_->Execute(sql);
  auto pump = std::make_unique<executors::LogCapture>(
      *catalog_, "my_range_0", executors::LogSource{"", "", capture.server_id, capture.position},
      std::vector<executors::CapturedTable>{{{"", "sst_binlogged"}, {"a", "b"}, capture.changelog, {}}});
  const std::string count = "SELECT count(*) AS n FROM " + conn_->Quote(capture.changelog);
  pump->CatchUp(10s);
  const std::string queued_before = conn_->Query(count).Text(0, "n");
  db::ResultSet was = conn_->Query(
      "SELECT @@rpl_semi_sync_master_enabled AS e, @@rpl_semi_sync_master_timeout AS t, "
      "@@rpl_semi_sync_master_wait_point AS w");
  struct Restore {
    db::Connection& c;
    std::string enabled, timeout, point;
    ~Restore() {
      c.Execute("SET GLOBAL rpl_semi_sync_master_enabled = " + enabled);
      c.Execute("SET GLOBAL rpl_semi_sync_master_timeout = " + timeout);
      c.Execute("SET GLOBAL rpl_semi_sync_master_wait_point = '" + point + "'");
    }
  } restore{*conn_, was.Text(0, "e"), was.Text(0, "t"), was.Text(0, "w")};
  conn_->Execute("SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC'");
  conn_->Execute("SET GLOBAL rpl_semi_sync_master_timeout = 4000");
  conn_->Execute("SET GLOBAL rpl_semi_sync_master_enabled = ON");
  db::ConnectOptions app;
  app.executor_session = false;
  auto held = catalog_->Connect("my_range_0", app);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    held->Execute("UPDATE sst_binlogged SET f = 'after' WHERE a = 1");
    done = true;
  });
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{writer};
  // Logged and streamed, waiting for the replica's answer: others still read the old row.
  std::this_thread::sleep_for(1500ms);
  ASSERT_FALSE(done) << "the update did not wait for a semi-synchronous replica";
  EXPECT_EQ(conn_->Query("SELECT f FROM sst_binlogged WHERE a = 1").Text(0, "f"), "before");
  EXPECT_EQ(conn_->Query(count).Text(0, "n"), queued_before)
      << "a key was queued while its change could not be read yet";
  writer.join();  // the semi-synchronous wait timed out: committed
  pump->CatchUp(10s);
  EXPECT_EQ(std::stoi(conn_->Query(count).Text(0, "n")), std::stoi(queued_before) + 1);
  EXPECT_EQ(conn_->Query("SELECT f FROM sst_binlogged WHERE a = 1").Text(0, "f"), "after");
  pump.reset();
  for (const std::string& sql : capture.remove) conn_->Execute(sql);
}

}  // namespace
}  // namespace shardshift::testing
