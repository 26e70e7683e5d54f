// tests/lint_corpus/mariadb against a MariaDB 10.11 server: every case runs on it (after
// schema.sql), so the corpus is real SQL for real tables; and what the server does with each
// statement agrees with the case. For each ALTER TABLE, CREATE INDEX and DROP INDEX on a table that
// exists before the migration, and that does not say ALGORITHM or LOCK itself, the server is asked
// for ALGORITHM=INSTANT, then NOCOPY with LOCK=NONE, then INPLACE with LOCK=NONE, and the InnoDB
// table id shows whether it rebuilt the table. A bad case for a lock or copy rule (SS301, SS302,
// SS308) has a statement none of them takes; a bad case for SS303 one that is rebuilt online; a
// safe case has none of either. With SHARDSHIFT_CORPUS_TABLE=FILE the test also writes the
// side-by-side table of docs/lint.md there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "db/error.h"
#include "planner/lint.h"
#include "tests/integration/harness.h"

namespace shardshift {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// What the server did with one case's statements.
struct Verdict {
  bool ran = true;          // every statement ran as written
  std::string error;        // the first that did not
  bool blocks = false;      // a statement none of INSTANT, NOCOPY/INPLACE with LOCK=NONE takes
  bool rebuilds = false;    // one taken online, but rebuilt
  std::vector<std::string> how;  // per statement checked: "INSTANT", "INPLACE, LOCK=NONE (rebuilt)", "COPY or a lock"
};

TEST(LintCorpusServerTest, MariadbCasesDoOnTheServerWhatLintSays) {
  const std::string folder = std::string(SHARDSHIFT_SOURCE_DIR) + "/tests/lint_corpus/mariadb/";
  const std::string schema_sql = Read(folder + "schema.sql");
  const planner::SchemaDump schema{schema_sql, "schema.sql"};
  db::Catalog catalog = testing::TestCatalog();
  auto c = catalog.Connect("my_range_0");
  const std::string home = c->Query("SELECT DATABASE()").rows.at(0).at(0).value_or("");
  auto fresh = [&] {
    c->Execute("SET SESSION foreign_key_checks = 1");
    c->Execute("DROP DATABASE IF EXISTS sst_lint_corpus");
    c->Execute("CREATE DATABASE sst_lint_corpus");
    c->Execute("USE sst_lint_corpus");
    c->ExecuteScript(schema_sql);
  };
  auto table_id = [&](const std::string& table) {
    auto rows = c->Query("SELECT TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME = 'sst_lint_corpus/" +
                         table + "'").rows;
    return rows.empty() ? std::string("-") : rows.at(0).at(0).value_or("");
  };
  auto run_case = [&](const std::string& text) {
    Verdict v;
    const std::vector<std::string> statements = planner::MariadbStatements(text, "case.sql");
    std::set<std::string> created;
    for (size_t i = 0; i < statements.size(); ++i) {
      const std::string& s = statements[i];
      const std::string u = Upper(s);
      const std::string table = planner::MariadbStatementTable(s);
      if (u.starts_with("CREATE TABLE")) created.insert(table);
      // (DROP INDEX takes no ALGORITHM or LOCK in 10.11's grammar; ALTER TABLE … DROP INDEX is checked
      // by LintAlterAlgorithmTest.)
      const bool index_statement = u.starts_with("CREATE INDEX") || u.starts_with("CREATE FULLTEXT") ||
                                   u.starts_with("CREATE SPATIAL") || u.starts_with("CREATE UNIQUE");
      if (u.starts_with("OPTIMIZE")) {
        // As written: InnoDB recreates the table online.
        fresh();
        for (size_t k = 0; k < i; ++k) c->Execute(statements[k]);
        const std::string before = table_id(table);
        c->Query(s);
        const bool rebuilt = table_id(table) != before;
        v.rebuilds = v.rebuilds || rebuilt;
        v.how.push_back(std::string("as written") + (rebuilt ? " (rebuilt)" : ""));
        continue;
      }
      const bool checked = (u.starts_with("ALTER ") || index_statement) && !created.count(table) &&
                           u.find("ALGORITHM") == std::string::npos && u.find("LOCK=") == std::string::npos &&
                           u.find("LOCK =") == std::string::npos;
      if (!checked) continue;
      std::string how = "COPY or a lock";
      bool online = false;
      for (const std::string option : {"ALGORITHM=INSTANT", "ALGORITHM=NOCOPY, LOCK=NONE", "ALGORITHM=INPLACE, LOCK=NONE"}) {
        fresh();
        for (size_t k = 0; k < i; ++k) c->Execute(statements[k]);
        std::string sql;
        if (index_statement) {
          std::string o = option;
          o.erase(std::remove(o.begin(), o.end(), ','), o.end());
          sql = s + " " + o;
        } else if (const size_t p = u.find(" PARTITION BY "); p != std::string::npos) {
          sql = s.substr(0, p) + " " + option + s.substr(p);
        } else {
          sql = s + ", " + option;
        }
        const std::string before = table_id(table);
        try {
          c->Execute(sql);
        } catch (const db::Error&) {
          continue;
        }
        const bool rebuilt = table_id(table) != before;
        if (rebuilt && option == "ALGORITHM=INSTANT") {
          // Taken, and copied anyway (PARTITION BY): INSTANT never rebuilds.
          how = "ALGORITHM=INSTANT taken, but copied";
          break;
        }
        online = true;
        how = option.substr(10) + (rebuilt ? " (rebuilt)" : "");
        v.rebuilds = v.rebuilds || rebuilt;
        break;
      }
      v.blocks = v.blocks || !online;
      v.how.push_back(how);
    }
    // And the whole file as written.
    fresh();
    try {
      c->ExecuteScript(text);
    } catch (const db::Error& e) {
      v.ran = false;
      v.error = e.what();
    }
    return v;
  };
  auto shown = [](const Verdict& v) {
    if (v.how.empty()) return std::string("-");
    std::string out;
    for (const std::string& h : v.how) out += (out.empty() ? "" : "; ") + h;
    return out;
  };
  auto lint_rules = [&](const std::string& text, const std::string& name) {
    std::string rules;
    for (const planner::LintFinding& f : planner::LintMariadbSql(text, name, nullptr, &schema)) {
      if (f.severity != "note") rules += (rules.empty() ? "" : ", ") + f.rule;
    }
    return rules;
  };

  std::vector<std::string> cases;
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    const std::string n = e.path().filename().string();
    if (n.ends_with(".bad.sql")) cases.push_back(n.substr(0, n.size() - 8));
  }
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), 30u);
  std::string table =
      "| case | rule | shardshift on bad | shardshift on safe | server on bad | server on safe |\n|---|---|---|---|---|---|\n";
  int flagged = 0;
  int left_alone = 0;
  for (const std::string& name : cases) {
    const std::string bad = Read(folder + name + ".bad.sql");
    const std::string safe = Read(folder + name + ".safe.sql");
    const size_t at = bad.find("-- expect: ");
    const std::string rule = bad.substr(at + 11, bad.find('\n', at) - at - 11);
    const Verdict vb = run_case(bad);
    const Verdict vs = run_case(safe);
    EXPECT_TRUE(vb.ran) << name << ".bad.sql does not run on the server: " << vb.error;
    EXPECT_TRUE(vs.ran) << name << ".safe.sql does not run on the server: " << vs.error;
    if (rule == "SS301" || rule == "SS302" || rule == "SS308") {
      EXPECT_TRUE(vb.blocks) << name << ".bad.sql expects " << rule << ", but the server takes every statement online: "
                             << shown(vb);
    }
    if (rule == "SS303") {
      EXPECT_TRUE(vb.rebuilds && !vb.blocks) << name << ".bad.sql expects a rebuild online: " << shown(vb);
    }
    EXPECT_FALSE(vs.blocks || vs.rebuilds) << name << ".safe.sql blocks or rebuilds on the server: " << shown(vs);
    const std::string on_bad = lint_rules(bad, name + ".bad.sql");
    const std::string on_safe = lint_rules(safe, name + ".safe.sql");
    flagged += on_bad.find(rule) != std::string::npos;
    left_alone += on_safe.empty();
    table += "| " + name + " | " + rule + " | " + (on_bad.empty() ? "nothing" : on_bad) + " | " +
             (on_safe.empty() ? "nothing" : on_safe) + " | " + shown(vb) + " | " + shown(vs) + " |\n";
  }
  table += "\nbad cases flagged with their rule: " + std::to_string(flagged) + "/" + std::to_string(cases.size()) +
           "; safe cases left alone: " + std::to_string(left_alone) + "/" + std::to_string(cases.size()) + "\n";
  if (const char* out = std::getenv("SHARDSHIFT_CORPUS_TABLE")) std::ofstream(out) << table;
  c->Execute("SET SESSION foreign_key_checks = 1");
  c->Execute("DROP DATABASE IF EXISTS sst_lint_corpus");
  c->Execute("USE " + home);
}

}  // namespace
}  // namespace shardshift
