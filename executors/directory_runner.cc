#include "executors/directory_runner.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "db/error.h"
#include "executors/failpoint.h"
#include "executors/retry.h"
#include "planner/directory_sql.h"

namespace shardshift::executors {

namespace {

const plans::Step& StepOf(const plans::Plan& plan, const std::string& id) {
  for (const plans::Step& s : plan.steps) {
    if (s.id == id) return s;
  }
  throw db::Error(db::ErrorKind::kBadInput, "plan '" + plan.header.name + "' has no step " + id);
}

// A parameter the plan must have (plans::StepParam), refused by name when missing.
std::string Required(const plans::Plan& plan, const plans::Step& step, const std::string& name) {
  std::string v = plans::StepParam(step, name);
  if (v.empty()) {
    throw db::Error(db::ErrorKind::kBadInput, "plan '" + plan.header.name + "': step " + step.id +
                                                  " has no parameter " + name + "; re-plan it with shardshift plan");
  }
  return v;
}

}  // namespace

DirectoryRunner::DirectoryRunner(const plans::Plan& plan, const db::Catalog& catalog, LockMode lock,
                                 std::chrono::milliseconds lock_wait)
    : plan_(plan), catalog_(catalog) {
  const plans::Step& create = StepOf(plan_, "create_directory");
  table_ = Required(plan_, create, "table");
  const std::vector<std::string> shard_by = plans::StepParamList(create, "shard_by");
  shards_ = plans::StepParamList(create, "sources");
  if (shard_by.empty() || shards_.empty()) {
    throw db::Error(db::ErrorKind::kBadInput, "plan '" + plan_.header.name + "': step " + create.id +
                                                  " names no shard_by column or no shards; re-plan it with shardshift plan");
  }
  shard_by_ = shard_by.front();
  database_ = Required(plan_, create, "directory_database");
  directory_ = Required(plan_, create, "directory_table");
  retries_ = std::stoi(plans::StepParam(create, "retries", "5"));
  if (lock != LockMode::kNone) {
    lock_conn_ = catalog_.Connect(database_);
    if (!RunLock(*lock_conn_, plan_.header.name,
                 lock == LockMode::kRequire ? lock_wait : std::chrono::milliseconds(0))
             .acquired() &&
        lock == LockMode::kRequire) {
      throw db::Error(db::ErrorKind::kBadInput, "another shardshift is running plan '" + plan_.header.name +
                                                    "' (it holds the run lock on database '" + database_ + "')");
    }
  }
  const std::string home = database_;
  state_ = std::make_unique<RunState>([this, home] { return catalog_.Connect(home); }, plan_.header.name);
  states_ = state_->Load();
}

DirectoryRunner::~DirectoryRunner() = default;

PlacementReport DirectoryRunner::Check() {
  PlacementReport out;
  auto dir_conn = catalog_.Connect(database_);
  const plans::Directory directory = planner::ReadDirectory(*dir_conn, db::TableName::Parse(directory_), database_);
  for (const std::string& shard : shards_) {
    auto conn = catalog_.Connect(shard);
    const std::string sql = fmt::format("SELECT {0} FROM {1} GROUP BY {0}", conn->Quote(shard_by_),
                                        conn->Quote(db::TableName::Parse(table_)));
    std::unique_ptr<db::RowStream> stream = conn->Stream(sql, {}, 10'000);
    db::Chunk chunk;
    while (stream->Next(chunk)) {
      for (const db::Row& row : chunk.rows) {
        ++out.keys;
        const std::string key = row.at(0).value_or("");
        const std::optional<std::string> routed = row.at(0) ? directory.ShardOf(key) : std::nullopt;
        if (routed == shard) continue;
        ++out.misplaced_total;
        if (out.misplaced.size() < 20) {
          out.misplaced.push_back(fmt::format("{} {} is on {} but the directory routes it {}", shard_by_,
                                              row.at(0) ? key : "NULL", shard,
                                              routed ? "to " + *routed : "nowhere (no rule holds it)"));
        }
      }
    }
  }
  return out;
}

ApplyResult DirectoryRunner::Apply(const ApplyOptions& options) {
  ApplyResult result;
  if (options.revert || options.abandon || options.follow) {
    throw db::Error(db::ErrorKind::kBadInput, "a directory plan moves no row: there is nothing to revert, abandon or "
                                              "follow (its create_directory step's undo drops the directory)");
  }
  result.done_before = std::all_of(plan_.steps.begin(), plan_.steps.end(),
                                   [&](const plans::Step& s) { return states_[s.id].status == "done"; });
  if (!options.dry_run) state_->EnsureTable();
  for (const plans::Step& step : plan_.steps) {
    StepState& st = states_[step.id];
    if (st.status == "done") continue;
    if (options.stop != nullptr && *options.stop) {
      result.interrupted = true;
      break;
    }
    if (!options.until.empty() && plans::StepKindName(step.kind) == options.until) {
      result.stopped_before = step.id;
      break;
    }
    if (options.dry_run) {
      result.would_run.push_back(step.id);
      continue;
    }
    spdlog::info("step {}: {}", step.id, step.description);
    const auto started = std::chrono::steady_clock::now();
    RunWithRetries(StepRetryPolicy(retries_), [&](int) {
      if (step.kind == plans::StepKind::kSql) {
        auto conn = catalog_.Connect(step.database);
        for (const std::string& sql : step.sql) conn->Execute(sql);
        return;
      }
      const PlacementReport r = Check();
      if (r.misplaced_total > 0) {
        st.status = "failed";
        st.detail = fmt::format("{} of {} keys route elsewhere", r.misplaced_total, r.keys);
        state_->Save(step.id, st);
        throw db::Error(db::ErrorKind::kStatement,
                        fmt::format("{} of the {} {} values on the shards would route elsewhere by the directory:\n  {}",
                                    r.misplaced_total, r.keys, shard_by_, fmt::join(r.misplaced, "\n  ")));
      }
      st.detail = fmt::format("{} keys, each routed to the shard that holds it", r.keys);
      result.verified = true;
      result.verify.source_rows = r.keys;
    });
    KillPoint("step.ran");
    st.status = "done";
    state_->Save(step.id, st);
    result.ran.push_back(step.id);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    StepTiming timing{step.id, 0, seconds};
    result.timings.push_back(timing);
    if (options.on_step) options.on_step(timing);
  }
  return result;
}

std::vector<std::string> DirectoryRunner::Verify() {
  const PlacementReport r = Check();
  std::vector<std::string> problems = r.misplaced;
  if (r.misplaced_total > static_cast<int64_t>(r.misplaced.size())) {
    problems.push_back(fmt::format("... {} more", r.misplaced_total - static_cast<int64_t>(r.misplaced.size())));
  }
  if (problems.empty()) spdlog::info("directory {} on {}: {} keys, each routed to the shard that holds it", directory_, database_, r.keys);
  return problems;
}

nlohmann::json DirectoryRunner::Status() {
  nlohmann::json steps = nlohmann::json::array();
  for (const plans::Step& s : plan_.steps) {
    const StepState& st = states_[s.id];
    steps.push_back({{"id", s.id}, {"status", st.status.empty() ? "pending" : st.status}, {"detail", st.detail}});
  }
  return {{"plan", plan_.header.name}, {"directory", {{"database", database_}, {"table", directory_}}}, {"steps", steps}};
}

}  // namespace shardshift::executors
