// `advise split --functional` on a seeded schema with two obvious services: users, profiles and
// sessions; orders, order items and payments; joined only through the orders' user ids (a foreign
// key, and a rare statement that joins orders to users). The advice names the two groups, the
// statement and the foreign key that cross the cut, and its numbers; --emit-spec writes a
// move_tables spec of the orders group that plans and applies.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class FunctionalAdviceTest : public EngineTest {};

TEST_P(FunctionalAdviceTest, NamesTheTwoServicesAndWhatCrossesBetweenThem) {
  auto c = Connect("range_2");
  c->Execute("DROP VIEW IF EXISTS sst_fn_user_orders");
  struct DropView {
    db::Connection& c;
    ~DropView() {
      try {
        c.Execute("DROP VIEW IF EXISTS sst_fn_user_orders");
      } catch (...) {  // NOLINT: best effort in a destructor
      }
    }
  };
  DropTable drop(*c, {"sst_fn_payments", "sst_fn_items", "sst_fn_orders", "sst_fn_sessions", "sst_fn_profiles",
                      "sst_fn_users"});
  DropView drop_view{*c};  // destroyed first: the view goes before its tables
  const std::string i = pg() ? "int" : "INT";
  const std::string e = pg() ? "" : " ENGINE=InnoDB";
  for (const std::string& ddl : {
           "CREATE TABLE sst_fn_users (id " + i + " PRIMARY KEY, email varchar(100))" + e,
           "CREATE TABLE sst_fn_profiles (user_id " + i + " PRIMARY KEY REFERENCES sst_fn_users (id), bio varchar(200))" + e,
           "CREATE TABLE sst_fn_sessions (id " + i + " PRIMARY KEY, user_id " + i +
               " NOT NULL, token varchar(40), FOREIGN KEY (user_id) REFERENCES sst_fn_users (id))" + e,
           "CREATE TABLE sst_fn_orders (id " + i + " PRIMARY KEY, user_id " + i +
               " NOT NULL, total " + i + ", FOREIGN KEY (user_id) REFERENCES sst_fn_users (id))" + e,
           "CREATE TABLE sst_fn_items (id " + i + " PRIMARY KEY, order_id " + i + " NOT NULL, sku varchar(20), "
               "FOREIGN KEY (order_id) REFERENCES sst_fn_orders (id))" + e,
           "CREATE TABLE sst_fn_payments (id " + i + " PRIMARY KEY, order_id " + i + " NOT NULL, amount " + i +
               ", FOREIGN KEY (order_id) REFERENCES sst_fn_orders (id))" + e}) {
    c->Execute(ddl);
  }
  const std::string series = pg() ? "generate_series(1, 2000) g" : "seq_1_to_2000";
  const std::string g = pg() ? "g" : "seq";
  c->Execute(fmt::format("INSERT INTO sst_fn_users SELECT {0}, 'u' FROM {1}", g, series));
  c->Execute(fmt::format("INSERT INTO sst_fn_profiles SELECT {0}, 'b' FROM {1}", g, series));
  c->Execute(fmt::format("INSERT INTO sst_fn_sessions SELECT {0}, {0}, 't' FROM {1}", g, series));
  c->Execute(fmt::format("INSERT INTO sst_fn_orders SELECT {0}, {0}, 5 FROM {1}", g, series));
  c->Execute(fmt::format("INSERT INTO sst_fn_items SELECT {0}, {0}, 's' FROM {1}", g, series));
  c->Execute(fmt::format("INSERT INTO sst_fn_payments SELECT {0}, {0}, 5 FROM {1}", g, series));
  // A view across the two services, and a counter the orders draw their keys from.
  c->Execute("CREATE VIEW sst_fn_user_orders AS SELECT u.email, o.total FROM sst_fn_users u JOIN sst_fn_orders o ON "
             "o.user_id = u.id");
  c->Execute(pg() ? "CREATE SEQUENCE sst_fn_payment_ids OWNED BY sst_fn_payments.id" : "SELECT 1");
  if (pg()) c->Execute("ALTER TABLE sst_fn_payments ALTER COLUMN id SET DEFAULT nextval('sst_fn_payment_ids')");
  if (!pg()) c->Execute("ALTER TABLE sst_fn_payments MODIFY id INT NOT NULL AUTO_INCREMENT");
  if (pg()) {
    c->Execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    c->Query("SELECT pg_stat_statements_reset() AS r");
  } else {
    c->Execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest");
  }
  for (int n = 1; n <= 30; ++n) {
    c->Query(fmt::format("SELECT u.email, p.bio FROM sst_fn_users u JOIN sst_fn_profiles p ON p.user_id = u.id WHERE u.id = {}", n));
    c->Query(fmt::format("SELECT u.email FROM sst_fn_sessions s JOIN sst_fn_users u ON u.id = s.user_id WHERE s.token = 't{}'", n));
    c->Query(fmt::format("SELECT i.sku FROM sst_fn_orders o JOIN sst_fn_items i ON i.order_id = o.id WHERE o.id = {}", n));
    c->Query(fmt::format("SELECT p.amount FROM sst_fn_payments p JOIN sst_fn_orders o ON o.id = p.order_id WHERE o.user_id = {}", n));
    c->Query(fmt::format("SELECT total FROM sst_fn_orders WHERE user_id = {}", n));
  }
  for (int n = 1; n <= 2; ++n) {  // the rare report that joins the two services
    c->Query(fmt::format("SELECT u.email, o.total FROM sst_fn_orders o JOIN sst_fn_users u ON u.id = o.user_id WHERE o.id = {}", n));
  }
  CliRun r = Shardshift({"--config", TestConfigPath(), "advise", "split", "--functional", "--db", Db("range_2"), "--json"});
  ASSERT_EQ(r.rc, 0) << r.output;
  const nlohmann::json out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  auto name = [&](const std::string& t) { return pg() ? "public." + t : t; };
  const std::vector<std::string> users = {name("sst_fn_profiles"), name("sst_fn_sessions"), name("sst_fn_users")};
  const std::vector<std::string> orders = {name("sst_fn_items"), name("sst_fn_orders"), name("sst_fn_payments")};
  const nlohmann::json* user_group = nullptr;
  const nlohmann::json* order_group = nullptr;
  for (const auto& grp : out["groups"]) {
    const auto tables = grp["tables"].get<std::vector<std::string>>();
    if (tables == users) user_group = &grp;
    if (tables == orders) order_group = &grp;
    for (const std::string& t : tables) {  // no group mixes the two services
      if (t.find("sst_fn_") == std::string::npos) continue;
      const bool u = std::find(users.begin(), users.end(), t) != users.end();
      for (const std::string& other : tables) {
        if (other.find("sst_fn_") == std::string::npos) continue;
        EXPECT_EQ(u, std::find(users.begin(), users.end(), other) != users.end()) << grp.dump(2);
      }
    }
  }
  ASSERT_NE(user_group, nullptr) << r.output;
  ASSERT_NE(order_group, nullptr) << r.output;
  // The cut crosses the rare report (2 calls) and the orders' foreign key to users.
  EXPECT_EQ((*order_group)["crossing_calls"], 2) << order_group->dump(2);
  EXPECT_EQ((*order_group)["calls"], 90) << order_group->dump(2);
  ASSERT_EQ((*order_group)["crossing"].size(), 1u) << order_group->dump(2);
  EXPECT_EQ((*order_group)["crossing"][0]["outside"], std::vector<std::string>{name("sst_fn_users")});
  EXPECT_EQ((*order_group)["foreign_keys_cut"], std::vector<std::string>{"sst_fn_orders.user_id -> sst_fn_users"});
  EXPECT_EQ((*user_group)["foreign_keys_cut"], std::vector<std::string>{"sst_fn_orders.user_id -> sst_fn_users"});
  EXPECT_GT((*order_group)["bytes"].get<int64_t>(), 0);
  // What a move must carry or leave behind: the view over both groups, the payments' counter.
  auto has = [](const nlohmann::json& list, const std::string& text) {
    for (const auto& item : list) {
      if (item.get<std::string>().find(text) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has((*order_group)["dependents"], "sst_fn_user_orders uses sst_fn_orders")) << order_group->dump(2);
  EXPECT_TRUE(has((*user_group)["dependents"], "sst_fn_user_orders uses sst_fn_users")) << user_group->dump(2);
  EXPECT_TRUE(has((*order_group)["counters"], pg() ? "sst_fn_payments.id: sequence public.sst_fn_payment_ids"
                                                   : "sst_fn_payments.id: auto_increment"))
      << order_group->dump(2);
  EXPECT_TRUE((*user_group)["counters"].empty()) << user_group->dump(2);
  EXPECT_NE((*order_group)["why"].get<std::string>().find("would become joins in the application"), std::string::npos);

  // --emit-spec writes the orders group's move_tables spec, which plans and applies as written.
  int number = 0;
  for (size_t i = 0; i < out["groups"].size(); ++i) {
    if (&out["groups"][i] == order_group) number = static_cast<int>(i) + 1;
  }
  auto dst = Connect("hash_1");
  DropTable drop_moved(*dst, {"sst_fn_payments", "sst_fn_items", "sst_fn_orders"});
  const std::string spec = fmt::format("/tmp/sst-fn-move-{}-{}.toml", pg() ? "pg" : "my", getpid());
  const std::string plan = spec + ".plan";
  CliRun emit = Shardshift({"--config", TestConfigPath(), "advise", "split", "--functional", "--db", Db("range_2"),
                            "--emit-spec", spec, "--target", Db("hash_1"), "--group", std::to_string(number)});
  ASSERT_EQ(emit.rc, 0) << emit.output;
  CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  const std::vector<std::string> ids = PlanValues(plan, "id");
  EXPECT_NE(std::find(ids.begin(), ids.end(), "drop_foreign_keys"), ids.end()) << "the cut foreign key is not dropped";
  CliRun applied = Shardshift({"--config", TestConfigPath(), "apply", plan});
  ASSERT_EQ(applied.rc, 0) << applied.output;
  for (const char* t : {"sst_fn_orders", "sst_fn_items", "sst_fn_payments"}) {
    EXPECT_EQ(dst->Query(std::string("SELECT COUNT(*) AS n FROM ") + t).Text(0, "n"), "2000") << t;
  }
  CliRun status = Shardshift({"--config", TestConfigPath(), "status", "--json", plan});
  ASSERT_EQ(status.rc, 0) << status.output;
  EXPECT_EQ(nlohmann::json::parse(status.output.substr(status.output.find('{')))["direction"], "reverse") << status.output;
  // The plan's changelogs: forward on the source, the way back's on the target; there until cleanup.
  auto exists = [&](db::Connection& conn, const std::string& table) {
    if (pg()) return conn.Query("SELECT to_regclass($1) IS NOT NULL AS e", {table}).Text(0, "e") == "t";
    return conn.Query("SELECT COUNT(*) AS e FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
                      "TABLE_NAME = ?", {db::TableName::Parse(table).name}).Text(0, "e") != "0";
  };
  const std::vector<std::string> forward = PlanValues(plan, "changelog");
  const std::vector<std::string> back = PlanValues(plan, "reverse_changelog");
  ASSERT_FALSE(forward.empty());
  ASSERT_FALSE(back.empty());
  for (const std::string& t : forward) EXPECT_TRUE(exists(*c, t)) << t;
  for (const std::string& t : back) EXPECT_TRUE(exists(*dst, t)) << t;
  // Cleanup ends the window: no capture is left on the group's tables, either side.
  CliRun cleaned = Shardshift({"--config", TestConfigPath(), "apply", "--cleanup", plan});
  ASSERT_EQ(cleaned.rc, 0) << cleaned.output;
  status = Shardshift({"--config", TestConfigPath(), "status", "--json", plan});
  ASSERT_EQ(status.rc, 0) << status.output;
  EXPECT_EQ(nlohmann::json::parse(status.output.substr(status.output.find('{')))["direction"], "done") << status.output;
  for (const std::string& t : forward) EXPECT_FALSE(exists(*c, t)) << t;
  for (const std::string& t : back) EXPECT_FALSE(exists(*dst, t)) << t;
  std::filesystem::remove(spec);
  std::filesystem::remove(plan);
  std::filesystem::remove(plan + ".routing.toml");
}

INSTANTIATE_TEST_SUITE_P(Engines, FunctionalAdviceTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
