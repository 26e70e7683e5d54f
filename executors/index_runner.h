// Applies a create_index plan: builds each index on each shard online, `parallel` shards at a
// time, with the run state, run lock, retries and kill points every run has.
//
// PostgreSQL: the build session sets client_connection_check_interval, so that a build whose
// executor died stops too instead of running on unowned; an invalid index left by a failed or
// killed build is dropped with DROP INDEX CONCURRENTLY before building again; progress comes from
// pg_stat_progress_create_index. MariaDB: ALTER TABLE … ALGORITHM=INPLACE, LOCK=NONE, progress from
// information_schema.PROCESSLIST. Both: after the build the catalog must show the index valid, with
// the columns, order, uniqueness and predicate asked for, or the step fails.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "db/catalog.h"
#include "executors/connections.h"
#include "executors/run_state.h"
#include "executors/runner.h"
#include "plans/index_params.h"
#include "plans/plan.h"

namespace shardshift::executors {

class IndexRunner {
 public:
  // kRequire waits up to lock_wait for a run lock another session holds (RunLock).
  IndexRunner(const plans::Plan& plan, const db::Catalog& catalog, LockMode lock = LockMode::kRequire,
              std::chrono::milliseconds lock_wait = kRunLockWait);
  ~IndexRunner();

  ApplyResult Apply(const ApplyOptions& options);
  // Each planned index on each shard: present and valid? One line per problem; empty = all good.
  std::vector<std::string> Verify();
  nlohmann::json Status();

 private:
  void Build(const plans::Step& step, StepState& st, Connections& conns, class Progress& progress);
  // "" when the index on conn matches the step's params; otherwise what is wrong.
  std::string Check(db::Connection& conn, const plans::Step& step);

  // The shadow-table rebuilds (steps with params["shadow"]), each a plan of its own for the copy
  // runner, with its own run lock and state: name "<plan>/<database>/<table>".
  std::vector<plans::Plan> shadows_;
  const plans::Plan& plan_;
  const db::Catalog& catalog_;
  const plans::IndexParams params_;  // read once: a malformed plan is refused before anything connects
  std::string home_;
  std::unique_ptr<db::Connection> lock_conn_;
  std::unique_ptr<RunState> state_;
  std::map<std::string, StepState> states_;
};

}  // namespace shardshift::executors
