// Seeded index-advice cases where the right answer is known by construction (issue 20): a table,
// its indexes and a workload run against it; then `advise index --json --emit-spec`. Each case says
// which indexes must be proposed for dropping (exactly those) and what the first index to create
// must be (or that none must be). Beyond the verdicts, the test checks what a DBA would:
// - every proposed drop, carried out, leaves no workload statement costlier (PostgreSQL: planner
//   cost, with 10% and one page of slack for a wider index read instead of its prefix; MariaDB: the
//   rows the statement reads, counted by the server's Handler_read counters, with the same slack);
// - every emitted spec plans and applies, and once built, the first proposed index is the one the
//   server's plan uses for the statements it was proposed for.
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/integration/cli_run.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

struct AdviceCase {
  std::string name;
  db::Engine engine;
  std::string table;
  std::vector<std::string> setup;     // run in order (the table, its rows, its indexes)
  // Each run 30 times: {0} a number, {1} a day of November 2025, {2} one of the four statuses, {3} 0 or 1.
  std::vector<std::string> workload;
  std::vector<std::string> drops;     // the indexes that must be proposed for dropping, no more
  std::string create;                 // what the first proposed index's statement must contain; "" for none
  std::string serves;                 // the workload statement (index into workload) the created index must serve
  std::string note = "";              // what one of the notes must say, when the advice is "nothing" for a reason
  bool reset_after = false;           // the usage counters are reset after the workload ran (not before)
};

void PrintTo(const AdviceCase& c, std::ostream* os) { *os << c.name; }  // failures name the case

std::string Fill(const std::string& statement, int i) {
  static const char* kStatuses[] = {"new", "paid", "sent", "done"};
  return fmt::format(fmt::runtime(statement), i * 7 + 1, fmt::format("2025-11-{:02} 00:00:00", 1 + i % 28),
                     kStatuses[i % 4], i % 2);
}

const db::Engine kAdvicePg = db::Engine::kPostgres;
const db::Engine kAdviceMy = db::Engine::kMySQL;

