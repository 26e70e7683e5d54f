// Applies a move_tables plan (planner/move_tables_planner.h, docs/move-tables.md), and a move_keys
// plan the same way (planner/move_keys_planner.h, docs/move-keys.md): each table's
// steps run as a reshard onto the one target, by a Runner of its own (a sub-plan named
// "<plan>/<table>", with its own run lock, state and claim), tables in parallel up to the plan's
// parallel_sources; then the group's steps: the cut foreign keys dropped, ONE cutover for every
// table (Runner::CutoverWindow: all blocked together, drained, checked, fenced, the targets opened
// with the foreign keys among them and the counters past the source's, the routing file naming
// where each table is published, the hooks run once), the foreign keys validated on the target
// and released on the source copies. Then each table's way back (until cleanup) and cleanup.
//
// The switch is decided when every table's source is fenced. PostgreSQL fences them in one
// commit; MariaDB's trigger DDL commits one table at a time, so a run killed among them leaves some
// fenced: the next apply takes those fences down again (nothing was switched, the targets stay
// fenced) and runs the cutover again.
//
// apply --revert of a move_tables plan switches the tables back one after another (each with its
// own write block on the target), rewriting the routing file after each, then puts the foreign keys
// among them back on the source and takes them off the target; it is not one window for the group.
// A move_keys plan's tables share their key gates, so its revert is one window for all of them
// (Runner::RevertWindow) that points the keys' directory entries back at the source.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "db/catalog.h"
#include "executors/run_state.h"
#include "executors/runner.h"
#include "plans/plan.h"

namespace shardshift::executors {

class MoveRunner {
 public:
  MoveRunner(const plans::Plan& plan, const db::Catalog& catalog, LockMode lock = LockMode::kRequire,
             std::chrono::milliseconds lock_wait = kRunLockWait);
  ~MoveRunner();

  ApplyResult Apply(const ApplyOptions& options);
  // Every table compared (Runner::Verify); differences name their table in `where`.
  VerifyReport Verify(bool full = false);
  nlohmann::json Status();

  // The routing file a move_tables cutover publishes: where each table is (docs/move-tables.md).
  static std::string PlacementToml(const std::string& migration,
                                   const std::vector<std::pair<std::string, std::string>>& tables);

 private:
  bool Done(const std::string& step_id) const;
  const plans::Step* FindStep(const std::string& id) const;  // nullptr when the plan has none
  const plans::Step& GroupStep(const std::string& id) const;  // refuses a plan without it
  void CheckDrift();
  void RunSql(const plans::Step& step);
  void Cutover(const ApplyOptions& options, ApplyResult& result);
  // A cutover that fenced every source and was killed before recording it: finished here.
  void FinishSwitch(std::vector<Runner::CutoverMember>& members, const ApplyOptions& options, ApplyResult& result);
  // The statements that make target's tables what the group needs before the application writes
  // there: the foreign keys among them, the counters past the source's (read through source_conn).
  // Statements for the other side that set the counters of table (all when "") past from's.
  std::vector<std::string> CountersPast(db::Connection& from, const std::string& only_table);
  std::vector<std::string> TargetThen(const std::function<db::Connection&(const std::string&)>& source_conn);
  std::optional<CommandResult> Hook(const std::string& name, const ApplyOptions& options);
  void Publish(const std::string& path, const std::vector<bool>& on_target);
  // move_keys: the keys' directory entries point at the source again (the cutover was undone).
  void Unpublish();
  void Revert(const ApplyOptions& options, ApplyResult& result);
  // move_keys: every table back in one window (Runner::RevertWindow), the directory with them.
  void RevertKeys(const ApplyOptions& options, ApplyResult& result);
  void RecordReverted();  // the group's steps pending again: the next apply switches forward
  void Abandon(const ApplyOptions& options, ApplyResult& result);

  // A move_keys plan (planner/move_keys_planner.h): the same group of per-table runners and one
  // cutover, narrowed to some keys; it publishes by pointing the keys' directory entries (the
  // group cutover step's statements, run on the directory's database) rather than a routing file.
  bool keys_ = false;
  std::string directory_database_;
  const plans::Plan& plan_;
  const db::Catalog& catalog_;
  std::vector<std::string> tables_;
  std::string source_, target_;
  int lock_timeout_ms_ = 2000;
  int retries_ = 5;
  size_t parallel_ = 2;
  std::vector<plans::Plan> subs_;  // one per table; the runners keep references
  std::vector<std::unique_ptr<Runner>> runners_;
  std::unique_ptr<db::Connection> lock_conn_;
  std::unique_ptr<db::Connection> conn_;  // the group's statements on the source and target
  std::unique_ptr<db::Connection> target_conn_;
  std::unique_ptr<RunState> state_;
  std::map<std::string, StepState> states_;
};

}  // namespace shardshift::executors
