// Log capture on a real PostgreSQL: the pump reads the table's changes from a logical slot
// (pgoutput) and queues their keys in the changelog, with no trigger on the table. Every committed
// write is queued once the pump has caught up (both keys of a key change; nothing of a rolled-back
// write or of another table); a pump stopped or cut off by a server restart loses nothing when the
// next one starts; a large transaction arrives whole; a TRUNCATE stops it, naming the table.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "db/error.h"
#include "executors/log_capture.h"
#include "planner/capture_sql.h"
#include "sandbox/sandbox.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

using namespace std::chrono_literals;

class LogCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestConfigPath().empty()) << "SHARDSHIFT_TEST_CONFIG is not set: run through ctest";
    catalog_ = std::make_unique<db::Catalog>(TestCatalog());
    db::ConnectOptions app;
    app.application_name = "shardshift-test";
    app.executor_session = false;
    conn_ = catalog_->Connect("pg_range_0", app);
    conn_->Execute("DROP TABLE IF EXISTS sst_logged");
    conn_->Execute("DROP TABLE IF EXISTS sst_unlogged_other");
    conn_->Execute("CREATE TABLE sst_logged (a int NOT NULL, b text NOT NULL, v text, PRIMARY KEY (a, b))");
    conn_->Execute("CREATE TABLE sst_unlogged_other (id int PRIMARY KEY)");
    db::SchemaInfo schema = conn_->Introspect({"public", "sst_logged", false});
    ASSERT_EQ(schema.tables.size(), 1u);
    capture_ = planner::BuildLogCapture(schema.tables[0], {"a", "b"}, "sst-log-test", "pg_range_0");
    Remove();
    for (const std::string& sql : capture_.install) conn_->Execute(sql);
  }
  void TearDown() override {
    pump_.reset();
    Remove();
    conn_->Execute("DROP TABLE IF EXISTS sst_logged");
    conn_->Execute("DROP TABLE IF EXISTS sst_unlogged_other");
  }
  void Remove() {
    for (int attempt = 0; attempt < 50; ++attempt) {
      try {
        for (const std::string& sql : capture_.remove) conn_->Execute(sql);
        return;
      } catch (const db::Error&) {  // the slot's session is still ending
        std::this_thread::sleep_for(100ms);
      }
    }
  }
  void StartPump(db::RowFilter only = {}) {
    pump_ = std::make_unique<executors::LogCapture>(
        *catalog_, "pg_range_0", executors::LogSource{capture_.slot, capture_.publication, 0, {}},
        std::vector<executors::CapturedTable>{{{"", "sst_logged"}, {"a", "b"}, capture_.changelog, std::move(only)}});
  }
  std::vector<std::string> Log() {
    db::ResultSet r = conn_->Query("SELECT a, b, _ss_op FROM " + conn_->Quote(capture_.changelog) + " ORDER BY _ss_id");
    std::vector<std::string> out;
    for (const auto& row : r.rows) out.push_back(*row[2] + " " + *row[0] + "/" + *row[1]);
    return out;
  }
  std::set<std::string> LoggedKeys() {
    std::set<std::string> out;
    for (const std::string& e : Log()) out.insert(e.substr(2));
    return out;
  }

  std::unique_ptr<db::Catalog> catalog_;
  std::unique_ptr<db::Connection> conn_;
  planner::CaptureSql capture_;
  std::unique_ptr<executors::LogCapture> pump_;
};

TEST_F(LogCaptureTest, QueuesEveryCommittedKeyWithoutATrigger) {
  StartPump();
  conn_->Execute("INSERT INTO sst_logged VALUES (1, 'x', 'one'), (2, 'y', NULL)");
  conn_->Execute("UPDATE sst_logged SET v = 'uno' WHERE a = 1");  // key unchanged: one entry
  conn_->Execute("UPDATE sst_logged SET a = 20 WHERE a = 2");     // key changed: old and new
  {
    db::Transaction tx(*conn_);
    conn_->Execute("DELETE FROM sst_logged WHERE a = 1");
  }  // rolled back: no entry
  {
    db::Transaction tx(*conn_);  // one transaction over the moved table and another
    conn_->Execute("INSERT INTO sst_unlogged_other VALUES (7)");
    conn_->Execute("DELETE FROM sst_logged WHERE a = 20");
    tx.Commit();
  }
  pump_->CatchUp(10s);
  EXPECT_EQ(Log(), (std::vector<std::string>{"I 1/x", "I 2/y", "U 1/x", "U 2/y", "U 20/y", "D 20/y"}));
  EXPECT_EQ(conn_->Query("SELECT count(*) AS n FROM pg_trigger WHERE tgrelid = 'sst_logged'::regclass").Text(0, "n"),
            "0");
  // Caught up with nothing new: at once, and nothing more is queued.
  pump_->CatchUp(10s);
  EXPECT_EQ(Log().size(), 6u);
}

