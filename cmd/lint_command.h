// `shardshift lint FILE... [--format text|json|github|sarif|junit] [--dialect D] [--db NAME]
// [--schema DUMP]`: the
// rules of planner/lint.h over .sql migration files, specs and plans, with the config's [lint]
// section applied when there is a config. Exit 1 on any error-level finding, 2 on a file that
// cannot be read or parsed (its file:line:column named), 0 otherwise. No database is needed unless
// --db asks to grade the findings by the live tables' sizes; --schema gives the tables' columns
// from a schema dump instead, for CI with no database at hand.
#pragma once

#include <string>
#include <vector>

#include "cmd/globals.h"

namespace shardshift::cmd {

struct LintOptions {
  std::vector<std::string> files;
  std::string format = "text";
  std::string dialect;  // of the .sql files: postgres or mariadb; default: --db's engine, else postgres
  std::string database;  // --db: grade by this database's live table sizes
  std::string schema;    // --schema: a schema dump giving the existing tables' columns
};

void SetupLintCommand(CLI::App& app, LintOptions& options);
int RunLint(const GlobalOptions& globals, const LintOptions& options);

}  // namespace shardshift::cmd
