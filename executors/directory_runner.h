// Applies a directory plan (planner/directory_planner.h): creates the directory's tables on its
// database, then checks every shard_by value on every shard routes to the shard that holds it. The
// run lock and run state live on the directory's database; both steps are safe to run again, so a
// killed run repeats the step it had not recorded.
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

// What the placement check found: keys counted per shard and those the directory routes elsewhere.
struct PlacementReport {
  int64_t keys = 0;
  int64_t misplaced_total = 0;
  std::vector<std::string> misplaced;  // "key 42 is on s0 but the directory routes it to s1", at most 20
};

class DirectoryRunner {
 public:
  DirectoryRunner(const plans::Plan& plan, const db::Catalog& catalog, LockMode lock = LockMode::kRequire,
                  std::chrono::milliseconds lock_wait = kRunLockWait);
  ~DirectoryRunner();

  ApplyResult Apply(const ApplyOptions& options);
  // The placement check, read-only. One line per problem; empty = every key routes where it is.
  std::vector<std::string> Verify();
  nlohmann::json Status();

 private:
  PlacementReport Check();

  const plans::Plan& plan_;
  const db::Catalog& catalog_;
  std::string table_;
  std::string shard_by_;
  std::vector<std::string> shards_;
  std::string database_;   // the directory's
  std::string directory_;  // its entries' table
  int retries_ = 5;
  std::unique_ptr<db::Connection> lock_conn_;
  std::unique_ptr<RunState> state_;
  std::map<std::string, StepState> states_;
};

}  // namespace shardshift::executors