std::vector<AdviceCase> AdviceCases() {
  const std::string pg_rows =
      "INSERT INTO sst_adv SELECT g, g % 5000, (ARRAY['new','paid','sent','done'])[1 + g % 4], "
      "timestamptz '2026-01-01' - g * interval '1 minute', g % 1000, 'user' || g || '@example.com', g % 2 = 0 "
      "FROM generate_series(1, 100000) g";
  const std::string pg_table =
      "CREATE TABLE sst_adv (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL, "
      "created_at timestamptz NOT NULL, total int, email text NOT NULL, flag boolean NOT NULL)";
  const std::string my_table =
      "CREATE TABLE sst_adv (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, status VARCHAR(8) NOT NULL, "
      "created_at DATETIME NOT NULL, total INT, email VARCHAR(100) NOT NULL, flag BOOLEAN NOT NULL) ENGINE=InnoDB";
  const std::string my_rows =
      "INSERT INTO sst_adv SELECT seq, seq % 5000, ELT(1 + seq % 4, 'new', 'paid', 'sent', 'done'), "
      "TIMESTAMP '2026-01-01 00:00:00' - INTERVAL seq MINUTE, seq % 1000, CONCAT('user', seq, '@example.com'), "
      "seq % 2 = 0 FROM seq_1_to_100000";
  return {
      // PostgreSQL
      {"compound", kAdvicePg, "sst_adv", {pg_table, pg_rows},
       {"SELECT total FROM sst_adv WHERE customer_id = {0} AND status = '{2}'"}, {}, "(\"customer_id\", \"status\")", "0"},
      {"partial_constant", kAdvicePg, "sst_adv", {pg_table, pg_rows},
       {"SELECT total FROM sst_adv WHERE customer_id = {0} AND status = 'paid'"}, {},
       "(\"customer_id\") INCLUDE (\"total\") WHERE \"status\" = 'paid'", "0"},
      {"covering_sort", kAdvicePg, "sst_adv", {pg_table, pg_rows},
       {"SELECT total FROM sst_adv WHERE customer_id = {0} ORDER BY created_at"}, {},
       "(\"customer_id\", \"created_at\") INCLUDE (\"total\")", "0"},
      {"range_top_n", kAdvicePg, "sst_adv", {pg_table, pg_rows},
       {"SELECT id, total FROM sst_adv WHERE created_at > '{1}' ORDER BY created_at LIMIT 10"},
       {}, "(\"created_at\")", "0"},
      {"duplicate_in_use", kAdvicePg, "sst_adv",
       {pg_table, pg_rows, "CREATE INDEX sst_adv_s_a ON sst_adv (customer_id)",
        "CREATE INDEX sst_adv_s_b ON sst_adv (customer_id)"},
       {"SELECT id FROM sst_adv WHERE customer_id = {0}"}, {"one of sst_adv_s_a, sst_adv_s_b"}, "", ""},
      {"redundant_prefix", kAdvicePg, "sst_adv",
       {pg_table, pg_rows, "CREATE INDEX sst_adv_c ON sst_adv (customer_id)",
        "CREATE INDEX sst_adv_c_s ON sst_adv (customer_id, status)"},
       {"SELECT id FROM sst_adv WHERE customer_id = {0}", "SELECT id FROM sst_adv WHERE customer_id = {0} AND status = 'new'"},
       {"sst_adv_c"}, "", ""},
      {"unused", kAdvicePg, "sst_adv", {pg_table, pg_rows, "CREATE INDEX sst_adv_total ON sst_adv (total)"},
       {"SELECT status FROM sst_adv WHERE id = {0}"}, {"sst_adv_total"}, "", ""},
      // The counters were reset after the workload ran: they say unused, the plans say otherwise.
      {"read_since_reset", kAdvicePg, "sst_adv", {pg_table, pg_rows, "CREATE INDEX sst_adv_total ON sst_adv (total)"},
       {"SELECT id FROM sst_adv WHERE total = {0}"}, {}, "", "", "reads through it now", true},
      {"constraint_backed", kAdvicePg, "sst_adv",
       {pg_table, pg_rows, "ALTER TABLE sst_adv ADD CONSTRAINT sst_adv_email_key UNIQUE (email)"},
       {"SELECT status FROM sst_adv WHERE id = {0}"}, {}, "", ""},
      {"primary_key_lookup", kAdvicePg, "sst_adv", {pg_table, pg_rows},
       {"SELECT status, total FROM sst_adv WHERE id = {0}"}, {}, "", ""},
      {"half_the_rows", kAdvicePg, "sst_adv", {pg_table, pg_rows},
       {"SELECT count(*) FROM sst_adv WHERE flag = ({0} % 2 = 0)"}, {}, "", ""},
      // Vacuumed: an index-only scan of a covering copy of the primary key would save one heap page a
      // call. (VACUUM marks pages all-visible only once the rows' commit is flushed: the sandbox
      // commits asynchronously.)
      {"covering_copy_of_pk", kAdvicePg, "sst_adv",
       {"SET synchronous_commit = on", pg_table, pg_rows, "VACUUM ANALYZE sst_adv", "SET synchronous_commit = off"},
       {"SELECT status, total FROM sst_adv WHERE id = {0}", "SELECT customer_id FROM sst_adv WHERE id = {0}"}, {}, "", "",
       "three page reads"},
      {"already_indexed", kAdvicePg, "sst_adv", {pg_table, pg_rows, "CREATE INDEX sst_adv_cust ON sst_adv (customer_id)"},
       {"SELECT * FROM sst_adv WHERE customer_id = {0}"}, {}, "", ""},
      {"expression", kAdvicePg, "sst_adv", {pg_table, pg_rows},
       {"SELECT id FROM sst_adv WHERE lower(email) = 'user{0}@example.com'"}, {}, "((lower(\"email\")))", "0"},
      {"like_prefix", kAdvicePg, "sst_adv", {pg_table, pg_rows},
       {"SELECT id FROM sst_adv WHERE email LIKE 'user{0}9@%'"}, {}, "(\"email\"", "0"},
      // An unindexed foreign key the workload also filters on: one index, not two of one name.
      {"foreign_key_and_workload", kAdvicePg, "sst_adv",
       {"CREATE TABLE sst_adv_parent (id int PRIMARY KEY)",
        "INSERT INTO sst_adv_parent SELECT g FROM generate_series(0, 4999) g",
        "CREATE TABLE sst_adv (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES sst_adv_parent, status text NOT "
        "NULL, created_at timestamptz NOT NULL, total int, email text NOT NULL, flag boolean NOT NULL)",
        pg_rows},
       {"SELECT total FROM sst_adv WHERE customer_id = {0}"}, {}, "(\"customer_id\")", "0"},
      // MariaDB
      {"compound", kAdviceMy, "sst_adv", {my_table, my_rows},
       {"SELECT total FROM sst_adv WHERE customer_id = {0} AND status = '{2}'"}, {}, "(`customer_id`, `status`)", "0"},
      {"duplicate_in_use", kAdviceMy, "sst_adv",
       {my_table, my_rows, "CREATE INDEX sst_adv_s_a ON sst_adv (customer_id)",
        "CREATE INDEX sst_adv_s_b ON sst_adv (customer_id)"},
       {"SELECT id FROM sst_adv WHERE customer_id = {0}"}, {"one of sst_adv_s_a, sst_adv_s_b"}, "", ""},
      {"redundant_prefix", kAdviceMy, "sst_adv",
       {my_table, my_rows, "CREATE INDEX sst_adv_c ON sst_adv (customer_id)",
        "CREATE INDEX sst_adv_c_s ON sst_adv (customer_id, status)"},
       {"SELECT id FROM sst_adv WHERE customer_id = {0}", "SELECT id FROM sst_adv WHERE customer_id = {0} AND status = 'new'"},
       {"sst_adv_c"}, "", ""},
      {"read_since_reset", kAdviceMy, "sst_adv", {my_table, my_rows, "CREATE INDEX sst_adv_total ON sst_adv (total)"},
       {"SELECT id FROM sst_adv WHERE total = {0}"}, {}, "", "", "reads through it now", true},
      {"primary_key_lookup", kAdviceMy, "sst_adv", {my_table, my_rows},
       {"SELECT status, total FROM sst_adv WHERE id = {0}"}, {}, "", ""},
      {"four_values", kAdviceMy, "sst_adv", {my_table, my_rows},
       {"SELECT id, total FROM sst_adv WHERE status = '{2}'"}, {}, "", "", "did not choose it"},
      {"boolean", kAdviceMy, "sst_adv", {my_table, my_rows},
       {"SELECT id, total FROM sst_adv WHERE flag = {3}"}, {}, "", "", "did not choose it"},
      {"like_prefix", kAdviceMy, "sst_adv", {my_table, my_rows},
       {"SELECT id FROM sst_adv WHERE email LIKE 'user{0}9@%'"}, {}, "(`email`)", "0"},
      // MariaDB cannot index lower(email): a note says so, nothing is proposed.
      {"expression", kAdviceMy, "sst_adv", {my_table, my_rows},
       {"SELECT id FROM sst_adv WHERE lower(email) = 'user{0}@example.com'"}, {}, "", "", "cannot index an expression"},
      {"unused", kAdviceMy, "sst_adv", {my_table, my_rows, "CREATE INDEX sst_adv_total ON sst_adv (total)"},
       {"SELECT status FROM sst_adv WHERE id = {0}"}, {"sst_adv_total"}, "", ""},
  };
}

