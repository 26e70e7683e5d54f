// `shardshift status PLAN [--json]`: each step's state and progress, and the changelog backlog.
#pragma once

#include <string>

#include "cmd/globals.h"

namespace shardshift::cmd {

struct StatusOptions {
  std::string plan;
  bool json = false;
};

void SetupStatusCommand(CLI::App& app, StatusOptions& options);
int RunStatus(const GlobalOptions& globals, const StatusOptions& options);

}  // namespace shardshift::cmd
