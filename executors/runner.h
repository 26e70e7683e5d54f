// The runner: applies a reshard plan step by step, exactly as the plan says, checkpointing each
// step in the run state so that a killed run continues where it stopped. It holds the run lock for
// its whole life (a second runner of the same plan is refused), refuses a plan whose sources
// changed shape since planning (drift), and orchestrates the roles: TargetWriter, Backfill, Replay,
// Verifier, and the cutover. Not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "db/catalog.h"
#include "executors/run_state.h"
#include "executors/verifier.h"
#include "plans/plan.h"

namespace shardshift::executors {

struct ApplyOptions {
  bool dry_run = false;            // connect and check everything, change nothing
  bool cleanup = false;            // also run the cleanup steps
  std::string routing_path;        // where the cutover publishes the routing map
  int64_t max_rows_per_second = 0; // backfill throttle; 0 = none
  std::string until;               // stop before the first pending step of this kind ("cutover")
};

struct ApplyResult {
  std::vector<std::string> would_run;  // dry run: the steps that would run
  std::vector<std::string> ran;        // the steps this run finished
  int64_t rows_copied = 0;
  double copy_seconds = 0;
  int64_t changes_replayed = 0;
  int64_t write_blocked_ms = -1;       // measured at cutover
  bool verified = false;
  VerifyReport verify;                 // when verification ran
  bool cleanup_pending = false;
  std::string stopped_before;          // the step --until stopped at
};

// Verification found differences: the run stops, the keys are in the report.
class VerificationFailed : public std::runtime_error {
 public:
  explicit VerificationFailed(VerifyReport report);
  const VerifyReport& report() const { return report_; }

 private:
  VerifyReport report_;
};

class Runner {
 public:
  // Connects to the plan's home database and takes the run lock; throws db::Error(kBadInput) when
  // another runner holds it. The catalog must outlive the runner.
  Runner(const plans::Plan& plan, const db::Catalog& catalog, bool take_lock = true);
  ~Runner();

  ApplyResult Apply(const ApplyOptions& options);
  VerifyReport Verify();
  nlohmann::json Status();

 private:
  db::Connection& Conn(const std::string& name);
  void CheckDrift();
  Router MakeRouter() const;
  void RunSql(const plans::Step& step);
  void RunBackfill(const plans::Step& step, const ApplyOptions& options, ApplyResult& result);
  void RunReplay(const std::string& source, ApplyResult& result, bool backfill_done);
  void RunCutover(const ApplyOptions& options, ApplyResult& result);
  // Re-compares the differing keys row by row; keeps those that still differ.
  void Recheck(VerifyReport& report);
  TableMapping Mapping() const;

  const plans::Plan& plan_;
  const db::Catalog& catalog_;
  std::map<std::string, std::string> params_;  // the reshard's common parameters
  std::vector<std::string> sources_;
  std::vector<std::string> targets_;
  std::vector<std::string> key_;
  std::vector<std::string> columns_;
  std::map<std::string, std::unique_ptr<db::Connection>> conns_;
  std::unique_ptr<db::Connection> lock_conn_;
  std::unique_ptr<RunState> state_;
  std::map<std::string, StepState> states_;
};

}  // namespace shardshift::executors
