// Runs the shardshift executable, as a user would, and collects what it printed.
#pragma once

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/process.hpp>

namespace shardshift::testing {

// Runs f when it goes out of scope: the application's writers stopped and joined also when an
// assertion ends the test early.
struct AtScopeExit {
  std::function<void()> f;
  ~AtScopeExit() { f(); }
};

struct CliRun {
  int rc = -1;
  bool killed = false;  // ended by a signal (a kill point, or the test)
  std::string output;   // stdout and stderr, interleaved
};

// env: extra environment variables for the child.
inline CliRun Shardshift(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
  namespace bp = boost::process;
  bp::environment e = boost::this_process::environment();
  for (const auto& [k, v] : env) e[k] = v;
  bp::ipstream out;
  bp::child c(SHARDSHIFT_BIN, bp::args = args, (bp::std_out & bp::std_err) > out, e);
  std::string text, line;
  while (std::getline(out, line)) text += line + "\n";
  c.wait();
  CliRun r;
  r.killed = WIFSIGNALED(c.native_exit_code());
  r.rc = r.killed ? -1 : c.exit_code();
  r.output = text;
  return r;
}

// A run with the config and quiet logging, killed at kill_at (a SHARDSHIFT_KILL_AT point, "" for
// none), reported on stderr with its exit code and duration: the step-by-step story of a test that
// kills and resumes.
inline CliRun ShardshiftAt(const std::string& config, const std::vector<std::string>& args,
                           const std::string& kill_at = "") {
  // SHARDSHIFT_TEST_LOG_LEVEL=debug (or info): the runs log at that level, with timestamps
  // (--log-format json), and their output is printed: where a slow or failing run spent its time.
  const char* level = std::getenv("SHARDSHIFT_TEST_LOG_LEVEL");
  std::vector<std::string> all = {"--config", config, "--log-level", level != nullptr ? level : "warn"};
  if (level != nullptr) all.insert(all.end(), {"--log-format", "json"});
  all.insert(all.end(), args.begin(), args.end());
  const auto t0 = std::chrono::steady_clock::now();
  CliRun r = Shardshift(all, kill_at.empty() ? std::map<std::string, std::string>{}
                                             : std::map<std::string, std::string>{{"SHARDSHIFT_KILL_AT", kill_at}});
  std::string line = "shardshift";
  for (const std::string& a : args) line += " " + a;
  if (level != nullptr) std::fprintf(stderr, "%s", r.output.c_str());
  std::fprintf(stderr, "%s (kill at %s): rc %d in %.1f s\n", line.c_str(), kill_at.c_str(), r.rc,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return r;
}

}  // namespace shardshift::testing
