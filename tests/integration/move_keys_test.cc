// move_keys (issue 22) on both engines, its changes captured from the log (capture "auto" on the
// sandbox) unless a test says triggers: two colocated tables hash-sharded by tenant over two shards,
// a directory created over that layout, and one hot tenant holding 40% of its shard moved to a
// third database while an application writes for that tenant (routing by the directory, re-reading
// it when a write is refused) and for another tenant of the same shard. The apply is killed in the
// copy, after steps, with the keys held, and after the window committed; each next apply continues.
// Inside the cutover's window (the during_cutover hook waits for the test) a write of the other
// tenant on the old shard commits while a write of the moved tenant waits on the hold. Afterwards
// the directory routes the tenant to the new shard, every row the application committed for it is
// there and nowhere else after cleanup, the old shard refuses its writes with the gate's message
// naming where it went, the other tenant's rows are intact, and `verify` agrees. Between the
// switch and cleanup the move is reverted under the writer (killed with the new shard's gate held,
// and after its fence committed) and applied forward again; the cleanup's chunked delete is killed
// half way and finished by the next run.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "db/error.h"
#include "planner/directory_sql.h"
#include "plans/routing.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

using namespace std::chrono_literals;

class MoveKeysTest : public EngineTest {
 protected:
  static std::string Name(const std::string& what) {
    return fmt::format("sst-mk-{}-{}-{}", what, getpid(),
                       std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  }
  void Schema(db::Connection& c) {
    const std::string e = pg() ? "" : " ENGINE=InnoDB";
    c.Execute("CREATE TABLE sst_mk_orders (tenant_id bigint NOT NULL, id bigint NOT NULL, total int NOT NULL, "
              "PRIMARY KEY (tenant_id, id))" + e);
    c.Execute("CREATE TABLE sst_mk_items (tenant_id bigint NOT NULL, id bigint NOT NULL, order_id bigint NOT NULL, "
              "sku varchar(20) NOT NULL, PRIMARY KEY (tenant_id, id))" + e);
  }
  void Seed(db::Connection& c, int64_t tenant, int rows) {
    const std::string series = pg() ? fmt::format("generate_series(1, {}) g", rows) : fmt::format("seq_1_to_{}", rows);
    const std::string g = pg() ? "g" : "seq";
    c.Execute(fmt::format("INSERT INTO sst_mk_orders SELECT {0}, {1}, 10 FROM {2}", tenant, g, series));
    c.Execute(fmt::format("INSERT INTO sst_mk_items SELECT {0}, {1}, {1}, 'seed' FROM {2}", tenant, g, series));
  }
  // The three shards' connections and the application database's. The tests' tables on the shards
  // and the directory in the application database are dropped now and when the test ends, and
  // shards 0 and 1 get the tables.
  struct Place {
    std::unique_ptr<db::Connection> s0, s1, s2, app;
    std::vector<std::unique_ptr<DropTable>> drops;
    std::unique_ptr<AtScopeExit> directory_dropped;
  };
  std::unique_ptr<Place> Open() {
    auto p = std::make_unique<Place>();
    p->s0 = Connect("hash_0");
    p->s1 = Connect("hash_1");
    p->s2 = Connect("hash_2");
    p->app = Connect("app");
    for (db::Connection* c : {p->s0.get(), p->s1.get(), p->s2.get()}) {
      p->drops.push_back(std::make_unique<DropTable>(*c, std::vector<std::string>{"sst_mk_items", "sst_mk_orders"}));
    }
    db::Connection* app = p->app.get();
    auto drop_directory = [app] {
      app->Execute("DROP TABLE IF EXISTS sst_mk_directory_layout");
      app->Execute("DROP TABLE IF EXISTS sst_mk_directory");
    };
    drop_directory();
    p->directory_dropped = std::make_unique<AtScopeExit>(AtScopeExit{[drop_directory] {
      try {
        drop_directory();
      } catch (...) {  // NOLINT: best effort
      }
    }});
    Schema(*p->s0);
    Schema(*p->s1);
    return p;
  }
  // Tenants 1..tenants, each seeded with `rows` rows a table on its hash shard (0 or 1), but the
  // first of shard 0 (the hot one, left empty). Returns it and the next tenant of shard 0.
  std::pair<int64_t, int64_t> SeedTenants(Place& p, int tenants, int rows) {
    int64_t hot = 0, other = 0;
    for (int64_t t = 1; t <= tenants; ++t) {
      const bool zero = plans::ShardForKey({std::to_string(t)}, 2) == 0;
      if (zero && hot == 0) {
        hot = t;
        continue;
      }
      if (zero && other == 0) other = t;
      Seed(zero ? *p.s0 : *p.s1, t, rows);
    }
    return {hot, other};
  }
  // A directory over the two shards' hash layout, made directly: every tenant stays where it is.
  void MakeDirectory(db::Connection& app) {
    for (const std::string& sql : planner::CreateDirectorySql(
             GetParam(), {"", "sst_mk_directory"},
             {1, {"sst_mk_orders"}, "tenant_id", "xxh64-jump-v1", {Db("hash_0"), Db("hash_1")}, {}})) {
      app.Execute(sql);
    }
  }
  // Plans (only) a move of a tenant of shard 0 to hash_2 with [options] capture, in a folder of its
  // own: the plan's text, how many of its tables a stream filters (the rest triggers capture), and
  // the CLI's answer. The tables stay empty: planning is what is checked.
  struct CapturePlanned {
    CliRun run;
    std::string text;
    size_t logged = 0;
  };
  CapturePlanned PlanCapture(const std::string& name, const std::string& capture) {
    int64_t hot = 1;
    while (plans::ShardForKey({std::to_string(hot)}, 2) != 0) ++hot;
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(dir);
    const std::string spec = (dir / "spec.toml").string(), plan = (dir / "plan.toml").string();
    std::filesystem::remove(plan);
    std::ofstream(spec) << MoveSpec(name, hot, Db("hash_2"), fmt::format("[options]\ncapture = \"{}\"", capture));
    CapturePlanned out;
    out.run = ShardshiftAt(TestConfigPath(), {"plan", spec, "-o", plan});
    std::ifstream in(plan);
    out.text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    for (size_t at = out.text.find("capture_only_column"); at != std::string::npos;
         at = out.text.find("capture_only_column", at + 1)) {
      ++out.logged;
    }
    return out;
  }
  // A move_keys spec moving one tenant's orders and items to database `to` (a Db() name),
  // `extra` inserted before its [move_keys] table (options, hooks).
  std::string MoveSpec(const std::string& name, int64_t tenant, const std::string& to, const std::string& extra = "") const {
    return fmt::format(R"([migration]
name = "{}"
kind = "move_keys"
{}
[move_keys]
keys = [{}]
to = "{}"
tables = ["sst_mk_orders", "sst_mk_items"]
[move_keys.directory]
database = "{}"
table = "sst_mk_directory"
)",
                       name, extra, tenant, to, Db("app"));
  }
  // Another tenant of shard 0 writing an order every 2 ms until stop, counting its commits and its
  // longest write; an error is kept in unexpected (under mu).
  std::thread OtherTenantWriter(int64_t tenant, int64_t first_id, const std::atomic<bool>& stop,
                                std::atomic<int64_t>& committed, std::atomic<int64_t>& longest_us, std::mutex& mu,
                                std::vector<std::string>& unexpected) {
    return std::thread([=, this, &stop, &committed, &longest_us, &mu, &unexpected] {
      auto c = Connect("hash_0");
      for (int64_t next = first_id; !stop; ++next) {
        const auto t0 = std::chrono::steady_clock::now();
        try {
          c->Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, {}, 7)", tenant, next));
          ++committed;
        } catch (const db::Error& e) {
          std::lock_guard<std::mutex> hold(mu);
          if (unexpected.size() < 5) unexpected.push_back(std::string("other tenant: ") + e.what());
        }
        StoreMax(longest_us, static_cast<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                      std::chrono::steady_clock::now() - t0)
                                                      .count()));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }
  void FlatOut(const std::string& capture);
  // id -> "total" or "order|sku" of one tenant's rows on c.
  std::map<int64_t, std::string> Rows(db::Connection& c, const std::string& table, int64_t tenant) {
    const std::string v = table == "sst_mk_orders" ? (pg() ? "total::text" : "CAST(total AS CHAR)")
                                                   : (pg() ? "order_id || '|' || sku" : "CONCAT(order_id, '|', sku)");
    db::ResultSet r = c.Query(fmt::format("SELECT id, {} AS v FROM {} WHERE tenant_id = {}", v, table, tenant));
    std::map<int64_t, std::string> out;
    for (size_t i = 0; i < r.rows.size(); ++i) out[std::stoll(r.Text(i, "id"))] = r.Text(i, "v");
    return out;
  }
};