class IndexAdviceCaseTest : public ::testing::TestWithParam<AdviceCase> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestConfigPath().empty()) << "SHARDSHIFT_TEST_CONFIG is not set: run through ctest";
    catalog_ = std::make_unique<db::Catalog>(TestCatalog());
  }
  bool pg() const { return GetParam().engine == kAdvicePg; }
  std::string Db() const { return pg() ? "pg_range_2" : "my_range_2"; }

  // What one run of the statement costs: planner cost (PostgreSQL), rows read (MariaDB).
  double Cost(db::Connection& c, const std::string& sql) {
    if (pg()) {
      const nlohmann::json plan = nlohmann::json::parse(*c.Query("EXPLAIN (FORMAT JSON) " + sql).rows.at(0).at(0));
      return plan.at(0).at("Plan").at("Total Cost").get<double>();
    }
    auto reads = [&] {
      double n = 0;
      for (const db::Row& r : c.Query("SHOW SESSION STATUS LIKE 'Handler_read%'").rows) n += std::stod(r.at(1).value_or("0"));
      return n;
    };
    c.Query(sql);  // once first: the first run after a DDL also reads the table's statistics
    const double before = reads();
    c.Query(sql);
    return reads() - before - 1;  // SHOW STATUS reads a row of its own
  }

  // The index the server's plan reads the table through ("" for none).
  std::string IndexUsed(db::Connection& c, const std::string& sql) {
    const nlohmann::json plan =
        nlohmann::json::parse(*c.Query(std::string(pg() ? "EXPLAIN (FORMAT JSON) " : "EXPLAIN FORMAT=JSON ") + sql).rows.at(0).at(0));
    std::string found;
    std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& j) {
      if (j.is_object()) {
        if (j.contains("Index Name")) found = j["Index Name"].get<std::string>();
        if (j.contains("key") && j["key"].is_string()) found = j["key"].get<std::string>();
        for (const auto& [k, v] : j.items()) walk(v);
      } else if (j.is_array()) {
        for (const auto& v : j) walk(v);
      }
    };
    walk(plan);
    return found;
  }

  void Run();

  std::unique_ptr<db::Catalog> catalog_;
};

