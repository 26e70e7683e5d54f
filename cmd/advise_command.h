// `shardshift advise index --db NAME [--table T] [--json] [--emit-spec FILE]`: read-only index advice
// (planner/index_advisor.h): duplicates, redundant and unused indexes, foreign keys without an
// index, each with why and the statement that fixes it. --emit-spec writes a create_index spec for
// the indexes to create, with the drops as comments to review.
#pragma once

#include <string>
#include <vector>

#include "cmd/globals.h"

namespace shardshift::cmd {

struct AdviseOptions {
  std::string database;
  std::string table;
  bool json = false;
  std::string emit_spec;
  std::vector<std::string> shards;  // databases the emitted spec builds on; default: --db
};

void SetupAdviseCommand(CLI::App& app, AdviseOptions& options);
int RunAdvise(const GlobalOptions& globals, const AdviseOptions& options);

}  // namespace shardshift::cmd
