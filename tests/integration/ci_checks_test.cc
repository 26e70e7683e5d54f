// What a CI pipeline runs before a migration reaches production, against the fixture's servers:
// `lint --db` grades lock and rewrite findings by the live table's size; `apply --dry-run` checks
// privileges, free space, settings and replica lag, prints the steps with their estimates, and
// changes nothing: catalogs, data and settings are the same before and after; `rehearse` runs the
// whole plan on a sandbox copy under a writer, reports each step, and leaves the real databases
// alone.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "executors/run_state.h"
#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class CiChecksTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("sst-ci-{}-{}", getpid(), pg() ? "pg" : "my");
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  // A table (id, v) holding rows 1..rows, analyzed.
  void MakeTable(db::Connection& c, const std::string& table, int rows) {
    const std::string create =
        Sql("CREATE TABLE {} (id bigint PRIMARY KEY, v text NOT NULL)",
            "CREATE TABLE {} (id BIGINT PRIMARY KEY, v VARCHAR(100) NOT NULL) ENGINE=InnoDB");
    const std::string fill = Sql("INSERT INTO {} SELECT g, 'v' || g FROM generate_series(1, {}) g",
                                 "INSERT INTO {} SELECT seq, CONCAT('v', seq) FROM seq_1_to_{}");
    c.Execute(fmt::format(fmt::runtime(create), table));
    c.Execute(fmt::format(fmt::runtime(fill), table, rows));
    c.Execute(fmt::format(fmt::runtime(Sql("ANALYZE {}", "ANALYZE TABLE {}")), table));
  }
  // Removes what a real run of the migration left in the run state, so that a test starts afresh.
  void ForgetRun(db::Connection& c, const std::string& migration) {
    const bool exists = !c.Query(Sql("SELECT 1 FROM pg_class WHERE relname = '_shardshift_state'",
                                     "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                                     "DATABASE() AND TABLE_NAME = '_shardshift_state'"))
                             .rows.empty();
    if (exists) c.Execute("DELETE FROM _shardshift_state WHERE migration = " + P(1), {migration});
  }
  // A spec moving table from range_0 onto hash_0 and hash_1; extra goes before [reshard] ([hooks]).
  std::string ReshardSpec(const std::string& file, const std::string& table,
                          const std::string& extra = "") {
    return Write(
        file, fmt::format("[migration]\nname = \"{0}\"\nkind = \"reshard\"\n{1}\n[reshard]\n"
                          "table = \"{0}\"\nkey = [\"id\"]\n[reshard.source]\nlayout = \"single\"\n"
                          "database = \"{2}\"\n[reshard.target]\ndatabases = [\"{3}\", \"{4}\"]\n",
                          table, extra, Db("range_0"), Db("hash_0"), Db("hash_1")));
  }
  std::filesystem::path dir_;
};

TEST_P(CiChecksTest, LintWithDbGradesFindingsByTheLiveTablesSize) {
  auto conn = Connect("app");
  DropTable big(*conn, "sst_lint_big");
  DropTable small(*conn, "sst_lint_small");
  conn->Execute(Sql("CREATE TABLE sst_lint_big (id bigint PRIMARY KEY, v text)",
                    "CREATE TABLE sst_lint_big (id BIGINT PRIMARY KEY, v TEXT) ENGINE=InnoDB"));
  conn->Execute(
      Sql("INSERT INTO sst_lint_big SELECT g, repeat('v', 200) FROM generate_series(1, 20000) g",
          "INSERT INTO sst_lint_big SELECT seq, REPEAT('v', 200) FROM seq_1_to_20000"));
  conn->Execute(Sql("CREATE TABLE sst_lint_small (id bigint PRIMARY KEY, v text)",
                    "CREATE TABLE sst_lint_small (id BIGINT PRIMARY KEY, v TEXT) ENGINE=InnoDB"));
  conn->Execute(Sql("ANALYZE sst_lint_big", "ANALYZE TABLE sst_lint_big"));
  // The fixture's config, with a 1 MB threshold: the big table is about 4 MB.
  std::ifstream in(TestConfigPath());
  const std::string config =
      Write("shardshift.toml",
            std::string(std::istreambuf_iterator<char>(in), {}) + "\n[lint]\nsmall_table_mb = 1\n");
  const std::string sql =
      Write("m.sql", pg() ? "SET lock_timeout = '2s';\nCREATE INDEX sst_a ON sst_lint_big (v);\n"
                            "CREATE INDEX sst_b ON sst_lint_small (v);\nCREATE INDEX sst_c ON "
                            "sst_lint_nowhere (v);\n"
                          : "SET SESSION lock_wait_timeout = 5;\nALTER TABLE sst_lint_big MODIFY v BIGINT;\n"
                            "ALTER TABLE sst_lint_small MODIFY v BIGINT;\n"
                            "ALTER TABLE sst_lint_nowhere MODIFY v BIGINT;\n");
  const std::string rule = pg() ? "SS101" : "SS302";
  // Without a database every one is an error.
  CliRun plain = Shardshift({"--config", config, "lint", "--format", "github", "--dialect",
                             pg() ? "postgres" : "mariadb", sql});
  EXPECT_EQ(plain.rc, 1) << plain.output;
  EXPECT_NE(plain.output.find("::error file=" + sql + ",line=4"), std::string::npos)
      << plain.output;
  // With --db (and the dialect taken from it): only the big table's is.
  CliRun graded =
      Shardshift({"--config", config, "lint", "--format", "github", "--db", Db("app"), sql});
  EXPECT_EQ(graded.rc, 1) << graded.output;
  EXPECT_NE(graded.output.find("::error file=" + sql + ",line=2,col=1,title=" + rule),
            std::string::npos)
      << graded.output;
  EXPECT_NE(graded.output.find("sst_lint_big is "), std::string::npos) << graded.output;
  EXPECT_NE(graded.output.find("::warning file=" + sql + ",line=3,col=1,title=" + rule),
            std::string::npos)
      << graded.output;
  EXPECT_NE(graded.output.find("small enough that the lock is brief"), std::string::npos)
      << graded.output;
  EXPECT_NE(graded.output.find("::warning file=" + sql + ",line=4,col=1,title=" + rule),
            std::string::npos)
      << graded.output;
  EXPECT_NE(graded.output.find("sst_lint_nowhere does not exist on " + Db("app")),
            std::string::npos)
      << graded.output;
  // Without the big table's statement, nothing is an error: exit 0.
  const std::string small_only = Write(
      "small.sql", pg() ? "SET lock_timeout = '2s';\nCREATE INDEX sst_b ON sst_lint_small (v);\n"
                        : "SET SESSION lock_wait_timeout = 5;\nALTER TABLE sst_lint_small ADD "
                          "INDEX sst_b (v(10));\n");
  CliRun ok = Shardshift({"--config", config, "lint", "--db", Db("app"), small_only});
  EXPECT_EQ(ok.rc, 0) << ok.output;
  EXPECT_EQ(ok.output.find("password"), std::string::npos);
  // Drops graded by the workload: the application reads sst_lint_big.v, nothing reads
  // sst_lint_small.v.
  if (pg()) conn->Execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  for (int i = 0; i < 3; ++i)
    conn->Query("SELECT v FROM sst_lint_big WHERE id = " + std::to_string(i + 1));
  const std::string drops =
      Write("drops.sql",
            pg() ? "SET lock_timeout = '2s';\nALTER TABLE sst_lint_big DROP COLUMN v;\n"
                   "ALTER TABLE sst_lint_small DROP COLUMN v;\n"
                 : "SET SESSION lock_wait_timeout = 5;\nALTER TABLE sst_lint_big DROP COLUMN v;\n"
                   "ALTER TABLE sst_lint_small DROP COLUMN v;\n");
  const std::string drop_rule = pg() ? "SS108" : "SS306";
  CliRun used =
      Shardshift({"--config", config, "lint", "--format", "github", "--db", Db("app"), drops});
  EXPECT_EQ(used.rc, 1) << used.output;
  EXPECT_NE(used.output.find("::error file=" + drops + ",line=2,col=1,title=" + drop_rule),
            std::string::npos)
      << used.output;
  EXPECT_NE(used.output.find("sst_lint_big.v is still in use on " + Db("app")), std::string::npos)
      << used.output;
  EXPECT_NE(used.output.find("::warning file=" + drops + ",line=3,col=1,title=" + drop_rule),
            std::string::npos)
      << used.output;
  EXPECT_NE(used.output.find("workload uses sst_lint_small.v"), std::string::npos) << used.output;
  // An unknown database is bad input.
  CliRun unknown = Shardshift({"--config", config, "lint", "--db", "no_such_db", sql});
  EXPECT_EQ(unknown.rc, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("no_such_db"), std::string::npos) << unknown.output;
}

// Everything a dry run could touch, as text: the catalogs (tables, indexes, triggers, functions,
// publications, slots), the rows of the test's table, and every server setting.
std::vector<std::string> Snapshot(db::Connection& c, bool pg, const std::string& rows_of = "") {
  std::vector<std::string> queries;
  if (pg) {
    queries = {
        "SELECT c.oid::text || ' ' || c.relname || ' ' || c.relkind::text || ' ' || "
        "c.relowner::text || ' ' || "
        "COALESCE(c.relacl::text, '') AS x FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1",
        "SELECT tgname || ' ' || tgrelid::text || ' ' || tgenabled::text AS x FROM pg_trigger "
        "ORDER BY 1",
        "SELECT p.proname AS x FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
        "SELECT nspname || ' ' || COALESCE(nspacl::text, '') AS x FROM pg_namespace ORDER BY 1",
        "SELECT pubname AS x FROM pg_publication ORDER BY 1",
        "SELECT slot_name AS x FROM pg_replication_slots ORDER BY 1",
        "SELECT name || '=' || setting AS x FROM pg_settings ORDER BY 1",
        "SELECT COALESCE(setconfig::text, '') AS x FROM pg_db_role_setting ORDER BY 1",
        "SELECT count(*)::text || ' ' || COALESCE(md5(string_agg(t::text, ',' ORDER BY id)), '') "
        "AS x FROM " +
            rows_of + " t",
    };
  } else {
    queries = {
        "SELECT CONCAT_WS(' ', TABLE_SCHEMA, TABLE_NAME, ENGINE, CREATE_OPTIONS) AS x FROM "
        "information_schema.TABLES "
        "WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') "
        "ORDER BY 1",
        "SELECT CONCAT_WS(' ', TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, COLUMN_NAME) AS x FROM "
        "information_schema.STATISTICS "
        "WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') "
        "ORDER BY 1",
        "SELECT CONCAT_WS(' ', TRIGGER_SCHEMA, TRIGGER_NAME) AS x FROM information_schema.TRIGGERS "
        "ORDER BY 1",
        "SELECT CONCAT_WS(' ', ROUTINE_SCHEMA, ROUTINE_NAME) AS x FROM information_schema.ROUTINES "
        "ORDER BY 1",
        // Every global variable, the binary log's position (gtid_binlog_pos) among them: any write,
        // DDL or DML, would move it.
        "SELECT CONCAT(VARIABLE_NAME, '=', COALESCE(VARIABLE_VALUE, '')) AS x FROM "
        "information_schema.GLOBAL_VARIABLES "
        "ORDER BY 1",
        "SELECT CONCAT(COUNT(*), ' ', COALESCE(MD5(GROUP_CONCAT(id, v ORDER BY id)), '')) AS x "
        "FROM " +
            rows_of,
    };
  }
  if (rows_of.empty()) queries.pop_back();  // a table's rows: only where it is
  std::vector<std::string> out;
  for (const std::string& q : queries) {
    db::ResultSet r = c.Query(q);
    for (size_t i = 0; i < r.rows.size(); ++i) out.push_back(r.Text(i, "x"));
    out.push_back("--");
  }
  return out;
}

TEST_P(CiChecksTest, DryRunChecksThePreconditionsPrintsEstimatesAndChangesNothing) {
  auto source = Connect("range_0");
  DropTable table(*source, "sst_dry");
  MakeTable(*source, "sst_dry", 5000);
  auto t0 = Connect("hash_0");
  auto t1 = Connect("hash_1");
  DropTable drop0(*t0, "sst_dry");
  DropTable drop1(*t1, "sst_dry");
  const std::string reshard = ReshardSpec("reshard.toml", "sst_dry");
  const std::string index = Write("index.toml", fmt::format(R"([migration]
name = "sst-dry-index"
kind = "create_index"
[create_index]
databases = ["{}"]
[[create_index.indexes]]
table = "sst_dry"
columns = ["v"]
)",
                                                            Db("range_0")));
  const std::string config = TestConfigPath();
  std::vector<std::string> plans;
  for (const std::string& spec : {reshard, index}) {
    plans.push_back(spec + ".plan.toml");
    CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plans.back()});
    ASSERT_EQ(planned.rc, 0) << planned.output;
  }
  std::vector<std::vector<std::string>> before = {Snapshot(*source, pg(), "sst_dry"),
                                                  Snapshot(*t0, pg()), Snapshot(*t1, pg())};
  for (const std::string& plan : plans) {
    CliRun dry = Shardshift({"--config", config, "apply", "--dry-run", plan});
    EXPECT_EQ(dry.rc, 0) << dry.output;
    EXPECT_NE(dry.output.find("ok      " + Db("range_0")), std::string::npos) << dry.output;
    EXPECT_NE(dry.output.find("privileges    held: "), std::string::npos) << dry.output;
    EXPECT_NE(dry.output.find("replica lag"), std::string::npos) << dry.output;
    EXPECT_NE(dry.output.find("would run, in order:"), std::string::npos) << dry.output;
    EXPECT_EQ(dry.output.find("failed "), std::string::npos) << dry.output;
  }
  CliRun reshard_dry = Shardshift({"--config", config, "apply", "--dry-run", plans[0]});
  // Both capture from the log: what the server must allow is checked.
  EXPECT_NE(reshard_dry.output.find(Sql("log capture   wal_level is logical",
                                        "log capture   the binary log is on in ROW format")),
            std::string::npos)
      << reshard_dry.output;
  EXPECT_NE(reshard_dry.output.find(Sql("SELECT on sst_dry", "SELECT on range_0.sst_dry")),
            std::string::npos)
      << reshard_dry.output;  // the backfill reads the source
  EXPECT_NE(reshard_dry.output.find("free space    the copies need about"), std::string::npos)
      << reshard_dry.output;
  EXPECT_NE(reshard_dry.output.find("backfill." + Db("range_0") + " [backfill] on " +
                                    Db("range_0") + " ~5000 rows"),
            std::string::npos)
      << reshard_dry.output;
  // Nothing changed: not a table, index, trigger, function, setting or row.
  std::vector<std::vector<std::string>> after = {Snapshot(*source, pg(), "sst_dry"),
                                                 Snapshot(*t0, pg()), Snapshot(*t1, pg())};
  for (size_t i = 0; i < before.size(); ++i)
    EXPECT_EQ(before[i], after[i]) << "database " << i << " changed";

  // A user without the privileges: each one missing is named with its step and a GRANT, exit 1.
  if (pg()) {
    source->Execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sst_dry_user') THEN "
        "EXECUTE 'DROP OWNED BY sst_dry_user'; END IF; END $$");  // a failed run's leftovers
    source->Execute("DROP ROLE IF EXISTS sst_dry_user");
    source->Execute("CREATE ROLE sst_dry_user LOGIN PASSWORD 'sst-dry-user-secret'");
    source->Execute("GRANT SELECT ON sst_dry TO sst_dry_user");
  } else {
    source->Execute("DROP USER IF EXISTS 'sst_dry_user'@'%'");
    source->Execute("CREATE USER 'sst_dry_user'@'%' IDENTIFIED BY 'sst-dry-user-secret'");
    source->Execute("GRANT SELECT ON range_0.sst_dry TO 'sst_dry_user'@'%'");
    source->Execute("GRANT SELECT ON hash_0.* TO 'sst_dry_user'@'%'");
    source->Execute("GRANT SELECT ON hash_1.* TO 'sst_dry_user'@'%'");
  }
  std::ifstream in(config);
  std::string text(std::istreambuf_iterator<char>(in), {});
  const std::string admin =
      catalog_->Url(Db("range_0")).user + ":" + catalog_->Url(Db("range_0")).password + "@";
  for (size_t at = text.find(admin); at != std::string::npos; at = text.find(admin, at)) {
    text.replace(at, admin.size(), "sst_dry_user:sst-dry-user-secret@");
  }
  const std::string limited = Write("limited.toml", text);
  // Runs of other plans left a run state table the user may not read: named, with its GRANT.
  executors::RunState(*source, "sst-other-plan").EnsureTable();
  // (PostgreSQL: reading it fails, bad input. MariaDB hides it from the user: a failed check.)
  CliRun no_state = Shardshift({"--config", limited, "apply", "--dry-run", plans[0]});
  EXPECT_EQ(no_state.rc, pg() ? 2 : 1) << no_state.output;
  EXPECT_NE(no_state.output.find(
                pg() ? "GRANT SELECT, INSERT, UPDATE, DELETE ON _shardshift_state TO sst_dry_user"
                     : "GRANT SELECT ON range_0._shardshift_state TO 'sst_dry_user'@'%'"),
            std::string::npos)
      << no_state.output;
  source->Execute(pg() ? "GRANT SELECT, INSERT, UPDATE, DELETE ON _shardshift_state TO sst_dry_user"
                       : "GRANT SELECT, INSERT, UPDATE, DELETE ON range_0._shardshift_state TO "
                         "'sst_dry_user'@'%'");
  std::vector<std::string> before_limited = Snapshot(*source, pg(), "sst_dry");
  CliRun refused = Shardshift({"--config", limited, "apply", "--dry-run", plans[0]});
  EXPECT_EQ(refused.rc, 1) << refused.output;
  EXPECT_NE(
      refused.output.find("failed  " + Db("range_0") + "   privileges    sst_dry_user lacks "),
      std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find("TRIGGER on "), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("(step capture." + Db("range_0") + ")"), std::string::npos)
      << refused.output;
  // Log capture: the user may not read the log; the check says so with the statement that fixes it.
  EXPECT_NE(refused.output.find(
                "log capture   step capture." + Db("range_0") +
                Sql(": the configured user has neither REPLICATION nor SUPERUSER",
                    ": the configured user lacks REPLICATION SLAVE, BINLOG MONITOR (to read the binary log")),
            std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find(Sql("ALTER ROLE sst_dry_user REPLICATION",
                                    "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO sst_dry_user")),
            std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find("dry run found problems"), std::string::npos) << refused.output;
  EXPECT_EQ(refused.output.find("sst-dry-user-secret"), std::string::npos)
      << "the password was printed";
  EXPECT_EQ(before_limited, Snapshot(*source, pg(), "sst_dry"));
  // The real run checks the same first, and refuses before changing anything: no run state, no
  // target table, no trigger.
  const std::vector<std::string> targets_before = Snapshot(*t0, pg());
  CliRun applied = Shardshift({"--config", limited, "apply", plans[0]});
  EXPECT_EQ(applied.rc, 2) << applied.output;
  EXPECT_NE(applied.output.find("apply refused before changing anything"), std::string::npos)
      << applied.output;
  EXPECT_NE(applied.output.find("TRIGGER on "), std::string::npos) << applied.output;
  EXPECT_EQ(applied.output.find("sst-dry-user-secret"), std::string::npos)
      << "the password was printed";
  EXPECT_EQ(before_limited, Snapshot(*source, pg(), "sst_dry"));
  EXPECT_EQ(targets_before, Snapshot(*t0, pg()));
  if (pg()) {
    source->Execute("REVOKE ALL ON sst_dry FROM sst_dry_user");
    source->Execute("REVOKE ALL ON _shardshift_state FROM sst_dry_user");
    source->Execute("DROP ROLE sst_dry_user");
  } else {
    source->Execute("DROP USER 'sst_dry_user'@'%'");
  }
}

