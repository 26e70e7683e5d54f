// `shardshift plan SPEC [-o PLAN] [--json]`: reads the spec and the live databases, writes the plan.
#pragma once

#include <string>

#include "cmd/globals.h"

namespace shardshift::cmd {

struct PlanOptions {
  std::string spec;
  std::string output;  // "" = stdout
  bool json = false;
};

void SetupPlanCommand(CLI::App& app, PlanOptions& options);
int RunPlan(const GlobalOptions& globals, const PlanOptions& options);

}  // namespace shardshift::cmd
