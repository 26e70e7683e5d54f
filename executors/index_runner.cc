#include "executors/index_runner.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "db/error.h"
#include "executors/failpoint.h"
#include "executors/progress.h"
#include "executors/retry.h"

namespace shardshift::executors {

namespace {

// While a build runs on another session, polls its progress every 100 ms and reports it.
class ProgressWatch {
 public:
  ProgressWatch(std::unique_ptr<db::Connection> conn, std::string backend, std::string step, Progress& progress)
      : conn_(std::move(conn)), backend_(std::move(backend)), step_(std::move(step)), progress_(progress),
        thread_([this] { Run(); }) {}
  ~ProgressWatch() {
    stop_ = true;
    thread_.join();
  }

 private:
  void Run() {
    const bool pg = conn_->engine() == db::Engine::kPostgres;
    const std::string sql =
        pg ? "SELECT COALESCE(blocks_done, 0) + COALESCE(tuples_done, 0) AS done, COALESCE(blocks_total, 0) + "
             "COALESCE(tuples_total, 0) AS total, phase FROM pg_stat_progress_create_index WHERE pid = $1"
           : "SELECT CAST(PROGRESS * 1000 AS UNSIGNED) AS done, 100000 AS total, STATE AS phase FROM "
             "information_schema.PROCESSLIST WHERE ID = ?";
    while (!stop_) {
      try {
        db::ResultSet r = conn_->Query(sql, {backend_});
        if (!r.rows.empty()) {
          KillPoint("build_index.running");
          progress_.Update(step_, std::stoll(r.Text(0, "done")), std::stoll(r.Text(0, "total")), 0);
        }
      } catch (const db::Error& e) {
        spdlog::debug("progress of {}: {}", step_, e.what());  // progress is a nicety; the build decides
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  std::unique_ptr<db::Connection> conn_;
  std::string backend_;
  std::string step_;
  Progress& progress_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

IndexRunner::IndexRunner(const plans::Plan& plan, const db::Catalog& catalog, LockMode lock,
                         std::chrono::milliseconds lock_wait)
    : plan_(plan), catalog_(catalog), params_(plans::ReadIndexParams(plan)) {
  if (plan_.steps.empty()) return;  // every index was there already
  for (const plans::ShadowParams& shadow : params_.shadows) {
    plans::Plan sub;
    sub.header = plan_.header;
    sub.header.kind = "shadow_rebuild";
    sub.header.name = plan_.header.name + "/" + shadow.tag;
    sub.header.schema_fingerprints = {{shadow.database, shadow.fingerprint}};
    for (size_t i : shadow.steps) sub.steps.push_back(plan_.steps[i]);
    shadows_.push_back(std::move(sub));
  }
  home_ = params_.databases.front();
  if (lock != LockMode::kNone) {
    lock_conn_ = catalog_.Connect(home_);
    if (!RunLock(*lock_conn_, plan_.header.name,
                 lock == LockMode::kRequire ? lock_wait : std::chrono::milliseconds(0))
             .acquired() &&
        lock == LockMode::kRequire) {
      throw db::Error(db::ErrorKind::kBadInput, "another shardshift is running plan '" + plan_.header.name +
                                                    "' (it holds the run lock on database '" + home_ + "')");
    }
  }
  const std::string home = home_;
  state_ = std::make_unique<RunState>([this, home] { return catalog_.Connect(home); }, plan_.header.name);
  states_ = state_->Load();
}

IndexRunner::~IndexRunner() = default;

std::string IndexRunner::Check(db::Connection& conn, const plans::Step& step) {
  const plans::IndexBuildParams& want = params_.builds.at(step.id);
  const db::TableName table = db::TableName::Parse(want.table);
  const std::string& name = want.index;
  db::SchemaInfo schema = conn.Introspect({table.schema, table.name, false});
  const db::TableInfo* t = schema.FindTable(table.schema, table.name);
  if (!t) return "table " + table.ToString() + " is gone";
  for (const db::IndexInfo& idx : t->indexes) {
    if (idx.name != name) continue;
    if (!idx.valid) return "index " + name + " exists but is not valid";
    const std::vector<plans::IndexColumnParams>& cols = want.columns;
    if (idx.columns.size() != cols.size()) return "index " + name + " has other columns";
    for (size_t i = 0; i < cols.size(); ++i) {
      const bool same_key = cols[i].expression ? plans::SameExpression(idx.columns[i].expression, cols[i].name)
                                               : idx.columns[i].name == cols[i].name;
      if (!same_key || idx.columns[i].descending != cols[i].descending) {
        return fmt::format("index {} has key part {} where {} was asked for", name,
                           idx.columns[i].name.empty() ? "(" + idx.columns[i].expression + ")" : idx.columns[i].name,
                           cols[i].expression ? "(" + cols[i].name + ")" : cols[i].name);
      }
    }
    if (idx.unique != want.unique) return "index " + name + " differs in uniqueness";
    if (idx.predicate.empty() != want.where.empty()) return "index " + name + " differs in its predicate";
    if (idx.include != want.include) {
      return "index " + name + " differs in its INCLUDE columns";
    }
    return "";
  }
  return "index " + name + " is missing";
}

void IndexRunner::Build(const plans::Step& step, StepState& st, Connections& conns, Progress& progress) {
  db::Connection& conn = conns.Get(step.database);
  const bool pg = conn.engine() == db::Engine::kPostgres;
  const plans::IndexBuildParams& want = params_.builds.at(step.id);
  const std::string& name = want.index;
  const db::TableName table = db::TableName::Parse(want.table);
  if (Check(conn, step).empty()) {
    st.detail = "valid (built earlier)";
    return;
  }
  if (pg) {
    // A build this session runs dies with it, rather than running on after the executor was killed.
    conn.Execute("SET client_connection_check_interval = '1s'");
    db::ResultSet invalid = conn.Query(
        "SELECT n.nspname AS s FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = "
        "c.relnamespace WHERE c.relname = $1 AND i.indrelid = $2::regclass AND NOT i.indisvalid",
        {name, db::QuoteTable(conn.engine(), table)});
    if (!invalid.rows.empty()) {
      spdlog::warn("{}: dropping the invalid index {} a failed build left", step.id, name);
      conn.Execute("DROP INDEX CONCURRENTLY IF EXISTS " + db::QuoteTable(conn.engine(), {invalid.Text(0, "s"), name}));
    }
  }
  const std::string backend = conn.Query(pg ? "SELECT pg_backend_pid() AS id" : "SELECT CONNECTION_ID() AS id").Text(0, "id");
  {
    ProgressWatch watch(catalog_.Connect(step.database), backend, step.id, progress);
    for (const std::string& sql : step.sql) conn.Execute(sql);
  }
  if (std::string problem = Check(conn, step); !problem.empty()) {
    throw db::Error(db::ErrorKind::kStatement, step.id + ": the build finished but " + problem);
  }
  st.detail = "valid";
}

ApplyResult IndexRunner::Apply(const ApplyOptions& options) {
  ApplyResult result;
  if (plan_.steps.empty()) return result;
  for (const plans::Step& step : plan_.steps) catalog_.Connect(step.database);  // every shard answers first
  if (!options.dry_run) state_->EnsureTable();
  // Shadow-table rebuilds first, one at a time: the builds after them check what they built.
  for (const plans::Plan& sub : shadows_) {
    spdlog::info("shadow-table rebuild {}", sub.header.name);
    Runner runner(sub, catalog_, LockMode::kRequire);
    ApplyResult r = runner.Apply(options);
    result.ran.insert(result.ran.end(), r.ran.begin(), r.ran.end());
    result.timings.insert(result.timings.end(), r.timings.begin(), r.timings.end());
    result.would_run.insert(result.would_run.end(), r.would_run.begin(), r.would_run.end());
    result.warnings.insert(result.warnings.end(), r.warnings.begin(), r.warnings.end());
    result.rows_copied += r.rows_copied;
    result.copy_seconds += r.copy_seconds;
    result.changes_replayed += r.changes_replayed;
    result.last_changes_checked += r.last_changes_checked;
    result.retries += r.retries;
    result.cleanup_pending = result.cleanup_pending || r.cleanup_pending;
    if (r.write_blocked_ms >= 0) result.write_blocked_ms = std::max(result.write_blocked_ms, r.write_blocked_ms);
    if (r.verified) {
      result.verified = true;
      result.verify = r.verify;
    }
    if (!r.stopped_before.empty()) {
      result.stopped_before = r.stopped_before;
      return result;
    }
  }
  result.done_before = shadows_.empty() && std::all_of(plan_.steps.begin(), plan_.steps.end(), [&](const plans::Step& s) {
                          return states_[s.id].status == "done";
                        });
  std::vector<const plans::Step*> pending;
  for (const plans::Step& step : plan_.steps) {
    if (step.params.count("shadow")) continue;
    if (states_[step.id].status == "done") continue;
    if (step.kind == plans::StepKind::kCleanup && !options.cleanup) {  // MariaDB's drop after IGNORED
      result.cleanup_pending = true;
      continue;
    }
    if (options.dry_run) {
      result.would_run.push_back(step.id);
      continue;
    }
    pending.push_back(&step);
  }
  if (pending.empty()) return result;
  // Parallel across databases, in order within one: two builds on one table would only wait for
  // each other (each takes a self-conflicting lock).
  std::vector<std::vector<const plans::Step*>> groups;
  for (const plans::Step* step : pending) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.front()->database == step->database; });
    if (it == groups.end()) {
      groups.push_back({step});
    } else {
      it->push_back(step);
    }
  }
  const size_t parallel = std::clamp<size_t>(static_cast<size_t>(params_.parallel), 1, groups.size());
  Progress progress("build_index", options.progress_bar);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::exception_ptr failure;
  // One step; false when it failed (the failure is kept for the caller).
  auto run_step = [&](const plans::Step& step, Connections& conns) {
    StepState& st = states_.at(step.id);
    const double started = SteadySeconds();
    try {
      spdlog::info("step {}: {}", step.id, step.description);
      RunWithRetries(
          StepRetryPolicy(static_cast<int>(params_.pace.retries)),
          [&](int) {
            if (step.kind == plans::StepKind::kBuildIndex) {
              Build(step, st, conns, progress);
            } else {
              for (const std::string& sql : step.sql) conns.Get(step.database).Execute(sql);  // each idempotent
            }
          },
          RealSleep,
          [&](int attempt, const std::exception& e) {
            spdlog::warn("{}: {}; retry {} of {}", step.id, e.what(), attempt, static_cast<int>(params_.pace.retries));
            conns.Reset();
          });
      KillPoint("step.ran");
      st.status = "done";
      state_->Save(step.id, st);
      std::lock_guard<std::mutex> hold(mu);
      result.ran.push_back(step.id);
      Finished(result, options, {step.id, started, SteadySeconds() - started});
      return true;
    } catch (...) {
      std::lock_guard<std::mutex> hold(mu);
      if (!failure) failure = std::current_exception();
      return false;
    }
  };
  auto work = [&] {
    Connections conns(catalog_, static_cast<int>(params_.pace.lock_timeout_ms));
    for (size_t g = next++; g < groups.size(); g = next++) {
      for (const plans::Step* step : groups[g]) {
        {
          std::lock_guard<std::mutex> hold(mu);
          if (failure) return;
        }
        if (!run_step(*step, conns)) return;
      }
    }
  };
  std::vector<std::thread> workers;
  for (size_t w = 0; w < parallel; ++w) workers.emplace_back(work);
  for (std::thread& t : workers) t.join();
  progress.Finish();
  if (failure) std::rethrow_exception(failure);
  return result;
}

std::vector<std::string> IndexRunner::Verify() {
  std::vector<std::string> problems;
  for (const plans::Step& step : plan_.steps) {
    if (step.kind != plans::StepKind::kBuildIndex) continue;
    auto conn = catalog_.Connect(step.database);
    if (std::string p = Check(*conn, step); !p.empty()) problems.push_back(step.database + ": " + p);
  }
  return problems;
}

nlohmann::json IndexRunner::Status() {
  if (state_) states_ = state_->Load();
  nlohmann::json steps = nlohmann::json::array();
  for (const plans::Plan& sub : shadows_) {
    for (const nlohmann::json& j : Runner(sub, catalog_, LockMode::kNone).Status().at("steps")) steps.push_back(j);
  }
  for (const plans::Step& step : plan_.steps) {
    if (step.params.count("shadow")) continue;
    const StepState& st = states_[step.id];
    steps.push_back({{"id", step.id}, {"kind", plans::StepKindName(step.kind)}, {"database", step.database},
                     {"status", st.status}, {"rows_done", st.rows_done}, {"detail", st.detail}});
  }
  return {{"plan", plan_.header.name}, {"steps", steps}, {"changelog_backlog", nlohmann::json::object()}};
}

}  // namespace shardshift::executors
