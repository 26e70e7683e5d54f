// Connections a catalog reuses (db::Catalog::ReuseConnections, on in the shardshift command), on
// both engines: a session handed out again is the same server session with nothing its last user
// left (locks, settings, temporary tables, character set) and the fixed settings of a new one; a
// connection dropped inside a transaction, or one the server ended while it waited, is not handed
// out; sessions of different options are not mixed.
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <thread>

#include "db/error.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class ReusedConnectionTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    reusing_ = std::make_unique<db::Catalog>(TestCatalog());
    reusing_->ReuseConnections(true);
    observer_ = catalog_->Connect(Db("range_0"));  // not reused: it watches the others
  }
  std::unique_ptr<db::Connection> Take(bool executor = true) {
    db::ConnectOptions options;
    options.executor_session = executor;
    return reusing_->Connect(Db("range_0"), options);
  }
  std::string Session(db::Connection& c) {
    return c.Query(pg() ? "SELECT pg_backend_pid()::text AS id" : "SELECT CONNECTION_ID() AS id").Text(0, "id");
  }
  bool SessionExists(const std::string& id) {
    return !observer_
                ->Query(pg() ? "SELECT 1 FROM pg_stat_activity WHERE pid = $1::int"
                             : "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ?",
                        {id})
                .rows.empty();
  }
  // Waits up to 5 s for a session to end.
  bool Ended(const std::string& id) {
    for (int i = 0; i < 100; ++i) {
      if (!SessionExists(id)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::unique_ptr<db::Catalog> reusing_;
  std::unique_ptr<db::Connection> observer_;
};

TEST_P(ReusedConnectionTest, ASessionHandedOutAgainHoldsNothingItsLastUserLeft) {
  auto c = Take();
  const std::string id = Session(*c);
  if (pg()) {
    c->ExecuteScript("SET lock_timeout = '1234ms'; SET TIME ZONE 'America/New_York'; SET DateStyle = 'SQL, DMY'; "
                     "SET shardshift.session = 'off'; SET search_path = pg_catalog");
    c->Query("SELECT pg_advisory_lock(424242)");
    c->Execute("CREATE TEMPORARY TABLE sst_reused_tmp (x int)");
    EXPECT_EQ(observer_->Query("SELECT pg_try_advisory_lock(424242) AS got").Text(0, "got"), "f");
  } else {
    c->Execute("SET time_zone = '+05:00', @shardshift_session = NULL, SESSION lock_wait_timeout = 7");
    c->Execute("SET NAMES latin1");
    EXPECT_EQ(c->Query("SELECT GET_LOCK('sst_reused', 0) AS got").Text(0, "got"), "1");
    c->Execute("CREATE TEMPORARY TABLE sst_reused_tmp (x int)");
    EXPECT_EQ(observer_->Query("SELECT IS_FREE_LOCK('sst_reused') AS free").Text(0, "free"), "0");
  }
  c.reset();  // back to the idle list

  // Let go at once, as closing it did: another session takes the lock.
  if (pg()) {
    EXPECT_EQ(observer_->Query("SELECT pg_try_advisory_lock(424242) AS got").Text(0, "got"), "t");
    observer_->Query("SELECT pg_advisory_unlock(424242)");
  } else {
    EXPECT_EQ(observer_->Query("SELECT IS_FREE_LOCK('sst_reused') AS free").Text(0, "free"), "1");
  }
  auto again = Take();
  EXPECT_EQ(Session(*again), id) << "not reused";
  EXPECT_THROW(again->Query("SELECT * FROM sst_reused_tmp"), db::Error) << "the temporary table outlived its user";
  if (pg()) {
    db::ResultSet r = again->Query(
        "SELECT current_setting('lock_timeout') AS lt, current_setting('TimeZone') AS tz, current_setting('DateStyle') "
        "AS ds, current_setting('shardshift.session') AS ss, current_setting('search_path') AS sp, "
        "current_setting('bytea_output') AS bo, '2026-01-02 03:04:05+00'::timestamptz::text AS t");
    EXPECT_EQ(r.Text(0, "lt"), "0");
    EXPECT_EQ(r.Text(0, "tz"), "UTC");
    EXPECT_EQ(r.Text(0, "ds"), "ISO, YMD");
    EXPECT_EQ(r.Text(0, "ss"), "on") << "an executor session's mark was not made again";
    EXPECT_NE(r.Text(0, "sp"), "pg_catalog");
    EXPECT_EQ(r.Text(0, "bo"), "hex");
    EXPECT_EQ(r.Text(0, "t"), "2026-01-02 03:04:05+00");
  } else {
    db::ResultSet r = again->Query(
        "SELECT @@session.time_zone AS tz, @shardshift_session AS ss, @@session.lock_wait_timeout = "
        "@@global.lock_wait_timeout AS lt, @@session.character_set_client AS cs, @@session.character_set_results AS cr");
    EXPECT_EQ(r.Text(0, "tz"), "+00:00");
    EXPECT_EQ(r.Text(0, "ss"), "1") << "an executor session's mark was not made again";
    EXPECT_EQ(r.Text(0, "lt"), "1");
    EXPECT_EQ(r.Text(0, "cs"), "utf8mb4");
    EXPECT_EQ(r.Text(0, "cr"), "utf8mb4");
  }
  EXPECT_EQ(again->Query(pg() ? "SELECT $1::text AS v" : "SELECT ? AS v", {"é ✓ 𝄞"}).Text(0, "v"), "é ✓ 𝄞");
}

TEST_P(ReusedConnectionTest, ASessionDroppedInATransactionIsClosedAndItsWritesRolledBack) {
  observer_->Execute("DROP TABLE IF EXISTS sst_reused_tx");
  observer_->Execute("CREATE TABLE sst_reused_tx (x int PRIMARY KEY)");
  auto c = Take();
  const std::string id = Session(*c);
  c->Begin();
  c->Execute("INSERT INTO sst_reused_tx VALUES (1)");
  c.reset();
  EXPECT_TRUE(Ended(id)) << "a session dropped in a transaction was kept";
  EXPECT_EQ(observer_->Query("SELECT COUNT(*) AS n FROM sst_reused_tx").Text(0, "n"), "0");
  auto next = Take();
  EXPECT_NE(Session(*next), id);
  observer_->Execute("DROP TABLE sst_reused_tx");
}

TEST_P(ReusedConnectionTest, ASessionTheServerEndedWhileItWaitedIsReplaced) {
  auto c = Take();
  const std::string id = Session(*c);
  c.reset();
  ASSERT_TRUE(SessionExists(id));
  if (pg()) {
    observer_->Query("SELECT pg_terminate_backend($1::int)", {id});
  } else {
    observer_->Execute("KILL CONNECTION " + id);
  }
  ASSERT_TRUE(Ended(id));
  auto next = Take();
  EXPECT_NE(Session(*next), id);
  EXPECT_EQ(next->Query("SELECT 2 AS v").Text(0, "v"), "2");
}

TEST_P(ReusedConnectionTest, SessionsOfDifferentOptionsAreNotMixed) {
  auto executor = Take(true);
  const std::string id = Session(*executor);
  executor.reset();
  auto application = Take(false);
  EXPECT_NE(Session(*application), id) << "an executor's session was handed to a caller that asked for a plain one";
  if (pg()) {
    EXPECT_EQ(application->Query("SELECT current_setting('shardshift.session', true) AS s").At(0, "s").value_or(""), "")
        << "a plain session carries the executor's mark";
  } else {
    EXPECT_FALSE(application->Query("SELECT @shardshift_session AS s").At(0, "s").has_value())
        << "a plain session carries the executor's mark";
  }
  // Reuse off: what waits is closed, and nothing goes back.
  reusing_->ReuseConnections(false);
  EXPECT_TRUE(Ended(id));
}

INSTANTIATE_TEST_SUITE_P(Engines, ReusedConnectionTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
