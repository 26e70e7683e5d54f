// Applies a replica plan (planner/replica_planner.h) step by step with the run state and run lock
// every run has, so that a killed apply continues; watches replicas for `replicas status`; and
// verifies them by checksums.
//
// Secrets: the subscription's connection string, the replication user's password (new on every
// run that sets it) and the passwords pg_basebackup and mariadb-dump need are built from the config
// at run time and handed to the server or the child process only (environment, a 0600 options file
// that exists in memory only); the plan shows them as ***, and an error that quotes such a statement quotes
// the plan's text.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "db/catalog.h"
#include "executors/run_state.h"
#include "executors/runner.h"
#include "plans/plan.h"
#include "plans/replica_params.h"

namespace shardshift::executors {

// One replica as `replicas status` reports it.
struct ReplicaHealth {
  std::string database;
  std::string method;
  std::string mode;
  std::string state;          // "streaming", "copying", "stopped", "broken", "not set up"
  int64_t lag_bytes = -1;     // PostgreSQL: WAL not yet replayed; -1 unknown (MariaDB)
  double lag_seconds = -1;    // -1 unknown
  int64_t lag_transactions = -1;  // MariaDB: GTID sequence numbers behind; -1 unknown
  std::string sync_state;     // PostgreSQL physical/logical: async, sync, quorum (from pg_stat_replication)
  std::string last_error;
  bool ready = false;         // running, initial copy done, lag within the spec's bounds
  // What the plan set up that does not hold now, in words with the fix: a synchronous replica whose
  // commits do not wait for it (synchronous_commit off, not named in synchronous_standby_names), a
  // semi-synchronous one that is not (off after a restart, the primary fallen back to asynchronous),
  // a MariaDB replica's database filter lost at a restart. Empty for a replica that keeps them.
  std::vector<std::string> unkept;
  bool healthy() const { return ready && unkept.empty(); }
};

class ReplicaRunner {
 public:
  // kRequire waits up to lock_wait for a run lock another session holds (RunLock).
  ReplicaRunner(const plans::Plan& plan, const db::Catalog& catalog, LockMode lock = LockMode::kRequire,
              std::chrono::milliseconds lock_wait = kRunLockWait);
  ~ReplicaRunner();

  // router_path: where the router file is written (options.routing_path).
  ApplyResult Apply(const ApplyOptions& options);
  // Every replica's health now.
  std::vector<ReplicaHealth> Health();
  // Checksums of every table on each replica against the primary, each chunk compared once the
  // replica has caught up with the moment it was read; one line per difference.
  std::vector<std::string> Verify();
  nlohmann::json Status();

 private:
  void RunStep(const plans::Step& step, StepState& st, const ApplyOptions& options, ApplyResult& result);
  void CheckPrimary(const plans::Step& step);
  void Subscribe(const plans::Step& step);
  void BaseBackup(const plans::Step& step);
  void StartStandby(const plans::Step& step);
  void DumpCopy(const plans::Step& step, StepState& st);
  void ChangeMaster(const plans::Step& step);
  void WaitReady(const plans::Step& step);
  std::vector<std::string> VerifyReplica(const plans::Step& step);
  void WriteRouter(const std::string& path);
  ReplicaHealth HealthOf(const plans::ReplicaEntryParams& replica);
  // The replica a step is about (its database).
  const plans::ReplicaEntryParams& ReplicaOf(const plans::Step& step) const;
  // Waits up to a few seconds for every replica of mode (sync, semi-sync) in the plan to keep what
  // its mode promises; throws naming what does not hold.
  void WaitModeInForce(const std::string& mode);

  const plans::Plan& plan_;
  const db::Catalog& catalog_;
  const plans::ReplicaParams params_;  // read once: a malformed plan is refused before anything connects
  std::unique_ptr<db::Connection> lock_conn_;
  std::unique_ptr<RunState> state_;
  std::map<std::string, StepState> states_;
};

}  // namespace shardshift::executors