struct TenantModel {
  std::map<int64_t, std::string> orders, items;
};

// What an application's failed write means, its transaction rolled back: refused by the move's
// gate or fence (the directory says where to go), worth retrying (a deadlock or lock timeout), or
// unexpected.
enum class Failed { kRefused, kRetry, kUnexpected };
Failed WhyFailed(db::Connection& c, const db::Error& e, const std::string& migration) {
  if (c.Usable() && c.InTransaction()) c.Rollback();
  if (std::string(e.what()).find("shardshift migration '" + migration + "'") != std::string::npos) return Failed::kRefused;
  if (e.kind() == db::ErrorKind::kDeadlock || e.kind() == db::ErrorKind::kLockTimeout) return Failed::kRetry;
  return Failed::kUnexpected;
}

// One write of the application for a tenant on c, kept in its model once it committed. step 0
// inserts order and item `id` in one transaction, 1 sets order `id`'s total, 2 deletes item `id`.
void TenantWrite(db::Connection& c, TenantModel& model, int64_t tenant, int step, int64_t id, int total) {
  if (step == 0) {
    c.Begin();
    c.Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, {}, 1)", tenant, id));
    c.Execute(fmt::format("INSERT INTO sst_mk_items VALUES ({0}, {1}, {1}, 'app')", tenant, id));
    c.Commit();
    model.orders[id] = "1";
    model.items[id] = fmt::format("{}|app", id);
  } else if (step == 1) {
    if (c.Execute(fmt::format("UPDATE sst_mk_orders SET total = {} WHERE tenant_id = {} AND id = {}", total, tenant,
                              id)) > 0) {
      model.orders[id] = std::to_string(total);
    }
  } else {
    c.Execute(fmt::format("DELETE FROM sst_mk_items WHERE tenant_id = {} AND id = {}", tenant, id));
    model.items.erase(id);
  }
}

