// `shardshift rehearse PLAN [--sample-rows N] [--writes-per-second N] [--dir D] [--keep]
// [--run-hooks] [--json]`: runs the whole plan on a sandbox copy of its databases
// (rehearse/rehearsal.h) and reports each step's duration, the longest write-blocking lock and the
// writer's slowest write. Exit 0 when the plan ran through and verified with no writer error, 1
// when it did not, 2 on bad input.
#pragma once

#include <cstdint>
#include <string>

#include "cmd/globals.h"

namespace shardshift::cmd {

struct RehearseOptions {
  std::string plan;
  int64_t sample_rows = 10000;
  int writes_per_second = 50;
  std::string dir;
  bool keep = false;
  bool json = false;
  bool run_hooks = false;
};

void SetupRehearseCommand(CLI::App& app, RehearseOptions& options);
int RunRehearse(const GlobalOptions& globals, const RehearseOptions& options);

}  // namespace shardshift::cmd
