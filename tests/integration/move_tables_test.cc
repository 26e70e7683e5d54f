// move_tables (issue 21) on both engines: three tables with foreign keys among them (users, their
// orders, the orders' items; every key drawn from a sequence or auto-increment counter) and a
// staying table whose foreign key points at a moved one, moved from one database to another while
// an application keeps writing rows that keep the foreign keys valid. The application follows the
// routing file: it writes to the source until the file names the target, and a write the fence
// refuses is retried where the file says. The apply is killed in the copy, after a step, with
// writes blocked, half way through fencing the sources, and after the routing file was published;
// each next apply continues. Afterwards every row the application committed is on the target and
// nothing else, the foreign keys are there and hold, the application's inserts on the target drew
// keys past the source's, the sources refuse writes, `verify` agrees; a revert puts the tables back.
// The same spec without foreign_keys = "drop_at_cutover" is refused, naming the key.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "db/error.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kUsers = 3000;

class MoveTablesTest : public EngineTest {
 protected:
  void Schema(db::Connection& c) {
    const bool p = pg();
    const std::string e = p ? "" : " ENGINE=InnoDB";
    const std::string serial = p ? "bigserial PRIMARY KEY" : "BIGINT AUTO_INCREMENT PRIMARY KEY";
    const std::string big = p ? "bigint" : "BIGINT";
    for (const std::string& ddl :
         {"CREATE TABLE sst_mv_users (id " + serial + ", email varchar(100) NOT NULL)" + e,
          "CREATE TABLE sst_mv_orders (id " + serial + ", user_id " + big +
              " NOT NULL, total int NOT NULL, CONSTRAINT sst_mv_orders_user FOREIGN KEY (user_id) REFERENCES "
              "sst_mv_users (id))" + e,
          "CREATE TABLE sst_mv_items (id " + serial + ", order_id " + big +
              " NOT NULL, sku varchar(20) NOT NULL, CONSTRAINT sst_mv_items_order FOREIGN KEY (order_id) REFERENCES "
              "sst_mv_orders (id) ON DELETE CASCADE)" + e,
          "CREATE TABLE sst_mv_audit (id " + serial + ", user_id " + big +
              " NOT NULL, what varchar(20) NOT NULL, CONSTRAINT sst_mv_audit_user FOREIGN KEY (user_id) REFERENCES "
              "sst_mv_users (id))" + e}) {
      c.Execute(ddl);
    }
    // Explicit keys 1..kUsers, then the counters past them (as an application's history leaves them).
    const std::string series = p ? fmt::format("generate_series(1, {}) g", kUsers) : fmt::format("seq_1_to_{}", kUsers);
    const std::string g = p ? "g" : "seq";
    const std::string email = p ? "'u' || g || '@x'" : "CONCAT('u', seq, '@x')";
    c.Execute(fmt::format("INSERT INTO sst_mv_users (id, email) SELECT {}, {} FROM {}", g, email, series));
    c.Execute(fmt::format("INSERT INTO sst_mv_orders (id, user_id, total) SELECT {0}, {0}, 10 FROM {1}", g, series));
    c.Execute(fmt::format("INSERT INTO sst_mv_items (id, order_id, sku) SELECT {0}, {0}, 'seed' FROM {1}", g, series));
    c.Execute(fmt::format("INSERT INTO sst_mv_audit (id, user_id, what) SELECT {0}, {0}, 'seed' FROM {1}", g, series));
    if (p) {
      for (const char* t : {"sst_mv_users", "sst_mv_orders", "sst_mv_items", "sst_mv_audit"}) {
        c.Query(fmt::format("SELECT setval(pg_get_serial_sequence('{}', 'id'), {}) AS v", t, kUsers));
      }
    }
  }