// A key move's pump: only the changes of rows whose a is 1 or 5 (a is in the replica identity, the
// primary key), in either image: a row that enters or leaves those values counts.
TEST_F(LogCaptureTest, QueuesOnlyTheChangesOfTheFilteredRows) {
  StartPump({"a", {"1", "5"}});
  conn_->Execute("INSERT INTO sst_logged VALUES (1, 'x', 'one'), (2, 'y', 'two')");
  conn_->Execute("UPDATE sst_logged SET v = 'deux' WHERE a = 2");  // another value's row: nothing
  conn_->Execute("UPDATE sst_logged SET a = 5 WHERE a = 2");       // enters the values
  conn_->Execute("UPDATE sst_logged SET a = 3 WHERE a = 1");       // leaves them
  conn_->Execute("UPDATE sst_logged SET v = 'trois' WHERE a = 3");
  conn_->Execute("DELETE FROM sst_logged WHERE a = 3");
  conn_->Execute("DELETE FROM sst_logged WHERE a = 5");
  pump_->CatchUp(10s);
  EXPECT_EQ(Log(), (std::vector<std::string>{"I 1/x", "U 2/y", "U 5/y", "U 1/x", "U 3/x", "D 5/y"}));
}

TEST_F(LogCaptureTest, APumpStoppedAgainAndAgainUnderAWriterLosesNothing) {
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    db::ConnectOptions app;
    app.executor_session = false;
    auto c = catalog_->Connect("pg_range_0", app);
    std::mt19937 rng(7);
    while (!stop) {
      const int n = written++;
      c->Execute("INSERT INTO sst_logged VALUES ($1, 'w', 'v')", {std::to_string(n)});
      c->Execute("UPDATE sst_logged SET v = v || '+' WHERE a = $1 AND b = 'w'", {std::to_string(rng() % (n + 1))});
    }
  });
  for (int round = 0; round < 5; ++round) {  // a new pump each time: what was not confirmed comes again
    StartPump();
    std::this_thread::sleep_for(300ms);
    pump_.reset();
    std::this_thread::sleep_for(100ms);  // written while no pump runs: the slot keeps it
  }
  stop = true;
  writer.join();
  StartPump();
  pump_->CatchUp(20s);
  std::set<std::string> logged = LoggedKeys();
  int missing = 0;
  for (int i = 0; i < written; ++i) missing += logged.count(std::to_string(i) + "/w") == 0;
  EXPECT_GT(written, 200) << "the writer hardly ran";
  EXPECT_EQ(missing, 0) << "of " << written << " keys written";
}

