// Integration tests run against the real servers of the ctest fixture (tests/CMakeLists.txt):
// SHARDSHIFT_TEST_CONFIG names its config. A missing config is a failure, never a skip.
// Objects a test creates carry the prefix sst_ and are dropped by the test.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "db/catalog.h"
#include "db/connection.h"
#include "db/error.h"
#include "plans/config.h"

namespace shardshift::testing {

// Raises a to v if v is larger (a longest wait, a most held), from any thread.
template <class T>
void StoreMax(std::atomic<T>& a, T v) {
  T seen = a.load();
  while (v > seen && !a.compare_exchange_weak(seen, v)) {
  }
}

inline std::string TestConfigPath() {
  const char* p = std::getenv("SHARDSHIFT_TEST_CONFIG");
  return p ? p : "";
}

inline db::Catalog TestCatalog() {
  return db::Catalog::FromConfig(plans::LoadConfig(TestConfigPath()));
}

inline std::string EngineParamName(const ::testing::TestParamInfo<db::Engine>& info) {
  return info.param == db::Engine::kPostgres ? "postgres" : "mariadb";
}

// Tables of seeded cases of both engines, instantiated once per engine (a Case has .engine and
// .name): the cases of one engine, and a case's name as the test's.
template <typename Case>
std::vector<Case> CasesOfEngine(const std::vector<Case>& all, db::Engine engine) {
  std::vector<Case> out;
  for (const Case& k : all) {
    if (k.engine == engine) out.push_back(k);
  }
  return out;
}
template <typename Case>
std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return info.param.name;
}

// When a test program ends (ctest runs one test per process; no other PostgreSQL test runs at the
// same time): the logical replication slots that plans a test left unfinished hold on the sandbox
// PostgreSQL are dropped, so that they neither use
// up its slots nor keep its WAL for the tests after. (Tests of shardshift's own cleanup check
// that it drops them before this runs.)
class DropLeftSlots : public ::testing::Environment {
 public:
  void TearDown() override {
    if (TestConfigPath().empty()) return;
    // A MariaDB test runs beside PostgreSQL tests (tests/CMakeLists.txt): their slots are in use.
    if (const char* engines = std::getenv("SHARDSHIFT_TEST_ENGINES"); engines != nullptr && std::string(engines) == "mariadb") {
      return;
    }
    try {
      db::Catalog catalog = TestCatalog();
      if (!catalog.Has("pg_range_0")) return;
      auto c = catalog.Connect("pg_range_0");
      c->Query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name LIKE "
               "'shardshift\\_%' AND active_pid IS NOT NULL");
      for (int attempt = 0; attempt < 50; ++attempt) {
        try {
          c->Query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE "
                   "'shardshift\\_%' AND NOT active");
          if (c->Query("SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE 'shardshift\\_%'").rows.empty()) return;
        } catch (const db::Error&) {  // a slot became active or went meanwhile
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dropping the replication slots tests left: %s\n", e.what());
    }
  }
};
inline ::testing::Environment* const kDropLeftSlots = ::testing::AddGlobalTestEnvironment(new DropLeftSlots);

// A test parameterized over both engines, with helpers that pick each engine's database and SQL.
class EngineTest : public ::testing::TestWithParam<db::Engine> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestConfigPath().empty())
        << "SHARDSHIFT_TEST_CONFIG is not set: run through ctest, which starts the servers";
    catalog_ = std::make_unique<db::Catalog>(TestCatalog());
  }

  bool pg() const { return GetParam() == db::Engine::kPostgres; }
  // "range_0" -> "pg_range_0" or "my_range_0"
  std::string Db(const std::string& base) const { return (pg() ? "pg_" : "my_") + base; }
  // Tests connect as "shardshift-test", so that a test can tell the executor's sessions from its own.
  std::unique_ptr<db::Connection> Connect(const std::string& base = "range_0") const {
    db::ConnectOptions options;
    options.application_name = "shardshift-test";
    options.executor_session = false;  // the application: captured, and fenced
    return catalog_->Connect(Db(base), options);
  }
  // Either engine's spelling of a thing.
  const char* Sql(const char* postgres, const char* mysql) const { return pg() ? postgres : mysql; }
  // $n or ?
  std::string P(int n) const { return pg() ? "$" + std::to_string(n) : "?"; }

  std::unique_ptr<db::Catalog> catalog_;
};

// The values of every `name = "..."` line of a plan file (a step parameter, say), in file order.
inline std::vector<std::string> PlanValues(const std::string& plan, const std::string& name) {
  std::ifstream in(plan);
  std::vector<std::string> out;
  const std::string prefix = name + " = \"";
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix) && line.ends_with("\"")) {
      out.push_back(line.substr(prefix.size(), line.size() - prefix.size() - 1));
    }
  }
  return out;
}

// Drops the named tables, in the order given (children before the parents they reference). On
// MariaDB it also forgets the claims of plans on them: a plan that captured a table from the binary
// log claims it while its position table stands, which dropping the table does not drop (on
// PostgreSQL dropping the table ends a claim, as its publication or trigger goes with it), and the
// tests leave plans unfinished.
inline void DropTestTables(db::Connection& c, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    c.Execute("DROP TABLE IF EXISTS " + c.Quote(n));
    if (c.engine() != db::Engine::kMySQL) continue;
    try {
      c.Execute("DELETE FROM _shardshift_claims WHERE table_name = ? OR table_name LIKE CONCAT('%.', ?)", {n, n});
    } catch (const db::Error& e) {
      if (e.errnum() != 1146) throw;  // no claims here
    }
  }
}

// DropTestTables when constructed and again when it goes out of scope, also when the test failed.
class DropTable {
 public:
  DropTable(db::Connection& conn, std::string name) : DropTable(conn, std::vector<std::string>{std::move(name)}) {}
  DropTable(db::Connection& conn, std::vector<std::string> names) : conn_(conn), names_(std::move(names)) {
    DropTestTables(conn_, names_);
  }
  ~DropTable() {
    try {
      if (conn_.Usable()) {
        if (conn_.InTransaction()) conn_.Rollback();
        DropTestTables(conn_, names_);
      }
    } catch (...) {  // NOLINT: best effort in a destructor
    }
  }
  const std::string& name() const { return names_.front(); }

 private:
  db::Connection& conn_;
  std::vector<std::string> names_;
};

}  // namespace shardshift::testing
