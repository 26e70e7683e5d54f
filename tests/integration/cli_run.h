// Runs the shardshift executable, as a user would, and collects what it printed.
#pragma once

#include <sys/wait.h>

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

}  // namespace shardshift::testing
