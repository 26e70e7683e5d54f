// `shardshift lint`: rules over PostgreSQL migration files (.sql, parsed with libpg-query, the real
// PostgreSQL parser) for statements that take strong locks or rewrite tables. Each finding has a
// rule id, a severity, the file, line and column, a one-line why and the safe alternative. Pure:
// no database. Rules are listed, each with a bad and a good example, in docs/lint.md.
//
// A rule is disabled for one statement by a comment in it or on the line before it,
// `-- shardshift-lint: disable SS101` (several ids: comma-separated), and for the whole file by
// `-- shardshift-lint: disable-file SS112`.
#pragma once

#include <string>
#include <vector>

#include "db/schema.h"
#include "planner/workload.h"
#include "plans/config.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

struct LintFinding {
  std::string rule;      // "SS101"
  std::string name;      // "create-index-not-concurrently"
  std::string severity;  // "error" or "warning"
  std::string file;
  int line = 0;         // 1-based
  int column = 0;       // 1-based
  std::string message;  // why, in one line
  std::string fix;      // the safe alternative
  std::string
      table;  // the table it locks or rewrites, as written ("" when none); --db grades by it
  std::string dropped_column;  // the column it drops or renames ("" when none, or the whole table)
};

struct LintRule {
  std::string id;
  std::string name;
  std::string severity;
};
const std::vector<LintRule>& LintRules();

// A plan's rules: a cutover with no verification before it (SS201), a step that changes something
// and says no way to undo it (SS202). text is the plan file's text, for line numbers.
std::vector<LintFinding> LintPlan(const plans::Plan& plan, const std::string& text,
                                  const std::string& file);

// A schema dump the migration runs against (pg_dump --schema-only, mysqldump --no-data): its
// CREATE TABLEs give the existing tables' columns (and on MariaDB their FULLTEXT indexes), as --db
// gives them from a live database (`lint --schema`). Nothing in it is reported.
struct SchemaDump {
  std::string text;
  std::string file;
};

// MariaDB/MySQL migration files: split into statements (quotes, backticks and comments
// respected) and read by keywords, since there is no MariaDB parser to lean on. Rules SS301–SS308.
// live (--db) or schema (--schema) gives the columns' current types, for MODIFY/CHANGE, and which
// tables have a FULLTEXT index.
std::vector<LintFinding> LintMariadbSql(const std::string& text, const std::string& file,
                                        const db::SchemaInfo* live = nullptr, const SchemaDump* schema = nullptr);

// A MariaDB file's statements as the mariadb client sends them (split at `;` or the DELIMITER set,
// quotes, backticks and comments respected), without the delimiter. Throws plans::InputError for
// a quote or comment left open.
std::vector<std::string> MariadbStatements(const std::string& text, const std::string& file);

// The table a MariaDB statement works on: the name after TABLE/TABLES (ALTER, OPTIMIZE, LOCK,
// DROP, RENAME, CREATE) or after ON (CREATE/DROP INDEX, CREATE TRIGGER), backticks removed; "" when
// there is none.
std::string MariadbStatementTable(const std::string& statement);

// Throws plans::InputError (file:line:column) when the file is not UTF-8 text or the SQL does not
// parse. psql meta-commands and COPY … FROM stdin data are skipped, each with a note (SS100). live
// (--db) or schema (--schema) gives the columns' current types, so that a type change is judged
// from what it changes.
std::vector<LintFinding> LintPostgresSql(const std::string& text, const std::string& file,
                                         const db::SchemaInfo* live = nullptr, const SchemaDump* schema = nullptr);

// A spec's rules (SS211-SS215): a long lock_timeout, a long during_cutover hook, a contract that
// drops columns, a shadow rebuild, a synchronous replica with no second one to fall back on.
std::vector<LintFinding> LintSpec(const plans::Spec& spec, const std::string& text,
                                  const std::string& file);

// The config's [lint] section: drops the disabled rules' findings and re-grades the others. Throws
// plans::InputError at the config's line for a rule id that does not exist.
void ApplyLintSettings(std::vector<LintFinding>& findings, const plans::LintSettings& settings);

// --db: grades the lock and rewrite findings by the live table's size. A table that does not exist
// yet (created by the migration) or is smaller than small_bytes makes an error a warning; a larger
// one keeps it an error. Either way the message says the size. database names the config entry.
void GradeByTableSize(std::vector<LintFinding>& findings, const db::SchemaInfo& schema,
                      const std::string& database, int64_t small_bytes);

// --db: a drop or rename (SS108, SS109, SS306) of a table or column that statements in the
// database's workload (pg_stat_statements, performance_schema digests) still use becomes an
// error naming how many and one of them; one nothing uses stays a warning and says so.
void GradeByWorkload(std::vector<LintFinding>& findings, const Workload& workload,
                     const std::string& database);

}  // namespace shardshift::planner
