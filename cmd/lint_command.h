// `shardshift lint FILE... [--format text|json|github]`: the rules of planner/lint.h over
// PostgreSQL .sql migration files. Exit 1 on any error-level finding, 2 on a file that cannot be
// read or parsed (its file:line:column named), 0 otherwise. No database is needed.
#pragma once

#include <string>
#include <vector>

#include "cmd/globals.h"

namespace shardshift::cmd {

struct LintOptions {
  std::vector<std::string> files;
  std::string format = "text";
  std::string dialect = "postgres";  // of the .sql files: postgres or mariadb
};

void SetupLintCommand(CLI::App& app, LintOptions& options);
int RunLint(const LintOptions& options);

}  // namespace shardshift::cmd