  std::string Spec(const std::string& name, bool drop, const std::string& capture = "auto",
                   const std::string& hooks = "") const {
    return fmt::format(R"([migration]
name = "{}"
kind = "move_tables"
[options]
chunk_rows = 100
capture = "{}"
{}
[move_tables]
source = "{}"
target = "{}"
tables = ["sst_mv_users", "sst_mv_orders", "sst_mv_items"]
{})",
                       name, capture, hooks, Db("range_0"), Db("hash_0"), drop ? "foreign_keys = \"drop_at_cutover\"" : "");
  }

  // The four tables dropped on source and target now and when the test ends, and made on the source.
  std::vector<std::unique_ptr<DropTable>> FreshGroup(db::Connection& src, db::Connection& dst) {
    std::vector<std::unique_ptr<DropTable>> drops;
    for (db::Connection* c : {&src, &dst}) {
      drops.push_back(std::make_unique<DropTable>(
          *c, std::vector<std::string>{"sst_mv_audit", "sst_mv_items", "sst_mv_orders", "sst_mv_users"}));
    }
    Schema(src);
    return drops;
  }
  // Whether the plan's routing file names the target for the group.
  bool RoutedToTarget(const std::string& plan) const {
    std::ifstream f(plan + ".routing.toml");
    const std::string t((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return t.find("sst_mv_users\" = \"" + Db("hash_0") + "\"") != std::string::npos;
  }
  // The key a single-row insert drew from the table's sequence or counter.
  int64_t InsertedId(db::Connection& c, const std::string& insert, const db::Params& params) const {
    if (pg()) return std::stoll(c.Query(insert + " RETURNING id", params).Text(0, "id"));
    c.Execute(insert, params);
    return std::stoll(c.Query("SELECT LAST_INSERT_ID() AS id").Text(0, "id"));
  }

  // The whole move under the application, killed in every step; capture: the spec's option.
  void Move(const std::string& capture);

  static std::string Name(const std::string& what) {
    return fmt::format("sst-mv-{}-{}-{}", what, getpid(),
                       std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  }
};

// The application: what it committed, table by table (id -> row as text).
struct GroupModel {
  std::map<int64_t, std::string> users, orders, items;
};

std::map<int64_t, std::string> Rows(db::Connection& c, const std::string& table, const std::string& columns) {
  std::map<int64_t, std::string> out;
  db::ResultSet r = c.Query("SELECT id, " + columns + " AS v FROM " + table);
  for (size_t i = 0; i < r.rows.size(); ++i) out[std::stoll(r.Text(i, "id"))] = r.Text(i, "v");
  return out;
}

TEST_P(MoveTablesTest, RefusesAForeignKeyToAStayingTableUnlessToldToDropIt) {
  auto src = Connect("range_0");
  auto dst = Connect("hash_0");
  const auto dropped = FreshGroup(*src, *dst);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / Name("refuse");
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  const std::string name = Name("refuse");
  std::ofstream(spec) << Spec(name, false);
  CliRun refused = Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", plan});
  EXPECT_EQ(refused.rc, 2) << refused.output;
  EXPECT_NE(refused.output.find("sst_mv_audit.user_id -> sst_mv_users"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("drop_at_cutover"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find(spec), std::string::npos) << "the message names the spec: " << refused.output;
  EXPECT_FALSE(std::filesystem::exists(plan));

  std::ofstream(spec) << Spec(name, true);
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  const std::vector<std::string> ids = PlanValues(plan, "id");
  for (const char* want : {"drop_foreign_keys", "cutover", "release_source_foreign_keys"}) {
    EXPECT_NE(std::find(ids.begin(), ids.end(), want), ids.end()) << want << " missing from the plan";
  }
  EXPECT_EQ(std::find(ids.begin(), ids.end(), "validate_foreign_keys") != ids.end(), pg());
  // The key to the staying table is the one dropped; the plan names the sequence-backed counters.
  std::ifstream in(plan);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("sst_mv_audit_user"), std::string::npos);
  EXPECT_NE(text.find("counter carried"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

TEST_P(MoveTablesTest, MovesTheGroupUnderAWriterKilledInEveryStep) { Move("auto"); }

TEST_P(MoveTablesTest, MovesTheGroupCapturedByTriggers) { Move("trigger"); }

void MoveTablesTest::Move(const std::string& capture) {
  auto src = Connect("range_0");
  auto dst = Connect("hash_0");
  const auto dropped = FreshGroup(*src, *dst);
  const int64_t seeded_max = kUsers;
  GroupModel model;
  for (int u = 1; u <= kUsers; ++u) {
    model.users[u] = fmt::format("u{}@x", u);
    model.orders[u] = fmt::format("{}|10", u);
    model.items[u] = fmt::format("{}|seed", u);
  }
  const std::string name = Name("group");
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  // The during_cutover hook logs the tables it was told about, and fails while a flag file exists.
  const std::string flag = (dir / "refuse").string();
  const std::string hook_log = (dir / "hook.log").string();
  std::ofstream(spec) << Spec(name, true, capture,
                              fmt::format("[hooks]\nduring_cutover = 'test ! -f {} && echo \"$SHARDSHIFT_DIRECTION $SHARDSHIFT_TABLES\" >> {}'",
                                          flag, hook_log));
  const std::string config = TestConfigPath();
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  {
    // The sandbox's servers allow the log: "auto" reads it, "trigger" does not.
    std::ifstream in(plan);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("capture = \"log\"") != std::string::npos, capture == "auto");
  }

  // The application: one instance, following the routing file.
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> unexpected;
  int64_t fenced = 0, on_target_inserts = 0, committed = 0;
  auto on_target = [&] { return RoutedToTarget(plan); };
  std::thread app([&] {
    std::mt19937_64 rng(7);
    std::map<bool, std::unique_ptr<db::Connection>> conns;
    conns[false] = Connect("range_0");
    conns[true] = Connect("hash_0");
    int step = 0;  // 0 user, 1 order, 2 item, 3 update, 4 delete: retried until it commits
    int64_t user = 0, order = 0;
    int n = 0;
    while (!stop) {
      const bool target = on_target();
      db::Connection& c = *conns[target];
      try {
        std::lock_guard<std::mutex> hold(mu);
        if (step == 0) {
          const std::string email = fmt::format("app{}@x", n);
          user = InsertedId(c, fmt::format("INSERT INTO sst_mv_users (email) VALUES ({})", P(1)), {email});
          model.users[user] = email;
          if (target) ++on_target_inserts;
        } else if (step == 1) {
          order = InsertedId(c, fmt::format("INSERT INTO sst_mv_orders (user_id, total) VALUES ({}, 1)", P(1)), {user});
          model.orders[order] = fmt::format("{}|1", user);
        } else if (step == 2) {
          const int64_t item = InsertedId(c, fmt::format("INSERT INTO sst_mv_items (order_id, sku) VALUES ({}, 'app')", P(1)), {order});
          model.items[item] = fmt::format("{}|app", order);
        } else if (step == 3) {
          auto it = model.orders.begin();
          std::advance(it, static_cast<long>(rng() % model.orders.size()));
          const int total = static_cast<int>(rng() % 1000);
          if (c.Execute(fmt::format("UPDATE sst_mv_orders SET total = {} WHERE id = {}", P(1), P(2)), {total, it->first}) > 0) {
            it->second = it->second.substr(0, it->second.find('|')) + "|" + std::to_string(total);
          }
        } else if (n % 3 == 0) {
          auto it = model.items.begin();
          std::advance(it, static_cast<long>(rng() % model.items.size()));
          c.Execute(fmt::format("DELETE FROM sst_mv_items WHERE id = {}", P(1)), {it->first});
          model.items.erase(it);
        }
        ++committed;
        if (++step == 5) {
          step = 0;
          ++n;
        }
      } catch (const db::Error& e) {
        if (c.Usable() && c.InTransaction()) c.Rollback();
        const std::string what = e.what();
        if (what.find("shardshift migration '" + name + "'") != std::string::npos) {
          ++fenced;  // it waits for the routing file, or for the next apply to finish the switch
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } else if (e.kind() != db::ErrorKind::kDeadlock && e.kind() != db::ErrorKind::kLockTimeout) {
          std::lock_guard<std::mutex> hold(mu);
          if (unexpected.size() < 5) unexpected.push_back(std::string(target ? "target: " : "source: ") + what);
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  auto stop_app = [&] {
    if (stop.exchange(true)) return;
    app.join();
  };
  AtScopeExit joiner{stop_app};

  auto cli = [&](const std::vector<std::string>& args, const std::string& kill_at = "") {
    return ShardshiftAt(config, args, kill_at);
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // The copy killed mid-chunk and after its first steps, then the cutover at each of its points;
  // then every step after it: a run with step.ran:2 repeats the step the run before did not
  // record, records it, and dies after the next one.
  auto fenced_now = [&](const std::string& insert) {  // an application write, rolled back
    auto c = Connect("range_0");
    c->Begin();
    try {
      c->Execute(insert);
      c->Rollback();
      return false;
    } catch (const db::Error& e) {
      if (c->InTransaction()) c->Rollback();
      return std::string(e.what()).find("shardshift migration '" + name + "'") != std::string::npos;
    }
  };
  for (const char* kill_at : {"backfill.chunk:2", "step.ran:2", "step.ran:2", "step.ran:2"}) {
    CliRun killed = cli({"apply", plan}, kill_at);
    ASSERT_TRUE(killed.killed) << "not killed at " << kill_at << ": " << killed.output;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  {
    // A failing during_cutover hook undoes the group's cutover: nothing published, nothing fenced.
    std::ofstream(flag) << "no\n";
    CliRun undone = cli({"apply", plan});
    EXPECT_EQ(undone.rc, 1) << undone.output;
    EXPECT_NE(undone.output.find("during_cutover hook failed"), std::string::npos) << undone.output;
    EXPECT_FALSE(on_target());
    EXPECT_FALSE(fenced_now("INSERT INTO sst_mv_users (email) VALUES ('probe')"));
    EXPECT_FALSE(fenced_now("INSERT INTO sst_mv_items (order_id, sku) VALUES (1, 'probe')"));
    std::filesystem::remove(flag);
  }
  for (const char* kill_at : {"cutover.blocked", "cutover.fencing:2", "cutover.published"}) {
    CliRun killed = cli({"apply", plan}, kill_at);
    ASSERT_TRUE(killed.killed) << "not killed at " << kill_at << ": " << killed.output;
    if (std::string(kill_at) == "cutover.fencing:2") {
      // Killed after fencing the first table: MariaDB's trigger DDL committed at once, so its fence
      // stands (the next apply takes it down); PostgreSQL fences in one transaction, rolled back.
      EXPECT_EQ(fenced_now("INSERT INTO sst_mv_users (email) VALUES ('probe')"), !pg());
      EXPECT_FALSE(fenced_now("INSERT INTO sst_mv_items (order_id, sku) VALUES (1, 'probe')"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  CliRun finished;
  for (int run = 0; run < 30; ++run) {
    finished = cli({"apply", plan}, "step.ran:2");
    if (!finished.killed) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(finished.rc, 0) << finished.output;
  {
    // The kill after the routing file was published left every source fenced: a later run finished it.
    CliRun status = cli({"status", "--json", plan});
    ASSERT_EQ(status.rc, 0) << status.output;
    EXPECT_NE(status.output.find("finished after an interrupted run"), std::string::npos) << status.output;
  }
  ASSERT_TRUE(on_target()) << "the routing file does not name the target: " << finished.output;
  {
    // The hook ran for the group once per attempt that reached it (a finished switch runs it again),
    // told every table.
    std::ifstream in(hook_log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string p = pg() ? "public." : "";
    EXPECT_NE(text.find("forward " + p + "sst_mv_users," + p + "sst_mv_orders," + p + "sst_mv_items"), std::string::npos)
        << text;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the application writes on the target
  stop_app();
  CliRun again = cli({"apply", plan});  // the way back: the target's changes reach the source copies
  ASSERT_EQ(again.rc, 0) << again.output;
  EXPECT_TRUE(unexpected.empty()) << fmt::format("{}", fmt::join(unexpected, "\n"));
  EXPECT_GT(on_target_inserts, 0) << "the application never inserted on the target";
  EXPECT_GT(committed, 200);

  // Every committed row is on the target, and nothing else.
  EXPECT_EQ(Rows(*dst, "sst_mv_users", "email"), model.users);
  const std::string cat_orders = pg() ? "user_id || '|' || total" : "CONCAT(user_id, '|', total)";
  const std::string cat_items = pg() ? "order_id || '|' || sku" : "CONCAT(order_id, '|', sku)";
  EXPECT_EQ(Rows(*dst, "sst_mv_orders", cat_orders), model.orders);
  EXPECT_EQ(Rows(*dst, "sst_mv_items", cat_items), model.items);
  // The foreign keys among them are on the target, valid, and hold.
  if (pg()) {
    db::ResultSet fk = dst->Query(
        "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' AND conrelid IN "
        "('sst_mv_orders'::regclass, 'sst_mv_items'::regclass) ORDER BY conname");
    ASSERT_EQ(fk.rows.size(), 2u);
    EXPECT_EQ(fk.Text(0, "conname"), "sst_mv_items_order");
    EXPECT_EQ(fk.Text(0, "convalidated"), "t");
    EXPECT_EQ(fk.Text(1, "convalidated"), "t");
  } else {
    db::ResultSet fk = dst->Query(
        "SELECT CONSTRAINT_NAME AS n, DELETE_RULE AS d FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE "
        "CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME IN ('sst_mv_orders', 'sst_mv_items') ORDER BY 1");
    ASSERT_EQ(fk.rows.size(), 2u);
    EXPECT_EQ(fk.Text(0, "n"), "sst_mv_items_order");
    EXPECT_EQ(fk.Text(0, "d"), "CASCADE");
  }
  EXPECT_EQ(dst->Query("SELECT COUNT(*) AS n FROM sst_mv_orders o LEFT JOIN sst_mv_users u ON u.id = o.user_id "
                       "WHERE u.id IS NULL").Text(0, "n"), "0");
  EXPECT_EQ(dst->Query("SELECT COUNT(*) AS n FROM sst_mv_items i LEFT JOIN sst_mv_orders o ON o.id = i.order_id "
                       "WHERE o.id IS NULL").Text(0, "n"), "0");
  EXPECT_THROW(dst->Execute(fmt::format("INSERT INTO sst_mv_items (order_id, sku) VALUES ({}, 'x')", P(1)), {int64_t{999999999}}),
               db::Error) << "the target's foreign key does not hold";
  // New keys on the target come after every key the source drew.
  const int64_t source_max = std::stoll(src->Query("SELECT MAX(id) AS m FROM sst_mv_users").Text(0, "m"));
  EXPECT_GT(source_max, seeded_max);
  const int64_t fresh = pg() ? std::stoll(dst->Query("INSERT INTO sst_mv_users (email) VALUES ('fresh') RETURNING id").Text(0, "id"))
                             : (dst->Execute("INSERT INTO sst_mv_users (email) VALUES ('fresh')"),
                                std::stoll(dst->Query("SELECT LAST_INSERT_ID() AS id").Text(0, "id")));
  EXPECT_GT(fresh, source_max);
  // The sources are fenced; the staying table is not, and its key to the moved table was dropped.
  try {
    src->Execute("INSERT INTO sst_mv_users (email) VALUES ('late')");
    ADD_FAILURE() << "the source took a write after the cutover";
  } catch (const db::Error& e) {
    EXPECT_NE(std::string(e.what()).find("shardshift migration '" + name + "'"), std::string::npos) << e.what();
  }
  src->Execute(fmt::format("INSERT INTO sst_mv_audit (user_id, what) VALUES ({}, 'after')", P(1)), {fresh});
  // verify agrees (the way back brought the target's changes to the source copies).
  CliRun verified = cli({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;

  // Revert within the window: the tables back on the source, which takes writes again.
  // Killed half way through (the first table's target fenced, its revert not recorded): a plain
  // apply is refused and changes nothing; apply --revert finishes it.
  CliRun killed_revert = cli({"apply", "--revert", plan}, "revert.fenced");
  ASSERT_TRUE(killed_revert.killed) << killed_revert.output;
  CliRun forward_refused = cli({"apply", plan});
  EXPECT_EQ(forward_refused.rc, 2) << forward_refused.output;
  EXPECT_NE(forward_refused.output.find("apply --revert"), std::string::npos) << forward_refused.output;
  CliRun reverted = cli({"apply", "--revert", plan});
  ASSERT_EQ(reverted.rc, 0) << reverted.output;
  EXPECT_FALSE(on_target()) << "the routing file still names the target after the revert";
  {
    std::ifstream in(hook_log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string p = pg() ? "public." : "";
    EXPECT_NE(text.find("revert " + p + "sst_mv_users,"), std::string::npos) << "no revert hook: " << text;
  }
  src->Execute("INSERT INTO sst_mv_users (email) VALUES ('back')");
  EXPECT_THROW(dst->Execute("INSERT INTO sst_mv_users (email) VALUES ('stale')"), db::Error);
  EXPECT_EQ(Rows(*src, "sst_mv_users", "email").count(fresh), 1u) << "the target's last insert did not come back";
  EXPECT_THROW(src->Execute(fmt::format("INSERT INTO sst_mv_items (order_id, sku) VALUES ({}, 'x')", P(1)), {int64_t{999999999}}),
               db::Error) << "the source's foreign key is not back after the revert";
  CliRun abandoned = cli({"apply", "--abandon", plan});
  EXPECT_EQ(abandoned.rc, 0) << abandoned.output;
  std::filesystem::remove_all(dir);
}

TEST_P(MoveTablesTest, AFleetWritingFlatOutLosesNothingWhenOneInstanceSwitchesLate) {
  // Three instances of the application write the group with no pause: each a transaction that
  // inserts a user, an order and an item, then an update of an order and a delete of an item (its
  // own rows, so they never wait on each other). Two follow the routing file at once; the third
  // reads it 2 s late, so after the cutover it keeps writing to the fenced sources until then. The
  // apply is killed in the copy and with writes blocked at the cutover, then run to the end while
  // they write. Afterwards every row any of them committed is on the target and nothing else.
  auto src = Connect("range_0");
  auto dst = Connect("hash_0");
  const auto dropped = FreshGroup(*src, *dst);
  const std::string name = Name("fleet");
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::create_directories(dir);
  const std::string spec = (dir / "spec.toml").string();
  const std::string plan = (dir / "plan.toml").string();
  std::ofstream(spec) << Spec(name, true);
  const std::string config = TestConfigPath();
  auto cli = [&](const std::vector<std::string>& args, const std::string& kill_at = "") {
    return ShardshiftAt(config, args, kill_at);
  };
  CliRun planned = cli({"plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;

  auto routed_to_target = [&] { return RoutedToTarget(plan); };
  constexpr int kInstances = 3;
  std::array<GroupModel, kInstances> models;
  for (int u = 1; u <= kUsers; ++u) {
    GroupModel& m = models[u % kInstances];
    m.users[u] = fmt::format("u{}@x", u);
    m.orders[u] = fmt::format("{}|10", u);
    m.items[u] = fmt::format("{}|seed", u);
  }
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> unexpected;
  std::atomic<int64_t> committed{0}, longest_us{0};
  std::string longest_what;  // under mu
  std::array<std::atomic<int64_t>, kInstances> refused{}, on_target{};
  auto instance = [&](int w) {
    GroupModel& model = models[w];
    const bool late = w == kInstances - 1;
    std::map<bool, std::unique_ptr<db::Connection>> conns;
    conns[false] = Connect("range_0");
    conns[true] = Connect("hash_0");
    bool target = routed_to_target();
    std::optional<std::chrono::steady_clock::time_point> changed_at;
    int64_t n = 0;
    while (!stop) {
      // The late instance takes a change of the routing file 2 s after it happened.
      const bool file = routed_to_target();
      if (file != target) {
        if (!late) {
          target = file;
        } else if (!changed_at) {
          changed_at = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - *changed_at > 2s) {
          target = file;
          changed_at.reset();
        }
      }
      db::Connection& c = *conns[target];
      const int step = static_cast<int>(n % 3);
      const auto t0 = std::chrono::steady_clock::now();
      try {
        if (step == 0) {
          c.Begin();
          const std::string email = fmt::format("i{}-{}@x", w, n);
          const int64_t user = InsertedId(c, fmt::format("INSERT INTO sst_mv_users (email) VALUES ({})", P(1)), {email});
          const int64_t order =
              InsertedId(c, fmt::format("INSERT INTO sst_mv_orders (user_id, total) VALUES ({}, 1)", P(1)), {user});
          const int64_t item =
              InsertedId(c, fmt::format("INSERT INTO sst_mv_items (order_id, sku) VALUES ({}, 'app')", P(1)), {order});
          c.Commit();
          model.users[user] = email;
          model.orders[order] = fmt::format("{}|1", user);
          model.items[item] = fmt::format("{}|app", order);
        } else if (step == 1) {
          auto it = model.orders.begin();
          std::advance(it, static_cast<long>((n * 7919) % static_cast<int64_t>(model.orders.size())));
          const int total = static_cast<int>(n % 1000);
          if (c.Execute(fmt::format("UPDATE sst_mv_orders SET total = {} WHERE id = {}", P(1), P(2)), {total, it->first}) > 0) {
            it->second = it->second.substr(0, it->second.find('|')) + "|" + std::to_string(total);
          }
        } else if (!model.items.empty()) {
          auto it = model.items.begin();
          std::advance(it, static_cast<long>((n * 104729) % static_cast<int64_t>(model.items.size())));
          c.Execute(fmt::format("DELETE FROM sst_mv_items WHERE id = {}", P(1)), {it->first});
          model.items.erase(it);
        }
        const int64_t took_us =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
        if (took_us > longest_us.load()) {
          std::lock_guard<std::mutex> hold(mu);
          if (took_us > longest_us.load()) {
            longest_us = took_us;
            longest_what = fmt::format("step {} on the {}, ended {:%H:%M:%S}", step, target ? "target" : "source",
                                       std::chrono::system_clock::now());
          }
        }
        ++committed;
        if (target) ++on_target[w];
        ++n;
      } catch (const db::Error& e) {
        if (c.Usable() && c.InTransaction()) c.Rollback();
        const std::string what = e.what();
        if (what.find("shardshift migration '" + name + "'") != std::string::npos) {
          ++refused[w];
          std::this_thread::sleep_for(1ms);
        } else if (e.kind() != db::ErrorKind::kDeadlock && e.kind() != db::ErrorKind::kLockTimeout) {
          std::lock_guard<std::mutex> hold(mu);
          if (unexpected.size() < 5) unexpected.push_back(fmt::format("instance {} on the {}: {}", w, target ? "target" : "source", what));
          std::this_thread::sleep_for(20ms);
        }
      }
    }
  };
  std::vector<std::thread> fleet;
  for (int w = 0; w < kInstances; ++w) fleet.emplace_back(instance, w);
  auto stop_fleet = [&] {
    if (stop.exchange(true)) return;
    for (std::thread& t : fleet) t.join();
  };
  AtScopeExit joiner{stop_fleet};
  std::this_thread::sleep_for(300ms);

  for (const char* kill_at : {"backfill.chunk:3", "cutover.blocked"}) {
    CliRun killed = cli({"apply", plan}, kill_at);
    ASSERT_TRUE(killed.killed) << "not killed at " << kill_at << ": " << killed.output;
    EXPECT_FALSE(routed_to_target()) << "killed at " << kill_at;
  }
  // The killed run's block ends when the server sees its session gone: a write it held ends then,
  // and is not the final run's.
  std::this_thread::sleep_for(300ms);
  const int64_t before_run = committed.load();
  longest_us = 0;
  const auto t0 = std::chrono::steady_clock::now();
  CliRun finished = cli({"apply", plan});
  const double run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t during_run = committed.load() - before_run;
  const int64_t longest_in_run_ms = longest_us.load() / 1000;
  ASSERT_EQ(finished.rc, 0) << finished.output;
  ASSERT_TRUE(routed_to_target()) << finished.output;
  std::this_thread::sleep_for(2500ms);  // the late instance switches meanwhile
  const int64_t late_refused = refused[kInstances - 1].load();
  std::this_thread::sleep_for(500ms);
  stop_fleet();
  std::string blocked = "?";
  if (const size_t at = finished.output.find("write-blocked"); at != std::string::npos) {
    blocked = finished.output.substr(at, finished.output.find('\n', at) - at);
  }
  std::cerr << fmt::format("flat-out fleet: {} writes in the {:.1f} s run ({:.0f}/s), longest {} ms ({}); {}; refused "
                           "{}/{}/{}; on the target {}/{}/{}\n",
                           during_run, run_seconds, during_run / run_seconds, longest_in_run_ms, longest_what, blocked,
                           refused[0].load(), refused[1].load(), refused[2].load(), on_target[0].load(),
                           on_target[1].load(), on_target[2].load());
  EXPECT_TRUE(unexpected.empty()) << fmt::format("{}", fmt::join(unexpected, "\n"));
  EXPECT_GT(during_run, static_cast<int64_t>(run_seconds * 200)) << "the fleet did not write flat out";
  EXPECT_GT(late_refused, 0) << "the late instance never met the sources' fence";
  for (int w = 0; w < kInstances; ++w) EXPECT_GT(on_target[w].load(), 0) << "instance " << w << " never wrote the target";
  ASSERT_EQ(cli({"apply", plan}).rc, 0);  // the way back

  GroupModel all;
  for (const GroupModel& m : models) {
    all.users.insert(m.users.begin(), m.users.end());
    all.orders.insert(m.orders.begin(), m.orders.end());
    all.items.insert(m.items.begin(), m.items.end());
  }
  const std::string cat_orders = pg() ? "user_id || '|' || total" : "CONCAT(user_id, '|', total)";
  const std::string cat_items = pg() ? "order_id || '|' || sku" : "CONCAT(order_id, '|', sku)";
  EXPECT_EQ(Rows(*dst, "sst_mv_users", "email"), all.users) << "the move lost or invented users";
  EXPECT_EQ(Rows(*dst, "sst_mv_orders", cat_orders), all.orders);
  EXPECT_EQ(Rows(*dst, "sst_mv_items", cat_items), all.items);
  // The way back keeps the sources' copies equal through the window.
  EXPECT_EQ(Rows(*src, "sst_mv_users", "email"), all.users) << "the way back did not keep the source current";
  EXPECT_EQ(Rows(*src, "sst_mv_items", cat_items), all.items);
  CliRun verified = cli({"verify", plan});
  EXPECT_EQ(verified.rc, 0) << verified.output;
  EXPECT_EQ(cli({"apply", "--cleanup", plan}).rc, 0);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Engines, MoveTablesTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
