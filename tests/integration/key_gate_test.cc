// The key gate (planner/key_gate_sql.h), both engines, with real sessions: while a cutover's
// transaction holds the gate of tenant 7, a writer of tenant 7 waits and a writer of tenant 8 does
// not; the hold itself waited for a transaction that had written tenant 7 and was still open; once
// the gate is fenced and the hold commits, the waiting writer and every later write of tenant 7
// (an insert, an update into it, a delete) fail with the gate's message, while tenant 8 and
// shardshift's own sessions write on; a transaction whose snapshot predates the fence cannot write
// through it; opening the gate lets tenant 7 write again; removing it leaves no trigger.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "db/error.h"
#include "planner/key_gate_sql.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

using namespace std::chrono_literals;

class KeyGateTest : public EngineTest {};

TEST_P(KeyGateTest, HoldsAndFencesOnlyTheMovedKeys) {
  auto exec = catalog_->Connect(Db("range_0"));  // shardshift's session
  DropTable drop(*exec, "sst_gate_orders");
  exec->Execute(std::string("CREATE TABLE sst_gate_orders (tenant_id bigint NOT NULL, id bigint NOT NULL, note "
                            "varchar(40) NOT NULL, PRIMARY KEY (tenant_id, id))") + (pg() ? "" : " ENGINE=InnoDB"));
  const std::string migration = fmt::format("sst-gate-{}", ::getpid());
  const planner::KeyGateSql gate =
      planner::BuildKeyGate(GetParam(), {"", "sst_gate_orders"}, migration, "tenant_id", {"7", "70"}, "open",
                            "tenant moved to shard_b by " + migration);
  struct RemoveGate {
    db::Connection& c;
    const planner::KeyGateSql& g;
    ~RemoveGate() {
      try {
        for (const std::string& s : g.remove) c.Execute(s);
        for (const std::string& s : g.remove_row) c.Execute(s);
      } catch (...) {  // NOLINT: best effort in a destructor
      }
    }
  } remove_gate{*exec, gate};
  for (int round = 0; round < 2; ++round) {  // creating it again changes nothing
    for (const std::string& s : gate.create) exec->Execute(s);
  }
  auto app7 = Connect("range_0");
  auto app8 = Connect("range_0");
  auto early = Connect("range_0");
  app7->SetLockTimeout(30000);
  app8->SetLockTimeout(30000);
  // Open: both tenants write.
  app7->Execute("INSERT INTO sst_gate_orders VALUES (7, 1, 'a')");
  app8->Execute("INSERT INTO sst_gate_orders VALUES (8, 1, 'a')");

  // A transaction that wrote tenant 7 and is still open when the cutover comes.
  early->Begin();
  early->Execute("INSERT INTO sst_gate_orders VALUES (7, 2, 'early')");
  auto cut = catalog_->Connect(Db("range_0"));
  cut->SetLockTimeout(30000);
  cut->Begin();
  std::atomic<bool> held{false};
  auto holding = std::async(std::launch::async, [&] {
    for (const std::string& s : gate.hold) cut->Execute(s);
    held = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(held) << "the hold must wait for the open transaction that wrote tenant 7";
  // Other tenants write meanwhile, also while the hold waits.
  app8->Execute("INSERT INTO sst_gate_orders VALUES (8, 2, 'while the hold waits')");
  early->Commit();
  holding.get();
  EXPECT_TRUE(held);

  // Held: tenant 7 waits, tenant 8 does not.
  std::atomic<bool> seven_done{false};
  auto seven = std::async(std::launch::async, [&]() -> std::string {
    try {
      app7->Execute("INSERT INTO sst_gate_orders VALUES (7, 3, 'during the hold')");
      seven_done = true;
      return "committed";
    } catch (const db::Error& e) {
      seven_done = true;
      return e.what();
    }
  });
  app8->Execute("INSERT INTO sst_gate_orders VALUES (8, 3, 'during the hold')");
  app8->Execute("UPDATE sst_gate_orders SET note = 'b' WHERE tenant_id = 8");
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(seven_done) << "a writer of a moved tenant must wait on the hold";
  // shardshift's own sessions pass the gate (the drain writes behind it).
  auto exec2 = catalog_->Connect(Db("range_0"));
  exec2->Execute("UPDATE sst_gate_orders SET note = 'drained' WHERE tenant_id = 7 AND id = 1");

  // Fenced in the holding transaction; its commit releases the waiting writer into the fence.
  for (const std::string& s : gate.fence) cut->Execute(s);
  cut->Commit();
  const std::string waited = seven.get();
  EXPECT_NE(waited.find("tenant moved to shard_b by " + migration), std::string::npos) << waited;
  for (const std::string& sql : {std::string("INSERT INTO sst_gate_orders VALUES (70, 1, 'x')"),
                                 std::string("UPDATE sst_gate_orders SET note = 'c' WHERE tenant_id = 7"),
                                 std::string("UPDATE sst_gate_orders SET tenant_id = 7 WHERE tenant_id = 8 AND id = 1"),
                                 std::string("DELETE FROM sst_gate_orders WHERE tenant_id = 7")}) {
    try {
      app7->Execute(sql);
      ADD_FAILURE() << "the fence let through: " << sql;
    } catch (const db::Error& e) {
      EXPECT_NE(std::string(e.what()).find("tenant moved to shard_b"), std::string::npos) << sql << ": " << e.what();
    }
  }
  app8->Execute("INSERT INTO sst_gate_orders VALUES (8, 4, 'after the fence')");
  EXPECT_EQ(exec->Query("SELECT state FROM _shardshift_key_gates WHERE migration = '" + migration + "'").Text(0, "state"),
            "fenced");
  EXPECT_EQ(exec->Query(gate.state_sql).Text(0, "state"), "fenced");
  // Nothing of tenant 7 was written by the application after the hold; its row 2 (committed before) is there.
  EXPECT_EQ(exec->Query("SELECT COUNT(*) AS n FROM sst_gate_orders WHERE tenant_id = 7").Text(0, "n"), "2");
  EXPECT_EQ(exec->Query("SELECT note FROM sst_gate_orders WHERE tenant_id = 7 AND id = 1").Text(0, "note"), "drained");
  EXPECT_EQ(exec->Query("SELECT COUNT(*) AS n FROM sst_gate_orders WHERE tenant_id = 8").Text(0, "n"), "4");

  // Opening it again (a revert's way): tenant 7 writes. A transaction whose snapshot predates a
  // fence cannot write through it.
  cut->Begin();
  for (const std::string& s : gate.hold) cut->Execute(s);
  for (const std::string& s : gate.open) cut->Execute(s);
  cut->Commit();
  app7->Execute("INSERT INTO sst_gate_orders VALUES (7, 4, 'reopened')");
  db::TxOptions rr;
  rr.isolation = db::Isolation::kRepeatableRead;
  app7->Begin(rr);
  app7->Query("SELECT COUNT(*) AS n FROM sst_gate_orders");
  cut->Begin();
  for (const std::string& s : gate.hold) cut->Execute(s);
  for (const std::string& s : gate.fence) cut->Execute(s);
  cut->Commit();
  EXPECT_THROW(app7->Execute("INSERT INTO sst_gate_orders VALUES (7, 5, 'old snapshot')"), db::Error);
  app7->Rollback();
  EXPECT_EQ(exec->Query("SELECT COUNT(*) AS n FROM sst_gate_orders WHERE tenant_id = 7 AND id = 5").Text(0, "n"), "0");

  for (const std::string& s : gate.remove) exec->Execute(s);
  app7->Execute("INSERT INTO sst_gate_orders VALUES (7, 6, 'no gate')");
  const std::string triggers =
      pg() ? "SELECT COUNT(*) AS n FROM pg_trigger WHERE tgrelid = 'sst_gate_orders'::regclass AND NOT tgisinternal"
           : "SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_TABLE = 'sst_gate_orders' AND "
             "TRIGGER_SCHEMA = DATABASE()";
  EXPECT_EQ(exec->Query(triggers).Text(0, "n"), "0");
}

INSTANTIATE_TEST_SUITE_P(Engines, KeyGateTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
