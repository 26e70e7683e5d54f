// `shardshift advise index|shard|split --db NAME [--table T] [--json] [--emit-spec FILE]`: read-only
// advice. index: missing indexes from the workload (planner/workload_advisor.h), and
// (planner/index_advisor.h): duplicates, redundant and unused indexes, foreign keys without an
// index, each with why and the statement that fixes it. --emit-spec writes a create_index spec for
// the indexes to create, with the drops as comments to review.
#pragma once

#include <string>
#include <vector>

#include "cmd/globals.h"

namespace shardshift::cmd {

struct AdviseOptions {
  std::string what;  // index, shard or split: the subcommand given
  std::string database;
  std::string table;
  bool json = false;
  std::string emit_spec;
  std::vector<std::string> shards;  // databases the emitted spec builds on; default: --db
  int shard_count = 0;               // advise shard: N for the skew (0: the suggested count)
  int64_t target_shard_gb = 50;      // advise shard: a shard this big is full
  std::vector<std::string> targets;  // advise shard: the target databases of the emitted reshard spec
  bool functional = false;           // advise split --functional: groups of tables, not columns
  std::string target;                // advise split --functional --emit-spec: where the group moves
  int group = 1;                     // ... which group (1 = the first listed)
  std::string directory;             // advise shard --directory: the directory's database (a directory layout)
  std::string directory_table = "shardshift_directory";
  std::string to;                    // ... where the suggested move_keys goes ("" = the emptiest shard)
  double sample_seconds = 5;         // ... how long to sample the statements each shard runs (0: not)
};

// The [migration] name of an emitted spec: prefix-<UTC time>. A run's state is kept by the plan's
// name, so a second advice under the first one's name would find its steps recorded done.
std::string AdviceSpecName(const std::string& prefix);

// advise shard / advise split (cmd/advise_layout.cc).
int RunAdviseShard(const GlobalOptions& globals, const AdviseOptions& options);
int RunAdviseSplit(const GlobalOptions& globals, const AdviseOptions& options);

void SetupAdviseCommand(CLI::App& app, AdviseOptions& options);
int RunAdvise(const GlobalOptions& globals, const AdviseOptions& options);

}  // namespace shardshift::cmd