TEST_P(CiChecksTest, RehearseRunsTheWholePlanOnASandboxCopyAndLeavesTheRealDatabasesAlone) {
  auto source = Connect("range_0");
  DropTable table(*source, "sst_rh");
  ForgetRun(*source, "sst_rh");
  MakeTable(*source, "sst_rh", 4000);
  auto t0 = Connect("hash_0");
  auto t1 = Connect("hash_1");
  DropTable drop0(*t0, "sst_rh");
  DropTable drop1(*t1, "sst_rh");
  const std::string config = TestConfigPath();
  const std::string plan = (dir_ / "rh.plan.toml").string();
  // Its during_cutover hook fails: a rehearsal leaves hooks out (they may act outside the
  // sandbox) unless --run-hooks asks for them.
  CliRun planned = Shardshift(
      {"--config", config, "plan",
       ReshardSpec("rh.toml", "sst_rh", "[hooks]\nduring_cutover = \"exit 3\"\n"), "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  const std::vector<std::string> before = Snapshot(*source, pg(), "sst_rh");
  const std::string sandbox_dir = (dir_ / "sandbox").string();
  CliRun rehearsed =
      Shardshift({"--config", config, "--log-level", "warn", "rehearse", plan, "--sample-rows",
                  "1500", "--writes-per-second", "200", "--dir", sandbox_dir, "--json"});
  ASSERT_EQ(rehearsed.rc, 0) << rehearsed.output;
  const nlohmann::json r =
      nlohmann::json::parse(rehearsed.output.substr(rehearsed.output.find('{')));
  EXPECT_TRUE(r["ok"].get<bool>());
  EXPECT_NE(r["notes"].dump().find("not run, as they may act outside the sandbox: during_cutover"),
            std::string::npos)
      << r.dump(2);
  // The sample: the first 1500 rows of the 4000.
  bool sampled = false;
  for (const auto& t : r["tables"]) {
    if (t["table"].get<std::string>().ends_with("sst_rh")) {
      sampled = true;
      EXPECT_EQ(t["rows"], 1500);
      EXPECT_EQ(t["database"], Db("range_0"));
    }
  }
  EXPECT_TRUE(sampled) << r.dump(2);
  // Every step of the plan ran, cleanup included, each with its duration.
  std::set<std::string> ran;
  for (const auto& s : r["steps"]) {
    ran.insert(s["step"].get<std::string>());
    EXPECT_GE(s["seconds"].get<double>(), 0.0);
  }
  for (const std::string& id :
       {"create_target." + Db("hash_0"), "capture." + Db("range_0"), "backfill." + Db("range_0"),
        std::string("verify"), std::string("cutover"), "cleanup." + Db("range_0")}) {
    EXPECT_TRUE(ran.count(id)) << id << " not reported: " << r.dump(2);
  }
  EXPECT_TRUE(r["verified"].get<bool>());
  EXPECT_EQ(r["verified_rows"], 1500);
  EXPECT_GE(r["write_blocked_ms"].get<int64_t>(), 0);
  EXPECT_GT(r["writes"].get<int64_t>(), 0) << "the writer wrote nothing";
  EXPECT_EQ(r["write_errors"], 0) << r["first_write_error"];
  EXPECT_EQ(rehearsed.output.find(catalog_->Url(Db("range_0")).password), std::string::npos)
      << "a password was printed";
  // The real databases: not a table, trigger, setting or row changed; the sandbox is gone.
  EXPECT_EQ(before, Snapshot(*source, pg(), "sst_rh"));
  EXPECT_EQ(
      t0
          ->Query(Sql(
              "SELECT count(*) AS n FROM pg_class WHERE relname = 'sst_rh'",
              "SELECT count(*) AS n FROM information_schema.TABLES WHERE TABLE_NAME = 'sst_rh' AND "
              "TABLE_SCHEMA = DATABASE()"))
          .Text(0, "n"),
      "0");
  EXPECT_FALSE(std::filesystem::exists(sandbox_dir));

  // With its run already under way on the real databases (capture on the source, rows on the
  // targets) a rehearsal still starts from the beginning, on targets without rows; with its hook
  // run, the cutover fails and so does the rehearsal, saying why.
  CliRun started =
      Shardshift({"--config", config, "--log-level", "warn", "apply", plan, "--until", "verify"});
  ASSERT_EQ(started.rc, 0) << started.output;
  CliRun failed = Shardshift({"--config", config, "--log-level", "warn", "rehearse", plan,
                              "--sample-rows", "500", "--dir", sandbox_dir, "--run-hooks"});
  EXPECT_EQ(failed.rc, 1) << failed.output;
  // (The source is captured from the log: only the targets hold triggers, the way back's.)
  EXPECT_NE(failed.output.find(Db("hash_0") + " holds "), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("of a run in progress"), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find(Db("hash_0") + ": schema only"), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("verification: passed"), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("rehearsal failed: "), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("exit 3"), std::string::npos) << failed.output;
  EXPECT_FALSE(std::filesystem::exists(sandbox_dir));
  // The capture of the real run dropped behind its back (PostgreSQL: its replication slot; MariaDB:
  // the table holding its binary log position): the checks refuse to go on, since the writes since
  // then cannot be read.
  std::string lost_what;
  if (pg()) {
    db::ResultSet slot = source->Query(
        "SELECT slot_name AS s FROM pg_replication_slots WHERE slot_name LIKE 'shardshift\\_%' AND database = "
        "current_database()");
    ASSERT_EQ(slot.rows.size(), 1u);
    source->Query("SELECT pg_drop_replication_slot($1)", {slot.Text(0, "s")});
    lost_what = "its replication slot " + slot.Text(0, "s") + " is gone";
  } else {
    // (The plan names it: tests before this one may have left theirs.)
    const std::vector<std::string> positions = PlanValues(plan, "position");
    ASSERT_EQ(positions.size(), 1u);
    const std::string position = positions.front();
    source->Execute("DROP TABLE " + source->Quote(position));
    lost_what = "its position table " + position + " is gone";
  }
  CliRun lost = Shardshift({"--config", config, "apply", "--dry-run", plan});
  EXPECT_EQ(lost.rc, 1) << lost.output;
  EXPECT_NE(lost.output.find("is recorded as done but " + lost_what), std::string::npos) << lost.output;
  CliRun refused = Shardshift({"--config", config, "apply", plan});
  EXPECT_EQ(refused.rc, 2) << refused.output;
  ForgetRun(*source, "sst_rh");
  if (pg()) {
    source->Execute("DROP PUBLICATION IF EXISTS " +
                    source->Query("SELECT pubname AS p FROM pg_publication_tables WHERE tablename = 'sst_rh'")
                        .Text(0, "p"));
  }
  // The real run's changelog.
  db::ResultSet logs = source->Query(Sql(
      "SELECT relname AS t FROM pg_class WHERE relkind = 'r' AND relname LIKE "
      "'\\_shardshift\\_log\\_sst\\_rh%'",
      "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
      "TABLE_NAME LIKE '\\_shardshift\\_log\\_sst\\_rh%'"));
  for (size_t i = 0; i < logs.rows.size(); ++i) DropTable(*source, logs.Text(i, "t"));
}

// A replica plan rehearses too: the primary copied, the replica made on the sandbox's second
// server.
TEST_P(CiChecksTest, RehearseRunsAReplicaPlanOnTheSandboxsSecondServer) {
  auto primary = Connect("app");
  DropTable table(*primary, "sst_rr");
  MakeTable(*primary, "sst_rr", 2000);
  const std::string replica = pg() ? "pg2_app" : "my2_app";
  const std::string spec =
      Write("rep.toml", fmt::format(R"([migration]
name = "sst-rr"
kind = "replica"
[replica]
primary = "{}"
[[replica.replicas]]
database = "{}"
method = "{}"
{}
)",
                                    Db("app"), replica, pg() ? "logical" : "gtid",
                                    pg() ? "tables = [\"sst_rr\"]" : ""));
  const std::string config = TestConfigPath();
  const std::string plan = (dir_ / "rep.plan.toml").string();
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  auto real_replica = catalog_->Connect(replica);
  const std::vector<std::string> primary_before = Snapshot(*primary, pg(), "sst_rr");
  const std::vector<std::string> replica_before = Snapshot(*real_replica, pg());
  CliRun rehearsed =
      Shardshift({"--config", config, "--log-level", "warn", "rehearse", plan, "--sample-rows",
                  "500", "--dir", (dir_ / "sandbox").string(), "--json"});
  ASSERT_EQ(rehearsed.rc, 0) << rehearsed.output;
  const nlohmann::json r =
      nlohmann::json::parse(rehearsed.output.substr(rehearsed.output.find('{')));
  std::set<std::string> ran;
  for (const auto& s : r["steps"]) ran.insert(s["step"].get<std::string>());
  for (const std::string& id : {replica + ".wait", replica + ".verify", std::string("router")}) {
    EXPECT_TRUE(ran.count(id)) << id << " not reported: " << r.dump(2);
  }
  EXPECT_TRUE(r["verified"].get<bool>());
  EXPECT_GT(r["writes"].get<int64_t>(), 0);
  EXPECT_EQ(r["write_errors"], 0) << r["first_write_error"];
  // The real primary and the real replica server: untouched.
  EXPECT_EQ(primary_before, Snapshot(*primary, pg(), "sst_rr"));
  EXPECT_EQ(replica_before, Snapshot(*real_replica, pg()));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "sandbox"));
}

