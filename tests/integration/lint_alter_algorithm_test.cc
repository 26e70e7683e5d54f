// The MariaDB lock and copy rules against the server: for each ALTER TABLE operation, lint (with the
// live table, as --db gives it) reports SS301/SS302/SS307/SS308 exactly when a MariaDB 10.11 server
// accepts it with none of ALGORITHM=INSTANT, ALGORITHM=NOCOPY, LOCK=NONE and ALGORITHM=INPLACE,
// LOCK=NONE (NOCOPY alone may still lock: a SPATIAL index is built NOCOPY under LOCK=SHARED); and
// of those it accepts, lint reports SS303 exactly when the server rebuilt the table (its InnoDB
// table id changed).
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
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
  const std::string database = c->Query("SELECT DATABASE()").rows.at(0).at(0).value_or("");
  auto fresh = [&] {
    c->Execute("SET SESSION foreign_key_checks = 1");
    for (const char* t : {"sst_lint_alg", "sst_lint_ft", "sst_lint_nopk", "sst_lint_parent"}) {
      c->Execute(std::string("DROP TABLE IF EXISTS ") + t);
    }
    c->Execute("CREATE TABLE sst_lint_parent (id BIGINT PRIMARY KEY) ENGINE=InnoDB");
    c->Execute("INSERT INTO sst_lint_parent SELECT seq FROM seq_1_to_50");
    c->Execute("CREATE TABLE sst_lint_alg (id BIGINT PRIMARY KEY, a INT, n INT NOT NULL DEFAULT 0, "
               "s VARCHAR(50) CHARACTER SET utf8mb4, s2 VARCHAR(20) CHARACTER SET utf8mb4, d DECIMAL(10,2), "
               "body TEXT, g POINT NOT NULL, st ENUM('new','paid'), tags SET('a','b','c','d','e','f','g','h'), "
               "KEY ka (a)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    c->Execute("INSERT INTO sst_lint_alg SELECT seq, seq, seq, CONCAT('s', seq), CONCAT('t', seq), seq / 10, "
               "CONCAT('body ', seq), POINT(seq, seq), 'new', 'a' FROM seq_1_to_50");
    c->Execute("CREATE TABLE sst_lint_ft (id BIGINT PRIMARY KEY, a INT, body TEXT, FULLTEXT KEY ft (body)) "
               "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    c->Execute("INSERT INTO sst_lint_ft SELECT seq, seq, CONCAT('word ', seq) FROM seq_1_to_50");
    c->Execute("CREATE TABLE sst_lint_nopk (id BIGINT NOT NULL, a INT) ENGINE=InnoDB");
    c->Execute("INSERT INTO sst_lint_nopk SELECT seq, seq FROM seq_1_to_50");
  };
  auto table_id = [&](const std::string& table) {
    // A partitioned table has one per partition (t#P#p0): none under its own name.
    auto rows = c->Query("SELECT TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME = '" + database + "/" +
                         table + "'").rows;
    return rows.empty() ? std::string("-") : rows.at(0).at(0).value_or("");
  };
  struct Case {
    std::string session;  // run first in the same session, and part of the linted file
    std::string alter;    // after ALTER TABLE <table>
    std::string table = "sst_lint_alg";
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
      {"", "ADD COLUMN x CHAR(36) DEFAULT UUID()"},
      {"", "ADD COLUMN x DATETIME DEFAULT SYSDATE()"},
      {"", "ADD COLUMN x INT DEFAULT (a + 1)"},
      {"", "ADD COLUMN x INT DEFAULT (1 + 1)"},
      {"", "ADD COLUMN x DATETIME DEFAULT CURRENT_TIMESTAMP"},
      {"", "ADD COLUMN x DATETIME(6) DEFAULT (NOW(6))"},
      {"", "ADD COLUMN x DOUBLE DEFAULT RAND()"},
      {"", "ADD COLUMN x VARCHAR(9) DEFAULT 'x' COMMENT 'default (a)'"},
      {"", "ADD COLUMN x INT AS (a * 2) STORED"},
      {"", "ADD COLUMN x INT AS (a * 2) VIRTUAL"},
      {"", "ADD COLUMN x BIGINT NOT NULL AUTO_INCREMENT, ADD UNIQUE KEY ux (x)"},
      {"", "ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES sst_lint_parent (id)"},
      {"SET SESSION foreign_key_checks = 0", "ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES sst_lint_parent (id)"},
      {"", "ADD CONSTRAINT ck CHECK (a >= 0)"},
      {"", "IGNORE ADD UNIQUE KEY u (s)"},
      {"", "CONVERT TO CHARACTER SET latin1"},
      {"", "DEFAULT CHARACTER SET latin1"},
      {"", "MODIFY s VARCHAR(60) CHARACTER SET utf8mb4"},
      {"", "MODIFY s VARCHAR(100) CHARACTER SET utf8mb4"},
      {"", "MODIFY s VARCHAR(40) CHARACTER SET utf8mb4"},
      {"", "MODIFY s2 VARCHAR(30) CHARACTER SET utf8mb4"},
      {"", "MODIFY a BIGINT"},
      {"", "MODIFY d DECIMAL(14,2)"},
      {"", "MODIFY a INT NOT NULL"},
      {"", "MODIFY n INT NOT NULL DEFAULT 1"},
      {"", "MODIFY n INT DEFAULT 1"},
      {"", "MODIFY a INT COMMENT 'counter'"},
      {"", "CHANGE a a2 INT"},
      {"", "MODIFY st ENUM('new','paid','refunded')"},
      {"", "MODIFY st ENUM('new','pending','paid')"},
      {"", "MODIFY st ENUM('new')"},
      {"", "MODIFY tags SET('a','b','c','d','e','f','g','h')"},
      {"", "MODIFY tags SET('a','b','c','d','e','f','g','h','i')"},
      {"", "DROP COLUMN body"},
      {"", "ADD COLUMN x INT FIRST"},
      {"", "FORCE"},
      {"", "ENGINE=InnoDB"},
      {"", "ROW_FORMAT=COMPRESSED"},
      {"", "COMMENT='orders'"},
      {"", "DROP PRIMARY KEY"},
      {"", "DROP PRIMARY KEY, ADD PRIMARY KEY (id, n)"},
      {"", "ADD PRIMARY KEY (id)", "sst_lint_nopk"},
      {"", "ADD INDEX ia (a)", "sst_lint_nopk"},
      {"", "ADD COLUMN x INT", "sst_lint_ft"},
      {"", "DROP COLUMN a", "sst_lint_ft"},
      {"", "MODIFY a INT NOT NULL", "sst_lint_ft"},
      {"", "FORCE", "sst_lint_ft"},
      {"", "ADD INDEX ia (a)", "sst_lint_ft"},
      {"", "RENAME COLUMN a TO a2", "sst_lint_ft"},
      {"", "PARTITION BY HASH (id) PARTITIONS 4", "sst_lint_nopk"},
      {"", "PARTITION BY HASH (id) PARTITIONS 4", "sst_lint_parent"},
  };
  const std::set<std::string> lock_rules = {"SS301", "SS302", "SS307", "SS308"};
  for (const Case& k : cases) {
    const bool ignore = k.alter.starts_with("IGNORE ");
    const std::string statement = (ignore ? "ALTER IGNORE TABLE " : "ALTER TABLE ") + k.table + " " +
                                  (ignore ? k.alter.substr(7) : k.alter);
    // Partition clauses come after the options, with no comma.
    const bool partition = k.alter.starts_with("PARTITION") || k.alter.starts_with("REMOVE PARTITIONING");
    bool online = false;
    bool rebuilt = false;
    std::string how;
    for (const std::string option : {"ALGORITHM=INSTANT", "ALGORITHM=NOCOPY, LOCK=NONE", "ALGORITHM=INPLACE, LOCK=NONE"}) {
      fresh();
      if (!k.session.empty()) c->Execute(k.session);
      const std::string before = table_id(k.table);
      try {
        c->Execute(partition ? "ALTER TABLE " + k.table + " " + option + " " + k.alter : statement + ", " + option);
        rebuilt = table_id(k.table) != before;
        if (rebuilt && option == "ALGORITHM=INSTANT") {
          // Taken, and copied anyway (PARTITION BY): INSTANT never rebuilds.
          how = "ALGORITHM=INSTANT taken, but copied";
          break;
        }
        online = true;
        how = option + (rebuilt ? " (rebuilt)" : "");
        break;
      } catch (const db::Error& e) {
        how += " [" + option + ": " + e.what() + "]";
      }
    }
    fresh();
    const db::SchemaInfo live = c->Introspect({"", k.table, false});
    std::string file = "SET SESSION lock_wait_timeout = 5;\n";
    if (!k.session.empty()) file += k.session + ";\n";
    file += statement + ";\n";
    std::string reported;
    bool rebuild_reported = false;
    for (const planner::LintFinding& f : planner::LintMariadbSql(file, "m.sql", &live)) {
      if (lock_rules.count(f.rule)) reported += f.rule + " ";
      rebuild_reported = rebuild_reported || f.rule == "SS303";
    }
    const std::string what = k.session + (k.session.empty() ? "" : "; ") + statement + "\n  server: " +
                             (online ? "accepted " : "refused all:") + how + "\n  lint: " +
                             (reported.empty() ? "nothing" : reported) + (rebuild_reported ? "SS303" : "");
    EXPECT_EQ(!reported.empty(), !online) << what;
    if (online) {
      EXPECT_EQ(rebuild_reported, rebuilt) << what;
    }
    if (std::getenv("SHARDSHIFT_SHOW_VERDICTS") != nullptr) std::cout << what << "\n";
  }
  c->Execute("SET SESSION foreign_key_checks = 1");
  for (const char* t : {"sst_lint_alg", "sst_lint_ft", "sst_lint_nopk", "sst_lint_parent"}) {
    c->Execute(std::string("DROP TABLE IF EXISTS ") + t);
  }
}

}  // namespace
}  // namespace shardshift
