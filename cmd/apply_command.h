// `shardshift apply PLAN [--dry-run] [--cleanup | --revert | --abandon] [--max-rows-per-second N]
// [--skip-checks]`: runs a plan, resuming where an earlier run stopped. Before it changes anything it runs the dry run's
// read-only checks (planner/preflight.h) on the steps still to run, and refuses (exit 2, nothing
// changed) when one fails. Prints what it did: rows moved, rows/s, changes replayed, the
// write-blocked window at cutover and the verification result.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "cmd/globals.h"
#include "executors/verifier.h"

namespace shardshift::cmd {

struct ApplyOptions {
  std::string plan;
  bool dry_run = false;
  bool cleanup = false;
  int64_t max_rows_per_second = -1;  // -1: the plan's option
  bool json = false;
  std::string until;
  bool follow = false;
  bool skip_checks = false;  // do not run the preflight checks before a real run
  bool revert = false;       // switch back to the sources within the window
  bool force = false;        // --cleanup: drop changes not carried over
  bool abandon = false;      // give the plan up before its switch: undo what it made
  double lock_wait_seconds = 15;  // how long to wait for the plan's run lock
};

void SetupApplyCommand(CLI::App& app, ApplyOptions& options);
// The first differences of a verification, one line each, for apply and verify.
std::string DescribeDifferences(const executors::VerifyReport& report);
// SIGINT and SIGTERM set StopRequested() instead of ending the process: apply stops at its next
// checkpoint (a hook running inside the cutover is killed and the cutover undone) and exits 130.
void InstallStopSignals();
std::atomic<bool>& StopRequested();
int RunApply(const GlobalOptions& globals, const ApplyOptions& options);

}  // namespace shardshift::cmd
