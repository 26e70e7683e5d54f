// A user's command: a check command that can pause a run (DESIGN.md, throttling) or a hook run at
// cutover. Commands run with /bin/sh -c in their own process group, stdin closed, their output on
// our stderr (stdout stays for the result, e.g. --json), with extra environment variables naming
// the migration. A command that outlives its timeout is killed with its whole group.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace shardshift::executors {

struct CommandResult {
  int exit_code = -1;      // the command's exit status; -1 when it could not start or was killed
  bool timed_out = false;
  std::string error;       // why it could not start
  bool ok() const { return exit_code == 0 && !timed_out && error.empty(); }
  std::string Describe() const;  // "exit 3", "timed out after 30 s", "cannot start: ..."
};

CommandResult RunCommand(const std::string& command, const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds timeout);

}  // namespace shardshift::executors
