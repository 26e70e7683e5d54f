// The MariaDB lock and copy rules against the server: for each ALTER TABLE operation, lint (with the
// live table, as --db gives it) reports SS301/SS302/SS307/SS308 exactly when a MariaDB 10.11 server
// accepts it with none of ALGORITHM=INSTANT, ALGORITHM=NOCOPY, LOCK=NONE and ALGORITHM=INPLACE,
// LOCK=NONE (NOCOPY alone may still lock: a SPATIAL index is built NOCOPY under LOCK=SHARED).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "db/error.h"
#include "planner/lint.h"
#include "tests/integration/harness.h"

namespace shardshift {
namespace {

TEST(LintAlterAlgorithmTest, MariadbVerdictsMatchWhatTheServerCanDoWithoutBlocking) {
  db::Catalog catalog = testing::TestCatalog();
  auto c = catalog.Connect("my_range_0");
  auto fresh = [&] {
    c->Execute("SET SESSION foreign_key_checks = 1");
    c->Execute("DROP TABLE IF EXISTS sst_lint_alg");
    c->Execute("DROP TABLE IF EXISTS sst_lint_parent");
    c->Execute("CREATE TABLE sst_lint_parent (id BIGINT PRIMARY KEY) ENGINE=InnoDB");
    c->Execute("INSERT INTO sst_lint_parent SELECT seq FROM seq_1_to_50");
    c->Execute("CREATE TABLE sst_lint_alg (id BIGINT PRIMARY KEY, a INT, s VARCHAR(50) CHARACTER SET utf8mb4, "
               "s2 VARCHAR(20) CHARACTER SET utf8mb4, d DECIMAL(10,2), body TEXT, g POINT NOT NULL, KEY ka (a)) "
               "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    c->Execute("INSERT INTO sst_lint_alg SELECT seq, seq, CONCAT('s', seq), CONCAT('t', seq), seq / 10, "
               "CONCAT('body ', seq), POINT(seq, seq) FROM seq_1_to_50");
  };
  struct Case {
    std::string session;  // run first in the same session, and part of the linted file
    std::string alter;    // after ALTER TABLE sst_lint_alg
  };
  const std::vector<Case> cases = {
      {"", "ADD INDEX i1 (s)"},
      {"", "DROP INDEX ka"},
      {"", "ADD FULLTEXT INDEX ft (body)"},
      {"", "ADD SPATIAL INDEX sp (g)"},
      {"", "ADD UNIQUE KEY u (s)"},
      {"", "ADD CONSTRAINT u2 UNIQUE (s2)"},
      {"", "ADD COLUMN x INT"},
      {"", "ADD COLUMN x INT NOT NULL DEFAULT 0"},
      {"", "ADD COLUMN x CHAR(36) DEFAULT (UUID())"},
      {"", "ADD COLUMN x INT AS (a * 2) STORED"},
      {"", "ADD COLUMN x INT AS (a * 2) VIRTUAL"},
      {"", "ADD COLUMN x BIGINT NOT NULL AUTO_INCREMENT, ADD UNIQUE KEY ux (x)"},
      {"", "ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES sst_lint_parent (id)"},
      {"SET SESSION foreign_key_checks = 0", "ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES sst_lint_parent (id)"},
      {"", "ADD CONSTRAINT ck CHECK (a >= 0)"},
      {"", "CONVERT TO CHARACTER SET latin1"},
      {"", "MODIFY s VARCHAR(60) CHARACTER SET utf8mb4"},
      {"", "MODIFY s VARCHAR(100) CHARACTER SET utf8mb4"},
      {"", "MODIFY s VARCHAR(40) CHARACTER SET utf8mb4"},
      {"", "MODIFY s2 VARCHAR(30) CHARACTER SET utf8mb4"},
      {"", "MODIFY a BIGINT"},
      {"", "MODIFY d DECIMAL(14,2)"},
      {"", "MODIFY a INT NOT NULL"},
      {"", "CHANGE a a2 INT"},
      {"", "DROP COLUMN body"},
  };
  const std::set<std::string> lock_rules = {"SS301", "SS302", "SS307", "SS308"};
  for (const Case& k : cases) {
    const std::string statement = "ALTER TABLE sst_lint_alg " + k.alter;
    bool online = false;
    std::string how;
    for (const std::string clause : {", ALGORITHM=INSTANT", ", ALGORITHM=NOCOPY, LOCK=NONE", ", ALGORITHM=INPLACE, LOCK=NONE"}) {
      fresh();
      if (!k.session.empty()) c->Execute(k.session);
      try {
        c->Execute(statement + clause);
        online = true;
        how = clause.substr(2);
        break;
      } catch (const db::Error& e) {
        how += std::string(" [") + clause.substr(2) + ": " + e.what() + "]";
      }
    }
    fresh();
    const db::SchemaInfo live = c->Introspect({"", "sst_lint_alg", false});
    std::string file = "SET SESSION lock_wait_timeout = 5;\n";
    if (!k.session.empty()) file += k.session + ";\n";
    file += statement + ";\n";
    std::string reported;
    for (const planner::LintFinding& f : planner::LintMariadbSql(file, "m.sql", &live)) {
      if (lock_rules.count(f.rule)) reported += f.rule + " ";
    }
    EXPECT_EQ(!reported.empty(), !online) << k.session << (k.session.empty() ? "" : "; ") << statement
                                           << "\n  server: " << (online ? "accepted " : "refused all:") << how
                                           << "\n  lint: " << (reported.empty() ? "nothing" : reported);
  }
  c->Execute("SET SESSION foreign_key_checks = 1");
  c->Execute("DROP TABLE IF EXISTS sst_lint_alg");
  c->Execute("DROP TABLE IF EXISTS sst_lint_parent");
}

}  // namespace
}  // namespace shardshift
