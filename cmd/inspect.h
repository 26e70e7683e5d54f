// `shardshift inspect --db NAME [--table T] [--json]`: what shardshift sees in a database (tables,
// columns, keys, indexes, foreign keys, sizes, statistics): the model the planner plans against.
#pragma once

#include <string>

#include "cmd/globals.h"

namespace shardshift::cmd {

struct InspectOptions {
  std::string database;
  std::string table;
  bool json = false;
};

void SetupInspectCommand(CLI::App& app, InspectOptions& options);
int RunInspect(const GlobalOptions& globals, const InspectOptions& options);

}  // namespace shardshift::cmd