// rehearse of a move_tables plan: two tables with a foreign key between them (PostgreSQL: the child's
// key a GENERATED ALWAYS identity, which the writer puts back as it was) run through the group's
// cutover on the sandbox copy under the writer; the real databases stay as they were.
TEST_P(CiChecksTest, RehearseRunsAMoveTablesPlan) {
  auto src = Connect("app");
  auto dst = Connect("hash_3");
  DropTable tables(*src, std::vector<std::string>{"sst_rm_child", "sst_rm_parent"});
  DropTable moved(*dst, std::vector<std::string>{"sst_rm_child", "sst_rm_parent"});
  MakeTable(*src, "sst_rm_parent", 1000);
  src->Execute(pg() ? "CREATE TABLE sst_rm_child (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, parent_id bigint NOT "
                      "NULL REFERENCES sst_rm_parent (id), v text NOT NULL)"
                    : "CREATE TABLE sst_rm_child (id INT AUTO_INCREMENT PRIMARY KEY, parent_id BIGINT NOT NULL, v "
                      "VARCHAR(100) NOT NULL, FOREIGN KEY (parent_id) REFERENCES sst_rm_parent (id)) ENGINE=InnoDB");
  src->Execute("INSERT INTO sst_rm_child (parent_id, v) SELECT id, v FROM sst_rm_parent");
  const std::string spec = Write("move.toml", fmt::format(R"([migration]
name = "sst-rm"
kind = "move_tables"
[move_tables]
source = "{}"
target = "{}"
tables = ["sst_rm_parent", "sst_rm_child"]
)",
                                                           Db("app"), Db("hash_3")));
  const std::string config = TestConfigPath();
  const std::string plan = (dir_ / "move.plan.toml").string();
  CliRun planned = Shardshift({"--config", config, "plan", spec, "-o", plan});
  ASSERT_EQ(planned.rc, 0) << planned.output;
  const std::vector<std::string> before = Snapshot(*src, pg(), "sst_rm_child");
  CliRun rehearsed = Shardshift({"--config", config, "--log-level", "warn", "rehearse", plan, "--sample-rows", "500",
                                 "--dir", (dir_ / "sandbox").string(), "--json"});
  ASSERT_EQ(rehearsed.rc, 0) << rehearsed.output;
  const nlohmann::json r = nlohmann::json::parse(rehearsed.output.substr(rehearsed.output.find('{')));
  std::set<std::string> ran;
  for (const auto& s : r["steps"]) ran.insert(s["step"].get<std::string>());
  for (const std::string& id : {std::string("cutover"), std::string("release_source_foreign_keys")}) {
    EXPECT_TRUE(ran.count(id)) << id << " not reported: " << r.dump(2);
  }
  EXPECT_TRUE(r["verified"].get<bool>());
  EXPECT_GT(r["writes"].get<int64_t>(), 0);
  EXPECT_EQ(r["write_errors"], 0) << r["first_write_error"];
  EXPECT_EQ(before, Snapshot(*src, pg(), "sst_rm_child"));
  EXPECT_EQ(dst->Query(pg() ? "SELECT COUNT(*) AS n FROM pg_tables WHERE tablename = 'sst_rm_child'"
                            : "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                              "AND TABLE_NAME = 'sst_rm_child'")
                .Text(0, "n"),
            "0")
      << "the rehearsal touched the real target";
}