TEST_P(MoveKeysTest, MovesAHotTenantWhileOthersWriteOn) {
  auto place = Open();
  auto &s0 = place->s0, &s2 = place->s2;
  // 40 tenants of 20 rows a table, each on its hash shard; the hot one holds 40% of shard 0.
  const auto [hot, other] = SeedTenants(*place, 40, 20);
  const int64_t shard0_rows = std::stoll(s0->Query("SELECT COUNT(*) AS n FROM sst_mk_orders").Text(0, "n"));
  const int hot_rows = static_cast<int>(shard0_rows * 2 / 3);  // 40% of the shard with it
  Seed(*s0, hot, hot_rows);

  const std::string name = Name("move");
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::create_directories(dir);
  const std::string config = TestConfigPath();
  auto cli = [&](const std::vector<std::string>& args, const std::string& kill_at = "") {
    return ShardshiftAt(config, args, kill_at);
  };
  // The directory over the hash layout: every tenant stays where it is.
  const std::string dir_spec = (dir / "directory.toml").string();
  const std::string dir_plan = (dir / "directory-plan.toml").string();
  std::ofstream(dir_spec) << fmt::format(R"([migration]
name = "{0}-dir"
kind = "reshard"
[reshard]
table = "sst_mk_orders"
key = ["tenant_id", "id"]
shard_by = ["tenant_id"]
[reshard.source]
layout = "hash"
databases = ["{1}", "{2}"]
[reshard.target]
layout = "directory"
[reshard.target.directory]
database = "{3}"
table = "sst_mk_directory"
)",
                                         name, Db("hash_0"), Db("hash_1"), Db("app"));
  ASSERT_EQ(cli({"plan", dir_spec, "-o", dir_plan}).rc, 0);
  ASSERT_EQ(cli({"apply", dir_plan}).rc, 0);

  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  const std::string probe = (dir / "probe").string();
  const std::string in_window = (dir / "in-window").string();
  std::ofstream(spec) << MoveSpec(
      name, hot, Db("hash_2"),
      fmt::format("[options]\nchunk_rows = 100\n[hooks]\nduring_cutover = 'if [ -f {0} ]; then touch {1}; while [ -f {1} ]; "
                  "do sleep 0.05; done; fi'",
                  probe, in_window));
  CliRun planned = cli({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;

  // The application: the hot tenant's writes follow the directory; another tenant of shard 0 writes on.
  TenantModel model;
  for (int64_t i = 1; i <= hot_rows; ++i) {
    model.orders[i] = "10";
    model.items[i] = fmt::format("{}|seed", i);
  }
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> unexpected;
  std::atomic<int64_t> fenced{0}, committed{0}, other_committed{0}, on_new_shard{0};
  std::atomic<int64_t> other_longest_us{0};
  auto route = [&] {
    auto c = Connect("app");
    return planner::ReadDirectory(*c, {"", "sst_mk_directory"}, Db("app")).ShardOf(std::to_string(hot)).value_or("");
  };
  std::thread hot_writer([&] {
    std::map<std::string, std::unique_ptr<db::Connection>> conns;
    conns[Db("hash_0")] = Connect("hash_0");
    conns[Db("hash_2")] = Connect("hash_2");
    std::string at = route();
    int64_t next = 1'000'000;
    int step = 0;
    while (!stop) {
      db::Connection& c = *conns.at(at);
      try {
        std::lock_guard<std::mutex> hold(mu);
        const int64_t id = step == 0 ? next : 1 + ((step == 1 ? next : next * 7) % hot_rows);
        TenantWrite(c, model, hot, step, id, static_cast<int>(next % 1000));
        if (step == 0) ++next;
        ++committed;
        if (at == Db("hash_2")) ++on_new_shard;
        step = (step + 1) % 3;
      } catch (const db::Error& e) {
        const Failed why = WhyFailed(c, e, name);
        if (why == Failed::kRefused) {
          ++fenced;
          std::this_thread::sleep_for(20ms);
          try {
            at = route();  // the directory says where the tenant is now
          } catch (const db::Error&) {
          }
        } else if (why == Failed::kUnexpected) {
          std::lock_guard<std::mutex> hold(mu);
          if (unexpected.size() < 5) unexpected.push_back(at + ": " + e.what());
          std::this_thread::sleep_for(20ms);
        }
      }
      std::this_thread::sleep_for(2ms);
    }
  });
  std::thread other_writer =
      OtherTenantWriter(other, 2'000'000, stop, other_committed, other_longest_us, mu, unexpected);
  auto stop_app = [&] {
    if (stop.exchange(true)) return;
    hot_writer.join();
    other_writer.join();
  };
  AtScopeExit joiner{stop_app};
  std::this_thread::sleep_for(300ms);

  // Killed in the copy and after each of the first steps; then with the keys held.
  for (const char* kill_at : {"backfill.chunk:2", "step.ran:2", "step.ran:2", "step.ran:2", "cutover.blocked"}) {
    CliRun killed = cli({"apply", plan}, kill_at);
    ASSERT_TRUE(killed.killed) << "not killed at " << kill_at << ": " << killed.output;
    std::this_thread::sleep_for(300ms);
  }
  EXPECT_EQ(route(), Db("hash_0")) << "a cutover that was killed with the keys held moved nothing";

  // The window, probed: the hook waits while the test writes on shard 0.
  std::ofstream(probe) << "probe\n";
  auto window = std::async(std::launch::async, [&] { return cli({"apply", plan}, "step.ran"); });
  bool entered = false;
  for (int i = 0; i < 1200 && !entered; ++i) {
    entered = std::filesystem::exists(in_window);
    if (!entered) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(entered) << "the cutover never reached its during_cutover hook";
  {
    auto c = Connect("hash_0");
    c->SetLockTimeout(5000);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_NO_THROW(c->Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, 3000000, 9)", other)))
        << "another tenant's write waited on the move's window";
    std::cerr << fmt::format("another tenant's write inside the window took {} ms\n",
                             std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
    auto h = Connect("hash_0");
    h->SetLockTimeout(500);
    try {
      h->Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, 3000000, 9)", hot));
      ADD_FAILURE() << "the moved tenant wrote on the old shard inside the window";
    } catch (const db::Error& e) {
      // Held (a lock timeout), or refused by the fence.
      EXPECT_TRUE(e.kind() == db::ErrorKind::kLockTimeout ||
                  std::string(e.what()).find("shardshift migration '" + name + "'") != std::string::npos)
          << e.what();
    }
  }
  std::filesystem::remove(in_window);
  std::filesystem::remove(probe);
  CliRun in_window_run = window.get();
  EXPECT_TRUE(in_window_run.killed) << "expected the kill after the window: " << in_window_run.output;
  // Killed after the window committed, before the run recorded it: the switch was decided.
  CliRun finished;
  for (int run = 0; run < 30; ++run) {
    finished = cli({"apply", plan}, "step.ran:2");
    if (!finished.killed) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(finished.rc, 0) << finished.output;
  EXPECT_EQ(route(), Db("hash_2"));
  CliRun status = cli({"status", "--json", plan});
  EXPECT_NE(status.output.find("finished after an interrupted run"), std::string::npos) << status.output;
  std::this_thread::sleep_for(1000ms);  // the application writes the tenant on its new shard

  // Switched back with the writer running: killed with the new shard's gate held (nothing changed),
  // then after its fence committed (decided: a plain apply refuses, the next revert finishes it).
  const int64_t before_revert = on_new_shard.load();
  CliRun held = cli({"apply", "--revert", plan}, "revert.blocked");
  ASSERT_TRUE(held.killed) << held.output;
  EXPECT_EQ(route(), Db("hash_2")) << "a revert killed with the gate held moved the keys back";
  std::this_thread::sleep_for(300ms);
  EXPECT_GT(on_new_shard.load(), before_revert) << "the tenant's writes stopped after a revert was killed";
  // Uninterrupted, then forward again, then killed after the fence.
  CliRun whole = cli({"apply", "--revert", plan});
  ASSERT_EQ(whole.rc, 0) << whole.output;
  EXPECT_EQ(route(), Db("hash_0"));
  int64_t back_at = committed.load();
  std::this_thread::sleep_for(500ms);
  EXPECT_GT(committed.load(), back_at + 10) << "the tenant's writes did not resume on the old shard";
  ASSERT_EQ(cli({"apply", plan}).rc, 0);
  EXPECT_EQ(route(), Db("hash_2"));
  std::this_thread::sleep_for(500ms);
  CliRun fenced_back = cli({"apply", "--revert", plan}, "revert.fenced");
  ASSERT_TRUE(fenced_back.killed) << fenced_back.output;
  CliRun refused = cli({"apply", plan});
  EXPECT_EQ(refused.rc, 2) << refused.output;
  EXPECT_NE(refused.output.find("apply --revert"), std::string::npos) << refused.output;
  CliRun reverted = cli({"apply", "--revert", plan});
  ASSERT_EQ(reverted.rc, 0) << reverted.output;
  EXPECT_EQ(route(), Db("hash_0"));
  back_at = committed.load();
  std::this_thread::sleep_for(1000ms);  // the application writes the tenant on its old shard again
  EXPECT_GT(committed.load(), back_at + 20) << "the tenant's writes did not resume on the old shard";
  {
    std::lock_guard<std::mutex> hold(mu);  // between the application's writes
    EXPECT_EQ(Rows(*s0, "sst_mk_orders", hot), model.orders) << "the revert lost or invented rows on the old shard";
    EXPECT_EQ(Rows(*s0, "sst_mk_items", hot), model.items);
  }
  try {
    s2->Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, 5000000, 1)", hot));
    ADD_FAILURE() << "the new shard took a write of the tenant after the revert";
  } catch (const db::Error& e) {
    EXPECT_NE(std::string(e.what()).find("shardshift migration '" + name + "'"), std::string::npos) << e.what();
  }
  // And forward again, the writer still running.
  CliRun again = cli({"apply", plan});
  ASSERT_EQ(again.rc, 0) << again.output;
  EXPECT_EQ(route(), Db("hash_2"));
  std::this_thread::sleep_for(1000ms);
  stop_app();
  std::cerr << fmt::format("hot tenant: {} writes committed ({} on the new shard), {} refused by the fence; other "
                           "tenant: {} writes, longest {} ms\n",
                           committed.load(), on_new_shard.load(), fenced.load(), other_committed.load(),
                           other_longest_us.load() / 1000);
  EXPECT_TRUE(unexpected.empty()) << fmt::format("{}", fmt::join(unexpected, "\n"));
  EXPECT_GT(on_new_shard, 0) << "the application never wrote the tenant on its new shard";
  EXPECT_GT(other_committed, 100);
  ASSERT_EQ(cli({"apply", plan}).rc, 0);  // the way back copies the new shard's changes to the old copy

  // Every row the application committed for the tenant is on the new shard.
  EXPECT_EQ(Rows(*s2, "sst_mk_orders", hot), model.orders);
  EXPECT_EQ(Rows(*s2, "sst_mk_items", hot), model.items);
  EXPECT_EQ(s2->Query(fmt::format("SELECT COUNT(*) AS n FROM sst_mk_orders WHERE tenant_id <> {}", hot)).Text(0, "n"), "0");
  CliRun verified = cli({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
  // The way back kept the old copy current until cleanup.
  EXPECT_EQ(Rows(*s0, "sst_mk_orders", hot), model.orders);
  EXPECT_EQ(Rows(*s0, "sst_mk_items", hot), model.items);

  // Cleanup: the tenant's rows leave the old shard; its gate stays and refuses late writers.
  const int64_t other_rows = std::stoll(
      s0->Query(fmt::format("SELECT COUNT(*) AS n FROM sst_mk_orders WHERE tenant_id <> {}", hot)).Text(0, "n"));
  // Killed in the middle of the chunked delete: some of the tenant's rows are gone, the next run
  // deletes the rest.
  CliRun deleting = cli({"apply", "--cleanup", plan}, "cleanup.deleting:3");
  ASSERT_TRUE(deleting.killed) << deleting.output;
  const int64_t left = std::stoll(
      s0->Query(fmt::format("SELECT COUNT(*) AS n FROM sst_mk_orders WHERE tenant_id = {}", hot)).Text(0, "n")) +
                       std::stoll(s0->Query(fmt::format("SELECT COUNT(*) AS n FROM sst_mk_items WHERE tenant_id = {}", hot))
                                      .Text(0, "n"));
  EXPECT_GT(left, 0) << "the kill came after the whole delete";
  EXPECT_LT(left, static_cast<int64_t>(model.orders.size() + model.items.size())) << "the kill came before any chunk";
  CliRun cleaned = cli({"apply", "--cleanup", plan});
  ASSERT_EQ(cleaned.rc, 0) << cleaned.output;
  for (const char* table : {"sst_mk_orders", "sst_mk_items"}) {
    EXPECT_EQ(s0->Query(fmt::format("SELECT COUNT(*) AS n FROM {} WHERE tenant_id = {}", table, hot)).Text(0, "n"), "0")
        << table;
  }
  EXPECT_EQ(std::stoll(s0->Query(fmt::format("SELECT COUNT(*) AS n FROM sst_mk_orders WHERE tenant_id <> {}", hot))
                           .Text(0, "n")),
            other_rows);
  try {
    s0->Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, 4000000, 1)", hot));
    ADD_FAILURE() << "the old shard took a write of the moved tenant";
  } catch (const db::Error& e) {
    EXPECT_NE(std::string(e.what()).find("moved tenant_id " + std::to_string(hot) + " to " + Db("hash_2")),
              std::string::npos)
        << e.what();
  }
  s0->Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, 4000000, 1)", other));
  // The directory still routes every row left on the old shards where it is.
  CliRun placed = cli({"verify", dir_plan});
  EXPECT_EQ(placed.rc, 0) << placed.output;
  std::filesystem::remove_all(dir);
}

// Two sessions write the moved tenant with no pause between writes (inserts in transactions,
// updates, deletes; each routed by the directory, re-read when a write is refused), and a third
// writes another tenant of the shard, through the copy, a kill in it, the cutover and the way
// back. The move finishes while they write, and every row they committed is on the new shard.
// capture: the spec's option ("auto" reads the log: the sandbox allows it).
void MoveKeysTest::FlatOut(const std::string& capture) {
  auto place = Open();
  auto &s0 = place->s0, &s2 = place->s2;
  const auto [hot, other] = SeedTenants(*place, 20, 20);
  constexpr int kHotRows = 4000;
  Seed(*s0, hot, kHotRows);
  MakeDirectory(*place->app);
  const std::string name = Name("flat");
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::create_directories(dir);
  const std::string config = TestConfigPath();
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  std::ofstream(spec) << MoveSpec(name, hot, Db("hash_2"),
                                  fmt::format("[options]\nchunk_rows = 200\ncapture = \"{}\"", capture));
  auto cli = [&](const std::vector<std::string>& args, const std::string& kill_at = "") {
    return ShardshiftAt(config, args, kill_at);
  };
  CliRun planned = cli({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  {
    std::ifstream in(plan);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Both tables' capture from the log, narrowed to the tenant; or by triggers restricted to it.
    const bool log = capture != "trigger";
    EXPECT_EQ(text.find("capture = \"log\"") != std::string::npos, log);
    EXPECT_EQ(text.find(fmt::format("capture_only_values = \"[\\\"{}\\\"]\"", hot)) != std::string::npos, log) << text;
  }

  auto route = [&] {
    auto c = Connect("app");
    return planner::ReadDirectory(*c, {"", "sst_mk_directory"}, Db("app")).ShardOf(std::to_string(hot)).value_or("");
  };
  // Each session keeps its own model: it updates and deletes the seeded rows of its parity and
  // inserts ids of its own range, so the two never wait on each other's rows.
  constexpr int kSessions = 2;
  std::array<TenantModel, kSessions> models;
  for (int64_t i = 1; i <= kHotRows; ++i) {
    models[i % kSessions].orders[i] = "10";
    models[i % kSessions].items[i] = fmt::format("{}|seed", i);
  }
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> unexpected;
  std::atomic<int64_t> committed{0}, on_new_shard{0}, fenced{0}, other_committed{0}, longest_us{0};
  auto note_latency = [&](std::chrono::steady_clock::time_point t0) {
    StoreMax(longest_us, static_cast<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::steady_clock::now() - t0)
                                                  .count()));
  };
  auto session = [&](int w) {
    TenantModel& model = models[w];
    std::map<std::string, std::unique_ptr<db::Connection>> conns;
    conns[Db("hash_0")] = Connect("hash_0");
    conns[Db("hash_2")] = Connect("hash_2");
    std::string at = route();
    int64_t next = 1'000'000 * (w + 1);
    std::vector<int64_t> mine;
    for (const auto& [id, v] : model.orders) mine.push_back(id);
    int64_t n = 0;
    while (!stop) {
      db::Connection& c = *conns.at(at);
      const auto t0 = std::chrono::steady_clock::now();
      const int step = static_cast<int>(n % 3);
      try {
        const int64_t id = step == 0   ? next
                           : step == 1 ? mine[static_cast<size_t>(n * 7919) % mine.size()]
                                       : mine[static_cast<size_t>(n * 104729) % mine.size()];
        TenantWrite(c, model, hot, step, id, static_cast<int>(n % 1000));
        if (step == 0) ++next;
        note_latency(t0);
        ++committed;
        if (at == Db("hash_2")) ++on_new_shard;
        ++n;
      } catch (const db::Error& e) {
        const Failed why = WhyFailed(c, e, name);
        if (why == Failed::kRefused) {
          note_latency(t0);  // a write held by the window and then refused is a stall too
          ++fenced;
          std::this_thread::sleep_for(1ms);
          try {
            at = route();
          } catch (const db::Error&) {
          }
        } else if (why == Failed::kUnexpected) {
          std::lock_guard<std::mutex> hold(mu);
          if (unexpected.size() < 5) unexpected.push_back(at + ": " + e.what());
          std::this_thread::sleep_for(20ms);
        }
      }
    }
  };
  std::vector<std::thread> sessions;
  for (int w = 0; w < kSessions; ++w) sessions.emplace_back(session, w);
  std::atomic<int64_t> other_longest_us{0};
  std::thread other_writer =
      OtherTenantWriter(other, 3'000'000, stop, other_committed, other_longest_us, mu, unexpected);
  auto stop_app = [&] {
    if (stop.exchange(true)) return;
    for (std::thread& t : sessions) t.join();
    other_writer.join();
  };
  AtScopeExit joiner{stop_app};
  std::this_thread::sleep_for(300ms);

  // Killed in the copy, then run to the end while the sessions write on.
  const int64_t before_copy = committed.load();
  CliRun killed = cli({"apply", plan}, "backfill.chunk:5");
  ASSERT_TRUE(killed.killed) << killed.output;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t before_run = committed.load();
  longest_us = 0;
  CliRun moved = cli({"apply", plan});
  const double run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t during_run = committed.load() - before_run;
  const int64_t longest_in_run_ms = longest_us.load() / 1000;
  ASSERT_EQ(moved.rc, 0) << moved.output;
  EXPECT_EQ(route(), Db("hash_2"));
  std::this_thread::sleep_for(500ms);  // the sessions write the tenant on its new shard
  stop_app();
  std::cerr << fmt::format("flat-out sessions: {} writes before the run, {} in its {:.1f} s ({:.0f}/s), longest "
                           "{} ms; {} refused by the fence; {} on the new shard; other tenant {} writes\n",
                           before_run - before_copy, during_run, run_seconds, during_run / run_seconds,
                           longest_in_run_ms, fenced.load(), on_new_shard.load(), other_committed.load());
  EXPECT_TRUE(unexpected.empty()) << fmt::format("{}", fmt::join(unexpected, "\n"));
  // The sessions wrote throughout the run, not only before and after it.
  EXPECT_GT(during_run, static_cast<int64_t>(run_seconds * 200)) << "the sessions did not write flat out";
  EXPECT_GT(on_new_shard.load(), 0);
  ASSERT_EQ(cli({"apply", plan}).rc, 0);  // the way back: the new shard's changes reach the old copy

  TenantModel all;
  for (const TenantModel& m : models) {
    all.orders.insert(m.orders.begin(), m.orders.end());
    all.items.insert(m.items.begin(), m.items.end());
  }
  EXPECT_EQ(Rows(*s2, "sst_mk_orders", hot), all.orders) << "the move lost or invented rows";
  EXPECT_EQ(Rows(*s2, "sst_mk_items", hot), all.items);
  EXPECT_EQ(Rows(*s0, "sst_mk_orders", hot), all.orders) << "the way back did not keep the old copy current";
  EXPECT_EQ(Rows(*s0, "sst_mk_items", hot), all.items);
  CliRun verified = cli({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
  std::filesystem::remove_all(dir);
}

TEST_P(MoveKeysTest, MovesATenantTwoSessionsWriteFlatOut) { FlatOut("auto"); }

TEST_P(MoveKeysTest, MovesATenantTwoSessionsWriteFlatOutCapturedByTriggers) { FlatOut("trigger"); }

TEST_P(MoveKeysTest, LogCaptureNeedsTheOldRowsTenant) {
  // items keyed by id alone: PostgreSQL's WAL gives an updated or deleted row's replica identity
  // (the primary key), not its tenant, so the log cannot pick out the moved tenant's changes:
  // "auto" captures that table by triggers and says why and what would allow the log, "log" is
  // refused naming the option. MariaDB's before image (binlog_row_image FULL) holds every column.
  auto place = Open();
  place->s0->Execute("DROP TABLE sst_mk_items");
  place->s0->Execute(std::string("CREATE TABLE sst_mk_items (tenant_id bigint NOT NULL, id bigint NOT NULL PRIMARY KEY, "
                                 "order_id bigint NOT NULL, sku varchar(20) NOT NULL)") +
                     (pg() ? "" : " ENGINE=InnoDB"));
  MakeDirectory(*place->app);
  const std::string name = Name("ident");
  CapturePlanned automatic = PlanCapture(name, "auto");
  ASSERT_EQ(automatic.run.rc, 0) << automatic.run.output;
  const std::string& text = automatic.text;
  CapturePlanned forced = PlanCapture(name, "log");
  if (pg()) {
    EXPECT_EQ(automatic.logged, 1u) << text;  // orders only
    EXPECT_NE(text.find("sst_mk_items: capture by triggers restricted to the moved keys"), std::string::npos) << text;
    EXPECT_NE(text.find("REPLICA IDENTITY FULL"), std::string::npos) << text;
    EXPECT_EQ(forced.run.rc, 2) << forced.run.output;
    EXPECT_NE(forced.run.output.find("options.capture"), std::string::npos) << forced.run.output;
    EXPECT_NE(forced.run.output.find("tenant_id is not in the replica identity of sst_mk_items"), std::string::npos)
        << forced.run.output;
  } else {
    EXPECT_EQ(automatic.logged, 2u) << text;
    EXPECT_EQ(forced.run.rc, 0) << forced.run.output;
  }
  std::filesystem::remove_all(std::filesystem::temp_directory_path() / name);
}

TEST_P(MoveKeysTest, LogCaptureNeedsTenantsSpelledOneWay) {
  // items' tenant is text in a collation under which other spellings are equal (MariaDB's default
  // utf8mb4_general_ci: case and trailing spaces; PostgreSQL: a nondeterministic ICU collation).
  // The copy and the key gates compare in SQL, the stream byte for byte, so it would pass over the
  // changes of rows spelled otherwise: "auto" captures that table by triggers naming the collation
  // and a fix, "log" is refused. In a collation that compares bytes, the log serves.
  auto place = Open();
  if (pg()) {
    place->s0->Execute("CREATE COLLATION IF NOT EXISTS sst_mk_nocase (provider = icu, locale = 'und-u-ks-level2', "
                       "deterministic = false)");
  }
  auto create_items = [&](const std::string& collation) {
    place->s0->Execute("DROP TABLE IF EXISTS sst_mk_items");
    place->s0->Execute(fmt::format("CREATE TABLE sst_mk_items (tenant_id varchar(20) {} NOT NULL, id bigint NOT NULL, "
                                   "order_id bigint NOT NULL, sku varchar(20) NOT NULL, PRIMARY KEY (tenant_id, id)){}",
                                   collation, pg() ? "" : " ENGINE=InnoDB"));
  };
  create_items(pg() ? "COLLATE sst_mk_nocase" : "");
  MakeDirectory(*place->app);
  const std::string name = Name("spelled");
  CapturePlanned automatic = PlanCapture(name, "auto");
  ASSERT_EQ(automatic.run.rc, 0) << automatic.run.output;
  const std::string& text = automatic.text;
  EXPECT_EQ(automatic.logged, 1u) << text;  // orders only
  EXPECT_NE(text.find("sst_mk_items: capture by triggers restricted to the moved keys"), std::string::npos) << text;
  EXPECT_NE(text.find(pg() ? "nondeterministic collation" : "has the collation utf8mb4_general_ci"), std::string::npos)
      << text;
  if (!pg()) {
    EXPECT_NE(text.find("COLLATE utf8mb4_nopad_bin"), std::string::npos) << text;  // the fix
  }
  CapturePlanned forced = PlanCapture(name, "log");
  EXPECT_EQ(forced.run.rc, 2) << forced.run.output;
  EXPECT_NE(forced.run.output.find("options.capture"), std::string::npos) << forced.run.output;
  EXPECT_NE(forced.run.output.find("the stream compares text byte for byte"), std::string::npos) << forced.run.output;
  create_items(pg() ? "" : "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin");
  CapturePlanned bytes = PlanCapture(name, "auto");
  ASSERT_EQ(bytes.run.rc, 0) << bytes.run.output;
  EXPECT_EQ(bytes.logged, 2u) << bytes.text;
  std::filesystem::remove_all(std::filesystem::temp_directory_path() / name);
}

TEST_P(MoveKeysTest, OntoAShardInUseAndAbandonedLeavesItsTenantsAlone) {
  // The target shard holds other tenants already: the plan uses its tables, and giving the move up
  // before its cutover removes only what it copied there, never the tables or their other rows.
  auto place = Open();
  auto &s0 = place->s0, &s1 = place->s1, &app = place->app;
  int64_t mover = 0, stayer = 0;
  for (int64_t t = 1; t <= 20; ++t) {
    const bool zero = plans::ShardForKey({std::to_string(t)}, 2) == 0;
    if (zero && mover == 0) mover = t;
    if (!zero && stayer == 0) stayer = t;
    Seed(zero ? *s0 : *s1, t, 30);
  }
  const std::string name = Name("abandon");
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::create_directories(dir);
  const std::string config = TestConfigPath();
  MakeDirectory(*app);
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  std::ofstream(spec) << MoveSpec(name, mover, Db("hash_1"));
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  {
    std::ifstream in(plan);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("DROP TABLE IF EXISTS " + std::string(pg() ? "\"sst_mk_orders\"" : "`sst_mk_orders`")),
              std::string::npos)
        << "a plan onto a shard in use must never drop its table:\n" << text;
  }
  const std::string triggers =
      pg() ? "SELECT COUNT(*) AS n FROM pg_trigger WHERE tgrelid IN ('sst_mk_orders'::regclass, "
             "'sst_mk_items'::regclass) AND NOT tgisinternal"
           : "SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_TABLE IN ('sst_mk_orders', "
             "'sst_mk_items') AND TRIGGER_SCHEMA = DATABASE()";
  {
    // A DBA edits which tenant the plan moves: refused at the edited step, nothing changed.
    std::ifstream in(plan);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string from = fmt::format("keys = \"[\\\"{}\\\"]\"", mover);
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << "no keys parameter in the plan:\n" << text;
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    text.replace(at, from.size(), fmt::format("keys = \"[\\\"{}\\\"]\"", stayer));
    const std::string edited = (dir / "edited.toml").string();
    std::ofstream(edited) << text;
    CliRun refused = Shardshift({"--config", config, "apply", edited});
    EXPECT_EQ(refused.rc, 2) << refused.output;
    // Named at the edited step's seal, a few lines above the edited parameter.
    const size_t named = refused.output.find("edited.toml:");
    ASSERT_NE(named, std::string::npos) << refused.output;
    const int seal_line = std::stoi(refused.output.substr(named + 12));
    EXPECT_LT(seal_line, line) << refused.output;
    EXPECT_GT(seal_line, line - 30) << refused.output;
    EXPECT_NE(refused.output.find("step 'cutover' is not the step"), std::string::npos) << refused.output;
    EXPECT_EQ(s0->Query(triggers).Text(0, "n"), "0") << "a refused plan changed the source";
  }
  CliRun copied = Shardshift({"--config", config, "apply", "--until", "cutover", plan});
  ASSERT_EQ(copied.rc, 0) << copied.output;
  EXPECT_EQ(Rows(*s1, "sst_mk_orders", mover).size(), 30u) << "the copy did not reach the shard in use";
  // The moved tenant is fenced there until the cutover; the shard's own tenants write on.
  EXPECT_THROW(s1->Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, 99, 1)", mover)), db::Error);
  s1->Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, 99, 1)", stayer));
  CliRun abandoned = Shardshift({"--config", config, "apply", "--abandon", plan});
  ASSERT_EQ(abandoned.rc, 0) << abandoned.output;
  EXPECT_EQ(Rows(*s1, "sst_mk_orders", mover).size(), 0u);
  EXPECT_EQ(Rows(*s1, "sst_mk_items", mover).size(), 0u);
  EXPECT_EQ(Rows(*s1, "sst_mk_orders", stayer).size(), 31u) << "the shard's own tenant lost rows";
  EXPECT_EQ(Rows(*s0, "sst_mk_orders", mover).size(), 30u);
  // No gate or capture is left: the tenant writes on its shard, and could be moved there later.
  s0->Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, 99, 1)", mover));
  s1->Execute(fmt::format("INSERT INTO sst_mk_orders VALUES ({}, 100, 1)", mover));
  EXPECT_EQ(s0->Query(triggers).Text(0, "n"), "0");
  EXPECT_EQ(s1->Query(triggers).Text(0, "n"), "0");
  std::filesystem::remove_all(dir);
}

TEST_P(MoveKeysTest, AdviceNamesTheHotTenantAndItsSpecPlans) {
  // advise shard --directory on a layout where one tenant holds 40% of shard 0: it is named with its
  // share, and the emitted move_keys spec (to a new shard) plans. On shard 1 one tenant writes flat
  // out while two others write slowly: the sample names it the busiest, by rows written (exact,
  // from the log) and by sampled statements.
  auto place = Open();
  auto &s0 = place->s0, &s1 = place->s1, &app = place->app;
  int64_t hot = 0;
  for (int64_t t = 1; t <= 30; ++t) {
    const bool zero = plans::ShardForKey({std::to_string(t)}, 2) == 0;
    if (zero && hot == 0) {
      hot = t;
      continue;
    }
    Seed(zero ? *s0 : *s1, t, zero ? 10 : 5);  // shard 0 is the fuller one
  }
  const int64_t rest = std::stoll(s0->Query("SELECT COUNT(*) AS n FROM sst_mk_orders").Text(0, "n"));
  Seed(*s0, hot, static_cast<int>(rest * 2 / 3));
  for (const std::string& sql : planner::CreateDirectorySql(
           GetParam(), {"", "sst_mk_directory"},
           {1, {"sst_mk_orders", "sst_mk_items"}, "tenant_id", "xxh64-jump-v1", {Db("hash_0"), Db("hash_1")}, {}})) {
    app->Execute(sql);
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / Name("advice");
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string config = TestConfigPath();
  // On shard 1 one tenant's application writes flat out and two others' slowly; shard 0 is quiet.
  std::vector<int64_t> on_one;
  for (int64_t t = 1; t <= 30 && on_one.size() < 3; ++t) {
    if (plans::ShardForKey({std::to_string(t)}, 2) == 1) on_one.push_back(t);
  }
  ASSERT_EQ(on_one.size(), 3u);
  const int64_t busy = on_one[0];
  std::atomic<bool> stop{false};
  std::atomic<int64_t> busy_writes{0};
  std::vector<std::thread> writers;
  for (size_t w = 0; w < on_one.size(); ++w) {
    writers.emplace_back([&, w] {
      auto c = Connect("hash_1");
      for (int64_t n = 0; !stop; ++n) {
        c->Execute(fmt::format("UPDATE sst_mk_orders SET total = total + 1 WHERE tenant_id = {} AND id = {}", on_one[w],
                               1 + n % 5));
        if (w == 0) {
          ++busy_writes;
        } else {
          std::this_thread::sleep_for(20ms);
        }
      }
    });
  }
  AtScopeExit writers_stopped{[&] {
    stop = true;
    for (std::thread& t : writers) t.join();
  }};
  std::this_thread::sleep_for(200ms);
  const int64_t busy_before = busy_writes.load();
  CliRun advice = Shardshift({"--config", config, "advise", "shard", "--directory", Db("app"), "--directory-table",
                              "sst_mk_directory", "--to", Db("hash_2"), "--json", "--emit-spec", spec, "--sample", "2"});
  ASSERT_EQ(advice.rc, 0) << advice.output;
  const int64_t busy_during = busy_writes.load() - busy_before;
  const nlohmann::json j = nlohmann::json::parse(advice.output.substr(0, advice.output.rfind('}') + 1));
  ASSERT_EQ(j["shards"].size(), 3u) << advice.output;
  const nlohmann::json& zero = j["shards"][0];
  EXPECT_EQ(zero["shard"], Db("hash_0"));
  EXPECT_EQ(zero["top"][0]["key"], std::to_string(hot));
  EXPECT_NEAR(zero["top"][0]["share"].get<double>(), 0.4, 0.02);
  EXPECT_EQ(zero["rows"].get<int64_t>(), 2 * (rest + rest * 2 / 3)) << "both tables' rows";
  EXPECT_EQ(j["shards"][2]["rows"], 0);
  // The sample: shard 1's busiest writer named, with its share of the rows written (from the log)
  // and of the sampled statements; nothing written on shard 0.
  const nlohmann::json& one = j["shards"][1]["sample"];
  ASSERT_TRUE(one.is_object()) << advice.output;
  ASSERT_FALSE(one["rows_written"].is_null()) << one.dump();  // the log was read
  EXPECT_EQ(zero["sample"]["rows_written"], 0) << zero.dump();
  ASSERT_FALSE(one["busiest"].empty()) << one.dump();
  const nlohmann::json& first = one["busiest"][0];
  EXPECT_EQ(first["key"], std::to_string(busy)) << one.dump();
  EXPECT_GT(first["rows_written_share"].get<double>(), 0.6) << one.dump();
  EXPECT_GT(first["rows_written"].get<int64_t>(), 0);
  EXPECT_LE(first["rows_written"].get<int64_t>(), busy_during) << "more rows than the writer wrote in the whole run";
  int64_t light_calls = 0;
  for (const nlohmann::json& t : one["busiest"]) {
    if (t["key"] != std::to_string(busy)) light_calls = std::max(light_calls, t["calls"].get<int64_t>());
  }
  if (pg()) {  // MariaDB's sandbox keeps performance_schema's statement consumers off: in-flight only
    EXPECT_GT(first["calls"].get<int64_t>(), light_calls) << one.dump();
    EXPECT_GT(one["naming_a_tenant"].get<int64_t>(), 20) << one.dump();
  }
  std::cerr << "shard 1 sample: " << one.dump() << "\n";
  ASSERT_FALSE(j["suggestion"].is_null());
  EXPECT_EQ(j["suggestion"]["key"], std::to_string(hot));
  EXPECT_EQ(j["suggestion"]["to"], Db("hash_2"));
  EXPECT_LT(j["suggestion"]["skew_after"].get<double>(), j["suggestion"]["skew_before"].get<double>());
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", (dir / "plan.toml").string()});
  EXPECT_EQ(planned.rc, 0) << planned.output;
  // Without --to, the emptiest shard of the layout: the tenant's move there must make the largest
  // shard smaller, or nothing is suggested.
  CliRun text = Shardshift({"--config", config, "advise", "shard", "--directory", Db("app"), "--directory-table",
                            "sst_mk_directory", "--sample", "1"});
  ASSERT_EQ(text.rc, 0) << text.output;
  EXPECT_NE(text.output.find(fmt::format("tenant_id {}: ", hot)), std::string::npos) << text.output;
  EXPECT_NE(text.output.find(fmt::format("busiest tenant_id {}: ", busy)), std::string::npos) << text.output;
  CliRun unknown = Shardshift({"--config", config, "advise", "shard", "--directory", "nope"});
  EXPECT_EQ(unknown.rc, 2) << unknown.output;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Engines, MoveKeysTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
