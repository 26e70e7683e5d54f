// A user's command: a check command that can pause a run (DESIGN.md, throttling) or a hook run at
// cutover. Commands run with /bin/sh -c in their own process group, stdin closed, their output on
// our stderr (stdout stays for the result, e.g. --json), with extra environment variables naming
// the migration. A command that outlives its timeout, or is running when *stop becomes true
// (SIGINT/SIGTERM), is killed with its whole group. It inherits no file descriptor beyond stdin,
// stdout and stderr: a hook that outlives shardshift holds none of its database sessions (and so
// none of its locks). A killed shardshift takes the shell with it (what the shell started
// itself lives on; see child_process.h).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>

namespace shardshift::executors {

struct CommandResult {
  int exit_code = -1;      // the command's exit status; -1 when it could not start or was killed
  bool timed_out = false;
  bool interrupted = false;  // killed because a stop was requested
  std::string error;       // why it could not start
  bool ok() const { return exit_code == 0 && !timed_out && error.empty(); }
  std::string Describe() const;  // "exit 3", "timed out after 30 s", "cannot start: ..."
};

CommandResult RunCommand(const std::string& command, const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds timeout, const std::atomic<bool>* stop = nullptr);

}  // namespace shardshift::executors
