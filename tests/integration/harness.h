// Integration tests run against the real servers of the ctest fixture (tests/CMakeLists.txt):
// SHARDSHIFT_TEST_CONFIG names its config. A missing config is a failure, never a skip.
// Objects a test creates carry the prefix sst_ and are dropped by the test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "db/catalog.h"
#include "db/connection.h"
#include "plans/config.h"

namespace shardshift::testing {

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

// Drops the named tables, in the order given (children before the parents they reference), when
// constructed and again when it goes out of scope, also when the test failed.
class DropTable {
 public:
  DropTable(db::Connection& conn, std::string name) : DropTable(conn, std::vector<std::string>{std::move(name)}) {}
  DropTable(db::Connection& conn, std::vector<std::string> names) : conn_(conn), names_(std::move(names)) {
    for (const std::string& n : names_) conn_.Execute("DROP TABLE IF EXISTS " + conn_.Quote(n));
  }
  ~DropTable() {
    try {
      if (conn_.Usable()) {
        if (conn_.InTransaction()) conn_.Rollback();
        for (const std::string& n : names_) conn_.Execute("DROP TABLE IF EXISTS " + conn_.Quote(n));
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