// examples/ci/check-migrations.sh, the script the GitHub Actions example runs, against the
// fixture's PostgreSQL under the example's database names: it lints, plans, dry-runs and rehearses
// the example, and fails on a migration with an error-level finding.
TEST(CiExampleTest, TheExampleScriptLintsDryRunsAndRehearsesAndFailsOnABadMigration) {
  ASSERT_FALSE(TestConfigPath().empty()) << "SHARDSHIFT_TEST_CONFIG is not set: run through ctest";
  db::Catalog catalog = TestCatalog();
  const std::map<std::string, std::string> names = {{"staging", "pg_hash_2"},
                                                    {"staging_shard_0", "pg_hash_3"},
                                                    {"staging_shard_1", "pg_range_1"}};
  std::vector<std::unique_ptr<db::Connection>> conns;
  std::vector<std::unique_ptr<DropTable>> drops;
  std::string config;
  for (const auto& [name, fixture] : names) {
    const db::ConnectionUrl& u = catalog.Url(fixture);
    config += fmt::format("[databases.{}]\nurl = \"postgres://{}:{}@{}:{}/{}\"\n\n", name, u.user,
                          u.password, u.host, u.PortOrDefault(), u.database);
    conns.push_back(catalog.Connect(fixture));
    drops.push_back(std::make_unique<DropTable>(*conns.back(), "orders"));
  }
  config += "[lint]\nsmall_table_mb = 10\n";
  db::Connection& staging =
      *conns[0];  // names are sorted: staging, staging_shard_0, staging_shard_1
  ASSERT_EQ(staging.url().database, catalog.Url("pg_hash_2").database);
  staging.Execute(
      "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, total "
      "numeric(12,2) NOT NULL, "
      "placed_at timestamptz NOT NULL DEFAULT now(), note text)");
  staging.Execute(
      "INSERT INTO orders (id, customer_id, total, note) SELECT g, g % 97, g / 10.0, 'note ' || g "
      "FROM generate_series(1, 5000) g");
  staging.Execute("ANALYZE orders");
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("sst-ci-example-{}", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::copy(std::string(SHARDSHIFT_SOURCE_DIR) + "/examples/ci", dir / "ci",
                        std::filesystem::copy_options::recursive);
  std::ofstream(dir / "staging.toml") << config;
  auto script = [&] {
    namespace bp = boost::process;
    bp::ipstream out;
    bp::child c("/bin/sh",
                bp::args = {(dir / "ci" / "check-migrations.sh").string(),
                            (dir / "staging.toml").string(), SHARDSHIFT_BIN, "github"},
                (bp::std_out & bp::std_err) > out);
    std::string text;
    for (std::string line; std::getline(out, line);) text += line + "\n";
    c.wait();
    return std::make_pair(c.exit_code(), text);
  };
  const auto [rc, output] = script();
  EXPECT_EQ(rc, 0) << output;
  EXPECT_EQ(output.find("::error"), std::string::npos) << output;
  EXPECT_NE(output.find("dry run: every database answered"), std::string::npos) << output;
  EXPECT_NE(output.find("ok      staging      privileges"), std::string::npos) << output;
  EXPECT_NE(output.find("rehearsal of orders-onto-2-shards (reshard)"), std::string::npos)
      << output;
  EXPECT_NE(output.find("rehearsal passed"), std::string::npos) << output;
  EXPECT_EQ(output.find(catalog.Url("pg_hash_2").password), std::string::npos)
      << "a password was printed";
  // A migration that locks a small table is a warning; one that drops an index the blocking way
  // is an error, and the script stops there with exit 1.
  std::ofstream(dir / "ci" / "migrations" / "0002_bad.sql")
      << "SET lock_timeout = '2s';\nCREATE INDEX orders_customer ON orders (customer_id);\nDROP "
         "INDEX orders_placed_at_idx;\n";
  const auto [bad_rc, bad] = script();
  EXPECT_EQ(bad_rc, 1) << bad;
  EXPECT_NE(bad.find("::warning file=" + (dir / "ci" / "migrations" / "0002_bad.sql").string() +
                     ",line=2,col=1,title=SS101"),
            std::string::npos)
      << bad;
  EXPECT_NE(bad.find("small enough that the lock is brief"), std::string::npos) << bad;
  EXPECT_NE(bad.find("::error file=" + (dir / "ci" / "migrations" / "0002_bad.sql").string() +
                     ",line=3,col=1,title=SS102"),
            std::string::npos)
      << bad;
  EXPECT_EQ(bad.find("rehearsal of"), std::string::npos) << "the script went on after lint failed";
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Engines, CiChecksTest,
                         ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