void IndexAdviceCaseTest::Run() {
  const AdviceCase& k = GetParam();
  db::ConnectOptions options;
  options.application_name = "shardshift-test";
  auto c = catalog_->Connect(Db(), options);
  DropTable drop(*c, {k.table, "sst_adv_parent"});
  for (const std::string& s : k.setup) c->Execute(s);
  if (pg()) {
    for (const char* ext : {"pg_stat_statements", "hypopg", "pg_qualstats"}) {
      c->Execute(std::string("CREATE EXTENSION IF NOT EXISTS ") + ext);
    }
    c->Execute("ANALYZE " + k.table);
    c->Query("SELECT pg_stat_statements_reset() AS r");
    c->Query("SELECT pg_stat_reset() AS r");
  } else {
    c->Execute("ANALYZE TABLE " + k.table);
    c->Execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest");
    c->Execute("TRUNCATE TABLE performance_schema.table_io_waits_summary_by_index_usage");
  }
  for (int i = 0; i < 30; ++i) {
    for (const std::string& w : k.workload) c->Query(Fill(w, i));
  }
  if (pg()) c->Query("SELECT pg_stat_force_next_flush() AS r");
  if (k.reset_after) {
    if (pg()) {
      c->Query("SELECT 1 AS flushed");
      c->Query("SELECT pg_stat_reset() AS r");
    } else {
      c->Execute("TRUNCATE TABLE performance_schema.table_io_waits_summary_by_index_usage");
    }
  }
  const std::filesystem::path spec =
      std::filesystem::temp_directory_path() / fmt::format("sst-case-{}-{}.toml", k.name, getpid());
  CliRun r = Shardshift({"--config", TestConfigPath(), "advise", "index", "--db", Db(), "--table", k.table, "--json",
                         "--emit-spec", spec.string()});
  ASSERT_EQ(r.rc, 0) << r.output;
  const nlohmann::json out = nlohmann::json::parse(r.output.substr(r.output.find('{')));

  // Drops: exactly the expected ones ("one of a, b": exactly one of them).
  std::vector<std::string> dropped;
  std::vector<std::string> drop_statements;
  for (const auto& f : out["findings"]) {
    if (f["kind"] == "missing_fk_index") continue;
    dropped.push_back(f["index"].get<std::string>());
    drop_statements.push_back(f["statement"].get<std::string>());
    if (f["kind"] == "duplicate" || f["kind"] == "redundant") {  // what reads through it now, and what serves that
      const std::string why = f["why"].get<std::string>();
      EXPECT_TRUE(why.find("read through it now, and") != std::string::npos ||
                  why.find("no sampled statement's plan reads through it now") != std::string::npos)
          << why;
    }
    if (f["kind"] == "unused") {  // the sandbox's counters are minutes old: the finding must say so
      EXPECT_NE(f["why"].get<std::string>().find("counted over only"), std::string::npos) << f.dump(2);
    }
  }
  std::vector<std::string> want;
  for (const std::string& d : k.drops) {
    if (d.starts_with("one of ")) {
      const std::string a = d.substr(7, d.find(',') - 7);
      const std::string b = d.substr(d.find(',') + 2);
      want.push_back(std::find(dropped.begin(), dropped.end(), b) != dropped.end() ? b : a);
    } else {
      want.push_back(d);
    }
  }
  std::sort(dropped.begin(), dropped.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(dropped, want) << r.output;

  // A foreign key's missing index is merged into a workload proposal that leads with its columns.
  for (const auto& f : out["findings"]) {
    if (f["kind"] != "missing_fk_index") continue;
    for (const auto& m : out["missing"]) {
      EXPECT_NE(m["index"], f["index"]) << "two proposals of one name:\n" << r.output;
    }
  }

  if (k.name == "foreign_key_and_workload") {
    ASSERT_FALSE(out["missing"].empty()) << r.output;
    EXPECT_NE(out["missing"][0]["why"].get<std::string>().find("it also indexes the foreign key"), std::string::npos)
        << r.output;
  }

  // Create: the first proposal, or none.
  const nlohmann::json& missing = out["missing"];
  if (k.create.empty()) {
    EXPECT_TRUE(missing.empty()) << "nothing should be proposed:\n" << r.output;
  } else {
    ASSERT_FALSE(missing.empty()) << r.output;
    const std::string first = missing[0]["statement"].get<std::string>();
    EXPECT_NE(first.find(k.create), std::string::npos) << "first proposal: " << first << "\n" << r.output;
  }

  if (!k.note.empty()) {
    bool said = false;
    for (const auto& n : out["notes"]) said = said || n.get<std::string>().find(k.note) != std::string::npos;
    EXPECT_TRUE(said) << "no note says \"" << k.note << "\":\n" << r.output;
  }

  // The drops, carried out, make no workload statement costlier.
  std::vector<double> before;
  std::vector<std::string> samples;
  for (const std::string& w : k.workload) samples.push_back(Fill(w, 1));
  for (const std::string& s : samples) before.push_back(Cost(*c, s));
  for (const std::string& d : dropped) {
    c->Execute(pg() ? "DROP INDEX " + d : "DROP INDEX " + d + " ON " + k.table);
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    const double after = Cost(*c, samples[i]);
    EXPECT_LE(after, before[i] * 1.1 + (pg() ? 4 : 1))
        << samples[i] << " costs " << after << " instead of " << before[i] << " once " << fmt::format("{}", fmt::join(dropped, ", "))
        << " are dropped";
  }

  // The emitted spec plans and applies, and the server uses what it built.
  if (!missing.empty()) {
    const std::string plan = spec.string() + ".plan";
    CliRun planned = Shardshift({"--config", TestConfigPath(), "plan", spec.string(), "-o", plan});
    ASSERT_EQ(planned.rc, 0) << planned.output;
    CliRun applied = Shardshift({"--config", TestConfigPath(), "apply", plan});
    ASSERT_EQ(applied.rc, 0) << applied.output;
    if (!k.serves.empty()) {
      if (pg()) c->Execute("ANALYZE " + k.table);
      const std::string sql = Fill(k.workload.at(std::stoul(k.serves)), 1);
      EXPECT_EQ(IndexUsed(*c, sql), missing[0]["index"].get<std::string>())
          << "the server does not use the index it was advised: " << sql << "\n"
          << *c->Query(std::string(pg() ? "EXPLAIN (FORMAT JSON) " : "EXPLAIN FORMAT=JSON ") + sql).rows.at(0).at(0)
          << "\napply said: " << applied.output;
    }
    std::filesystem::remove(plan);
  }
  std::filesystem::remove(spec);
}

// MariaDB's sample copy reads the table without locks: with an application transaction holding a
// row lock on the copied rows, the candidate is still tried (under REPEATABLE READ the copy's
// INSERT … SELECT waited for that lock, and its own shared locks would have made writers wait).
TEST(IndexAdviceLockTest, MariadbSampleCopyTakesNoRowLock) {
  db::Catalog catalog = TestCatalog();
  db::ConnectOptions options;
  options.application_name = "shardshift-test";
  auto c = catalog.Connect("my_range_2", options);
  DropTable drop(*c, "sst_adv");
  c->Execute("CREATE TABLE sst_adv (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, total INT) ENGINE=InnoDB");
  c->Execute("INSERT INTO sst_adv SELECT seq, seq % 5000, seq % 1000 FROM seq_1_to_100000");
  c->Execute("ANALYZE TABLE sst_adv");
  c->Execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest");
  for (int i = 0; i < 30; ++i) c->Query(fmt::format("SELECT total FROM sst_adv WHERE customer_id = {}", i * 7 + 1));
  auto app = catalog.Connect("my_range_2", options);
  app->Begin();
  app->Execute("UPDATE sst_adv SET total = total + 1 WHERE id = 5");  // held while advise runs
  CliRun r = Shardshift({"--config", TestConfigPath(), "advise", "index", "--db", "my_range_2", "--table", "sst_adv",
                         "--json"});
  app->Rollback();
  ASSERT_EQ(r.rc, 0) << r.output;
  const nlohmann::json out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(r.output.find("could not be tried on a sample copy"), std::string::npos) << r.output;
  ASSERT_FALSE(out["missing"].empty()) << r.output;
  EXPECT_EQ(out["missing"][0]["measured_with"], "sample") << r.output;
}

// One suite per engine, so that each runs beside the other engine's tests (tests/CMakeLists.txt).
class IndexAdvicePgTest : public IndexAdviceCaseTest {};
class IndexAdviceMyTest : public IndexAdviceCaseTest {};
TEST_P(IndexAdvicePgTest, PostgresCase) { Run(); }
TEST_P(IndexAdviceMyTest, MariadbCase) { Run(); }


INSTANTIATE_TEST_SUITE_P(Cases, IndexAdvicePgTest, ::testing::ValuesIn(CasesOfEngine(AdviceCases(), kAdvicePg)),
                         CaseName<AdviceCase>);
INSTANTIATE_TEST_SUITE_P(Cases, IndexAdviceMyTest, ::testing::ValuesIn(CasesOfEngine(AdviceCases(), kAdviceMy)),
                         CaseName<AdviceCase>);

}  // namespace
}  // namespace shardshift::testing
