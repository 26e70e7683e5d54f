// `shardshift sandbox up|down|status [--dir D] [--json]`: local throwaway servers.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace shardshift::cmd {

struct SandboxOptions {
  std::string action;  // up, down, status
  std::string dir;
  bool json = false;
  bool replicas = false;  // up: also the replica servers
};

void SetupSandboxCommand(CLI::App& app, SandboxOptions& options);
int RunSandbox(const SandboxOptions& options);

}  // namespace shardshift::cmd
