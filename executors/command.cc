#include "executors/command.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <fmt/format.h>

#include "executors/child_process.h"

namespace shardshift::executors {

namespace bp = boost::process;

namespace {

// In the child between fork and exec: its own process group, so that a timeout kills everything
// the shell started, and a terminal's Ctrl-C reaches it only through us; none of our descriptors,
// and it dies with us (child_process.h).
struct OwnGroup : bp::extend::handler {
  pid_t parent = ::getpid();
  template <class Executor>
  void on_exec_setup(Executor&) const {
    setpgid(0, 0);
    PrepareChild(parent);
  }
};

}  // namespace

std::string CommandResult::Describe() const {
  if (!error.empty()) return "cannot start: " + error;
  if (interrupted) return "stopped by a signal (SIGINT/SIGTERM) and killed";
  if (timed_out) return "timed out and was killed";
  return fmt::format("exit {}", exit_code);
}

CommandResult RunCommand(const std::string& command, const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds timeout, const std::atomic<bool>* stop) {
  CommandResult out;
  try {
    bp::environment e = boost::this_process::environment();
    for (const auto& [k, v] : env) e[k] = v;
    std::fflush(stderr);
    bp::child child(bp::exe = "/bin/sh", bp::args = {"-c", command}, bp::std_in < bp::null,
                    bp::std_out > stderr, bp::std_err > stderr, e, OwnGroup{});
    // Polled, not child.wait_for: Boost 1.74 waits for SIGCHLD in this thread, and with other
    // threads running the signal may go to one of them, so wait_for sat out its whole timeout.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto nap = std::chrono::milliseconds(1);
    while (child.running()) {
      const bool stopping = stop != nullptr && stop->load();
      if (stopping || std::chrono::steady_clock::now() >= deadline) {
        ::kill(-child.id(), SIGKILL);
        child.wait();
        out.timed_out = !stopping;
        out.interrupted = stopping;
        return out;
      }
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::milliseconds(50));
    }
    out.exit_code = child.exit_code();
  } catch (const std::exception& ex) {
    out.error = ex.what();
  }
  return out;
}

}  // namespace shardshift::executors