TEST_F(LogCaptureTest, ALargeTransactionArrivesWholeAndATruncateStopsThePump) {
  StartPump();
  conn_->Execute("INSERT INTO sst_logged SELECT g, 'big', 'v' FROM generate_series(1, 50000) g");
  conn_->Execute("UPDATE sst_logged SET v = 'w'");
  pump_->CatchUp(60s);
  std::vector<std::string> log = Log();
  EXPECT_EQ(log.size(), 100'000u);
  EXPECT_EQ(LoggedKeys().size(), 50'000u);
  conn_->Execute("TRUNCATE sst_logged");
  try {
    pump_->CatchUp(10s);
    ADD_FAILURE() << "a TRUNCATE of the moved table went unnoticed";
  } catch (const db::Error& e) {
    EXPECT_NE(std::string(e.what()).find("sst_logged was truncated on the source"), std::string::npos) << e.what();
  }
}

TEST_F(LogCaptureTest, AServerRestartMidStreamLosesNothing) {
  StartPump();
  conn_->Execute("INSERT INTO sst_logged SELECT g, 'before', 'v' FROM generate_series(1, 1000) g");
  // The restart comes while the pump may hold those keys gathered, not yet queued (it gathers for
  // up to 200 ms): the server shutting down asks the stream how far it got, and the answer must
  // not move the slot past keys that are not durable yet. (A parallel test run once found 1000
  // keys missing here; the stream then confirmed the sender's position in that answer, which it no
  // longer does. Not reproduced on demand.)
  std::this_thread::sleep_for(50ms);
  sandbox::Sandbox(std::filesystem::path(TestConfigPath()).parent_path().string()).RestartPostgres();
  EXPECT_THROW(pump_->CatchUp(10s), db::Error);  // its stream was cut
  pump_.reset();
  db::ConnectOptions app;
  app.executor_session = false;
  conn_ = catalog_->Connect("pg_range_0", app);
  conn_->Execute("INSERT INTO sst_logged SELECT g, 'after', 'v' FROM generate_series(1, 1000) g");
  StartPump();
  pump_->CatchUp(20s);
  std::set<std::string> logged = LoggedKeys();
  int missing_before = 0;
  int missing_after = 0;
  for (int i = 1; i <= 1000; ++i) {
    missing_before += logged.count(std::to_string(i) + "/before") == 0;
    missing_after += logged.count(std::to_string(i) + "/after") == 0;
  }
  EXPECT_EQ(missing_before, 0) << "written before the restart";
  EXPECT_EQ(missing_after, 0) << "written after the restart";
}

// A commit is in the WAL, and streamed, a moment before other sessions can see what it wrote.
// Replay re-reads a queued key's row, so a key queued in that moment would copy the row as it was,
// and the change would be lost (a deferred cutover under a writer lost an update so in CI). Here
// the moment is held open: with a synchronous standby named that never connects, a commit is
// flushed locally and then waits for it, invisible to others. The pump queues the key only once
// the change can be read.
TEST_F(LogCaptureTest, QueuesAKeyOnlyOnceOtherSessionsCanReadItsChange) {
  conn_->Execute("INSERT INTO sst_logged VALUES (1, 'x', 'before')");
  StartPump();
  pump_->CatchUp(10s);
  const size_t queued_before = Log().size();
  struct Restore {
    db::Connection& c;
    ~Restore() {
      c.Execute("ALTER SYSTEM RESET synchronous_standby_names");
      c.Execute("SELECT pg_reload_conf()");
    }
  } restore{*conn_};
  conn_->Execute("ALTER SYSTEM SET synchronous_standby_names = 'sst_standby_that_never_comes'");
  conn_->Execute("SELECT pg_reload_conf()");
  db::ConnectOptions app;
  app.executor_session = false;
  auto held = catalog_->Connect("pg_range_0", app);
  const std::string pid = held->Query("SELECT pg_backend_pid()::text AS p").Text(0, "p");
  held->Execute("SET synchronous_commit = on");
  std::thread writer([&] { held->Execute("UPDATE sst_logged SET v = 'after' WHERE a = 1"); });
  struct Join {
    std::thread& t;
    db::Connection& c;
    ~Join() {
      if (!t.joinable()) return;
      c.Execute("ALTER SYSTEM RESET synchronous_standby_names");
      c.Execute("SELECT pg_reload_conf()");
      t.join();
    }
  } join{writer, *conn_};
  bool waiting = false;
  for (int i = 0; i < 100 && !waiting; ++i) {
    waiting = conn_->Query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = " + pid +
                           " AND wait_event = 'SyncRep'").Text(0, "n") == "1";
    if (!waiting) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(waiting) << "the update did not wait for the standby";
  // Flushed and decodable: the slot's stream has it. Others still read the old row.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(conn_->Query("SELECT v FROM sst_logged WHERE a = 1").Text(0, "v"), "before");
  EXPECT_EQ(Log().size(), queued_before) << "a key was queued while its change could not be read yet";
  conn_->Execute("ALTER SYSTEM RESET synchronous_standby_names");
  conn_->Execute("SELECT pg_reload_conf()");
  writer.join();
  pump_->CatchUp(10s);
  EXPECT_EQ(Log().size(), queued_before + 1);
  EXPECT_EQ(conn_->Query("SELECT v FROM sst_logged WHERE a = 1").Text(0, "v"), "after");
}

}  // namespace
}  // namespace shardshift::testing
