// `shardshift show PLAN [--json]`: a plan for a human, or as JSON for machines.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace shardshift::cmd {

struct ShowOptions {
  std::string plan;
  bool json = false;
};

void SetupShowCommand(CLI::App& app, ShowOptions& options);
int RunShow(const ShowOptions& options);

}  // namespace shardshift::cmd
