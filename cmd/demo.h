// `shardshift demo`: the main job end to end on the local sandbox: start it, load the examples,
// show what the planner sees of the example databases, plan the example reshard (users on three
// range shards onto four hash shards), apply it while a writer plays the application, cut over,
// verify, report, and stop the sandbox (unless --keep).
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
