// `shardshift verify PLAN [--json]`: compares sources and targets now; exit 1 on any difference.
#pragma once

#include <string>

#include "cmd/globals.h"

namespace shardshift::cmd {

struct VerifyOptions {
  std::string plan;
  bool json = false;
  bool full = false;
};

void SetupVerifyCommand(CLI::App& app, VerifyOptions& options);
int RunVerify(const GlobalOptions& globals, const VerifyOptions& options);

}  // namespace shardshift::cmd
