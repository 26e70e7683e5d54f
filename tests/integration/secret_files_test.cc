// The secret files shardshift writes for the engines' client programs (pg_dump and psql in
// rehearse; mariadb-dump and mariadb in rehearse and replica setup) carry any password: a user
// whose password holds ':', '\', '"', '@', '#', '/' and a quote logs in with them on both engines.
#include <boost/process.hpp>
#include <filesystem>
#include <fstream>

#include "db/url.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;

class SecretFilesTest : public EngineTest {};

TEST_P(SecretFilesTest, AClientLogsInWithAPasswordOfEveryAwkwardCharacter) {
  auto admin = Connect("range_0");
  const std::string password = "p:a\\s#s@w\"o'r/d?%";
  const std::string literal = pg() ? "'p:a\\s#s@w\"o''r/d?%'" : "'p:a\\\\s#s@w\"o\\'r/d?%'";
  if (pg()) {
    admin->Execute("DROP ROLE IF EXISTS sst_awkward");
    admin->Execute("CREATE ROLE sst_awkward LOGIN PASSWORD " + literal);
  } else {
    admin->Execute("DROP USER IF EXISTS 'sst_awkward'@'%'");
    admin->Execute("CREATE USER 'sst_awkward'@'%' IDENTIFIED BY " + literal);
  }
  db::ConnectionUrl url = catalog_->Url(Db("range_0"));
  url.user = "sst_awkward";
  url.password = password;
  const fs::path dir = fs::temp_directory_path() / ("sst-secret-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "secret";
  {
    std::ofstream out(file);
    out << (pg() ? db::PgpassLine(url) : db::MariadbClientOptions(url));
  }
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  bp::ipstream out;
  bp::environment env = boost::this_process::environment();
  int rc = 0;
  if (pg()) {
    env["PGPASSFILE"] = file.string();
    rc = bp::system("/usr/lib/postgresql/15/bin/psql", "-X", "-At", "--no-password", "-h", url.host, "-p",
                    std::to_string(url.PortOrDefault()), "-U", url.user, "-d", url.database, "-c",
                    "SELECT current_user", bp::std_out > out, bp::std_err > bp::null, env);
  } else {
    rc = bp::system("/usr/bin/mariadb", "--defaults-extra-file=" + file.string(), "--protocol=TCP", "-N", "-e",
                    "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)", bp::std_out > out, bp::std_err > bp::null);
  }
  std::string who;
  std::getline(out, who);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(who, "sst_awkward");
  fs::remove_all(dir);
  admin->Execute(pg() ? "DROP ROLE sst_awkward" : "DROP USER 'sst_awkward'@'%'");
}

INSTANTIATE_TEST_SUITE_P(Engines, SecretFilesTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
