// `shardshift demo`: the main job end to end on the local sandbox. Today that is: start the
// sandbox, load the example schemas and data, introspect the example databases on both engines
// and print what the planner sees, then stop the sandbox (unless --keep).
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace shardshift::cmd {

struct DemoOptions {
  std::string dir;       // "" = a new temporary folder
  std::string examples;  // the examples/ folder
  bool keep = false;
};

void SetupDemoCommand(CLI::App& app, DemoOptions& options);
int RunDemo(const DemoOptions& options);

}  // namespace shardshift::cmd
