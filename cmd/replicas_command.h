// `shardshift replicas status PLAN [--json]`: each replica of a replica plan, its state, lag in
// bytes and seconds (MariaDB: transactions behind), the last error and whether it is ready. Exit 1
// when a replica is broken, stopped or over its lag bound, so that it can serve as a health check.
#pragma once

#include <string>

#include "cmd/globals.h"

namespace shardshift::cmd {

struct ReplicasOptions {
  std::string action;  // status
  std::string plan;
  bool json = false;
};

void SetupReplicasCommand(CLI::App& app, ReplicasOptions& options);
int RunReplicas(const GlobalOptions& globals, const ReplicasOptions& options);

}  // namespace shardshift::cmd
