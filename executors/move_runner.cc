#include "executors/move_runner.h"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "db/error.h"
#include "executors/failpoint.h"
#include "executors/retry.h"
#include "planner/directory_sql.h"
#include "planner/fence_sql.h"
#include "planner/move_tables_planner.h"
#include "plans/toml_reader.h"

namespace shardshift::executors {

namespace {

// One table's comparison added to the group's.
void AddReport(VerifyReport& into, const VerifyReport& r) {
  into.chunks += r.chunks;
  into.chunks_differing += r.chunks_differing;
  into.source_rows += r.source_rows;
  into.target_rows += r.target_rows;
  into.differences_total += r.differences_total;
  into.differences.insert(into.differences.end(), r.differences.begin(), r.differences.end());
  into.pending.insert(into.pending.end(), r.pending.begin(), r.pending.end());
  into.keys_rechecked += r.keys_rechecked;
}

void Merge(ApplyResult& into, const ApplyResult& r) {
  into.would_run.insert(into.would_run.end(), r.would_run.begin(), r.would_run.end());
  into.timings.insert(into.timings.end(), r.timings.begin(), r.timings.end());
  into.ran.insert(into.ran.end(), r.ran.begin(), r.ran.end());
  into.warnings.insert(into.warnings.end(), r.warnings.begin(), r.warnings.end());
  into.dropped.insert(into.dropped.end(), r.dropped.begin(), r.dropped.end());
  into.undone.insert(into.undone.end(), r.undone.begin(), r.undone.end());
  into.rows_copied += r.rows_copied;
  into.copy_seconds = std::max(into.copy_seconds, r.copy_seconds);
  into.changes_replayed += r.changes_replayed;
  into.reverse_replayed += r.reverse_replayed;
  into.check_pauses += r.check_pauses;
  into.retries += r.retries;
  into.cleanup_pending = into.cleanup_pending || r.cleanup_pending;
  into.interrupted = into.interrupted || r.interrupted;
  if (r.verified) {
    into.verified = true;
    AddReport(into.verify, r.verify);
  }
}

}  // namespace

std::string MoveRunner::PlacementToml(const std::string& migration,
                                      const std::vector<std::pair<std::string, std::string>>& tables) {
  std::string out = "# shardshift table placement: the database that holds each table. Format: docs/move-tables.md\n";
  out += "[placement]\nformat_version = 1\nmigration = " + plans::TomlQuote(migration) + "\n\n[placement.tables]\n";
  for (const auto& [table, database] : tables) out += plans::TomlQuote(table) + " = " + plans::TomlQuote(database) + "\n";
  return out;
}

MoveRunner::MoveRunner(const plans::Plan& plan, const db::Catalog& catalog, LockMode lock,
                       std::chrono::milliseconds lock_wait)
    : keys_(plan.header.kind == "move_keys"), plan_(plan), catalog_(catalog) {
  const plans::Step& cut = GroupStep("cutover");
  directory_database_ = plans::StepParam(cut, "directory_database");
  if (keys_ && directory_database_.empty()) {
    throw db::Error(db::ErrorKind::kBadInput, "plan '" + plan_.header.name + "': its cutover step names no directory; plan again");
  }
  tables_ = plans::StepParamList(cut, "tables");
  source_ = plans::StepParam(cut, "source");
  target_ = plans::StepParam(cut, "target");
  if (tables_.empty() || source_.empty() || target_.empty()) {
    throw db::Error(db::ErrorKind::kBadInput, "plan '" + plan_.header.name +
                                                  "': its cutover step names no tables, source or target; plan again");
  }
  lock_timeout_ms_ = std::stoi(plans::StepParam(cut, "lock_timeout_ms", "2000"));
  retries_ = std::stoi(plans::StepParam(cut, "retries", "5"));
  parallel_ = static_cast<size_t>(std::max(1, std::stoi(plans::StepParam(cut, "parallel_sources", "2"))));
  subs_.reserve(tables_.size());
  for (const std::string& table : tables_) {
    plans::Plan sub;
    sub.header = plan_.header;
    sub.header.kind = "reshard";
    sub.header.name = plan_.header.name + "/" + table;
    sub.header.schema_fingerprints.clear();  // the group checks drift (foreign keys aside: it changes them)
    for (const plans::Step& s : plan_.steps) {
      if (plans::StepParam(s, "move_table") == table) sub.steps.push_back(s);
    }
    subs_.push_back(std::move(sub));
  }
  if (lock != LockMode::kNone) {
    lock_conn_ = catalog_.Connect(source_);
    if (!RunLock(*lock_conn_, plan_.header.name, lock == LockMode::kRequire ? lock_wait : std::chrono::milliseconds(0))
             .acquired() &&
        lock == LockMode::kRequire) {
      throw db::Error(db::ErrorKind::kBadInput, "another shardshift is running plan '" + plan_.header.name +
                                                    "' (it holds the run lock on database '" + source_ + "')");
    }
  }
  for (size_t i = 0; i < subs_.size(); ++i) {
    runners_.push_back(std::make_unique<Runner>(subs_[i], catalog_, lock, lock_wait));
    const std::string table = tables_[i];
    runners_.back()->revert_then_ = [this, table](db::Connection& target) { return CountersPast(target, table); };
  }
  const std::string home = source_;
  state_ = std::make_unique<RunState>([this, home] { return catalog_.Connect(home); }, plan_.header.name);
  states_ = state_->Load();
}

MoveRunner::~MoveRunner() = default;

const plans::Step* MoveRunner::FindStep(const std::string& id) const {
  for (const plans::Step& s : plan_.steps) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const plans::Step& MoveRunner::GroupStep(const std::string& id) const {
  if (const plans::Step* s = FindStep(id)) return *s;
  throw db::Error(db::ErrorKind::kBadInput, "plan '" + plan_.header.name + "' has no step " + id + "; plan again");
}

bool MoveRunner::Done(const std::string& step_id) const {
  auto it = states_.find(step_id);
  return it != states_.end() && it->second.status == "done";
}

void MoveRunner::CheckDrift() {
  const nlohmann::json fingerprints = nlohmann::json::parse(plans::StepParam(GroupStep("cutover"), "fingerprints", "{}"));
  auto conn = catalog_.Connect(source_);
  for (const std::string& table : tables_) {
    if (!fingerprints.contains(table)) continue;
    if (planner::MoveFingerprint(*conn, db::TableName::Parse(table)) != fingerprints.at(table).get<std::string>()) {
      throw db::Error(db::ErrorKind::kBadInput,
                      fmt::format("database '{}' no longer matches the plan: the schema of {} changed since it was "
                                  "planned (drift); plan again",
                                  source_, table));
    }
  }
}

void MoveRunner::RunSql(const plans::Step& step) {
  RunWithRetries(
      StepRetryPolicy(retries_),
      [&](int) {
        auto conn = catalog_.Connect(step.database);
        conn->SetLockTimeout(lock_timeout_ms_);
        for (const std::string& sql : step.sql) conn->Execute(sql);  // each idempotent
      },
      RealSleep,
      [&](int attempt, const std::exception& e) {
        spdlog::warn("{}: {}; retry {} of {}", step.id, e.what(), attempt, retries_);
      });
}

std::optional<CommandResult> MoveRunner::Hook(const std::string& name, const ApplyOptions& options) {
  const plans::Step& cut = GroupStep("cutover");
  const std::string command = plans::StepParam(cut, "hook." + name);
  if (command.empty()) return std::nullopt;
  const auto timeout = std::chrono::milliseconds(std::stoll(plans::StepParam(cut, "hook_timeout_ms", "30000")));
  std::map<std::string, std::string> env = {{"SHARDSHIFT_MIGRATION", plan_.header.name},
                                            {"SHARDSHIFT_HOOK", name},
                                            {"SHARDSHIFT_TABLES", fmt::format("{}", fmt::join(tables_, ","))},
                                            {"SHARDSHIFT_SOURCES", source_},
                                            {"SHARDSHIFT_TARGETS", target_},
                                            {"SHARDSHIFT_ROUTING_MAP", options.routing_path},
                                            {"SHARDSHIFT_DIRECTION", options.revert ? "revert" : "forward"}};
  spdlog::info("{}: running the {} hook (at most {} ms)", options.revert ? "revert" : "cutover", name, timeout.count());
  return RunCommand(command, env, timeout, options.stop);
}

void MoveRunner::Publish(const std::string& path, const std::vector<bool>& on_target) {
  if (keys_) {
    // The directory routes a key to one database for all its tables: it flips when they all have.
    if (std::any_of(on_target.begin(), on_target.end(), [](bool b) { return !b; })) {
      if (std::all_of(on_target.begin(), on_target.end(), [](bool b) { return !b; })) Unpublish();
      return;
    }
    auto conn = catalog_.Connect(directory_database_);
    conn->SetLockTimeout(lock_timeout_ms_);
    for (const std::string& sql : GroupStep("cutover").sql) conn->Execute(sql);
    return;
  }
  if (path.empty()) return;
  std::vector<std::pair<std::string, std::string>> tables;
  for (size_t i = 0; i < tables_.size(); ++i) tables.emplace_back(tables_[i], on_target[i] ? target_ : source_);
  plans::WriteFileAtomically(path, PlacementToml(plan_.header.name, tables), "routing file");
}

void MoveRunner::Unpublish() {
  const plans::Step& cut = GroupStep("cutover");
  auto conn = catalog_.Connect(directory_database_);
  conn->SetLockTimeout(lock_timeout_ms_);
  for (const std::string& sql : planner::DirectoryUpsertSql(conn->engine(),
                                                            db::TableName::Parse(plans::StepParam(cut, "directory_table")),
                                                            plans::StepParamList(cut, "keys"), source_,
                                                            plan_.header.name)) {
    conn->Execute(sql);
  }
}

std::vector<std::string> MoveRunner::CountersPast(db::Connection& from, const std::string& only_table) {
  const nlohmann::json counters = nlohmann::json::parse(plans::StepParam(GroupStep("cutover"), "counters", "[]"));
  const bool pg = from.engine() == db::Engine::kPostgres;
  std::vector<std::string> out;
  for (const nlohmann::json& c : counters) {
    if (!only_table.empty() && c.at(0).get<std::string>() != only_table) continue;
    const db::TableName table = db::TableName::Parse(c.at(0).get<std::string>());
    const std::string column = c.at(1).get<std::string>();
    if (pg) {
      const std::string t = db::QuoteTable(db::Engine::kPostgres, table);
      db::ResultSet r = from.Query("SELECT pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass) AS v",
                                   {t, column});
      if (r.rows.empty() || !r.At(0, "v")) continue;  // never drawn from
      // Never lowered: the other side may have drawn further already (a switch finished late).
      out.push_back(fmt::format(
          "SELECT setval(s, GREATEST({}, COALESCE(pg_sequence_last_value(s), 0)), true) FROM (SELECT "
          "pg_get_serial_sequence({}, {})::regclass AS s) q",
          r.Text(0, "v"), planner::SqlLiteral(db::Engine::kPostgres, t),
          planner::SqlLiteral(db::Engine::kPostgres, column)));
    } else {
      db::ResultSet r = from.Query(
          "SELECT AUTO_INCREMENT AS v FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
          "TABLE_NAME = ?",
          {table.name});
      if (r.rows.empty() || !r.At(0, "v")) continue;
      // InnoDB never sets it below the column's largest value + 1.
      out.push_back(fmt::format("ALTER TABLE {} AUTO_INCREMENT = {}", db::QuoteTable(db::Engine::kMySQL, table),
                                r.Text(0, "v")));
    }
  }
  return out;
}

std::vector<std::string> MoveRunner::TargetThen(const std::function<db::Connection&(const std::string&)>& source_conn) {
  std::vector<std::string> out = plans::StepParamList(GroupStep("cutover"), "target_foreign_keys");
  std::vector<std::string> counters = CountersPast(source_conn(source_), "");
  out.insert(out.end(), counters.begin(), counters.end());
  return out;
}

void MoveRunner::FinishSwitch(std::vector<Runner::CutoverMember>& members, const ApplyOptions& options,
                              ApplyResult& result) {
  result.warnings.push_back(
      "every moved table's source was fenced by a run that stopped before it recorded the cutover: the switch was "
      "decided there, so this run finished it");
  Runner& lead = *members.front().runner;
  db::Connection& target = lead.conns_.Get(target_);
  // Before the targets open: the foreign keys and counters (each statement idempotent).
  for (const std::string& sql : TargetThen([&](const std::string& name) -> db::Connection& { return lead.conns_.Get(name); })) {
    target.Execute(sql);
  }
  for (Runner::CutoverMember& m : members) {
    if (m.st->status == "done") continue;
    for (const Runner::TargetSide& side : m.runner->handover_.sides) {
      for (const std::string& sql : side.unfence) m.runner->conns_.Get(side.database).Execute(sql);
    }
  }
  Publish(options.routing_path, std::vector<bool>(tables_.size(), true));
  result.routing_published = !options.routing_path.empty();
  if (auto r = Hook("during_cutover", options); r && !r->ok()) {
    result.warnings.push_back(fmt::format("the during_cutover hook failed ({}) while finishing an interrupted cutover; "
                                          "the switch stands (apply --revert switches back)",
                                          r->Describe()));
  }
  KillPoint("step.ran");
  for (Runner::CutoverMember& m : members) {
    if (m.st->status == "done") continue;
    m.st->status = "done";
    m.st->detail = "switched with the group (finished after an interrupted run)";
    m.runner->state_->Save(m.step->id, *m.st);
  }
  if (auto r = Hook("after_cutover", options); r && !r->ok()) {
    result.warnings.push_back(fmt::format("the after_cutover hook failed ({}); the cutover itself is done", r->Describe()));
  }
}

void MoveRunner::Cutover(const ApplyOptions& options, ApplyResult& result) {
  std::vector<Runner::CutoverMember> members;
  for (const std::unique_ptr<Runner>& r : runners_) {
    const plans::Step* step = r->CutoverStep();
    if (step == nullptr) throw db::Error(db::ErrorKind::kBadInput, "a table of plan '" + plan_.header.name + "' has no cutover part; plan again");
    members.push_back({r.get(), step, &r->states_[step->id]});
  }
  if (std::all_of(members.begin(), members.end(), [](const auto& m) { return m.st->status == "done"; })) return;
  std::vector<Runner::CutoverMember*> fenced;
  for (Runner::CutoverMember& m : members) {
    if (m.st->status == "done" || m.runner->SourcesFencedBySwitch()) fenced.push_back(&m);
  }
  if (fenced.size() == members.size()) {
    FinishSwitch(members, options, result);
    return;
  }
  for (Runner::CutoverMember* m : fenced) {
    // MariaDB: a run killed while it fenced the sources one table at a time. Not every table was
    // fenced, so nothing switched (the targets are still fenced): the sources take writes again.
    Runner& r = *m->runner;
    for (const std::string& s : r.sources_) {
      for (const std::string& sql : r.handover_.unfence_sources) r.conns_.Get(s).Execute(sql);
    }
    result.warnings.push_back("took down the fence on " + r.params_.table +
                              " that an interrupted cutover had put up before it fenced every table; the sources "
                              "stay in use until this cutover switches them all");
  }
  if (!keys_ && !options.routing_path.empty() && std::filesystem::exists(options.routing_path)) {
    std::filesystem::remove(options.routing_path);
    result.warnings.push_back("withdrew the routing file " + options.routing_path +
                              " that an interrupted cutover had published: the sources are still in use");
  }
  if (auto r = Hook("before_cutover", options); r && !r->ok()) {
    throw CutoverAborted(fmt::format("the before_cutover hook refused the cutover ({}); nothing was blocked, the "
                                     "sources stay in use and capture keeps recording; run apply again to retry",
                                     r->Describe()));
  }
  Runner::CutoverGroup group;
  group.routing_path = options.routing_path;
  if (!options.routing_path.empty() || keys_) {
    group.publish = [&] { Publish(options.routing_path, std::vector<bool>(tables_.size(), true)); };
  }
  if (keys_) group.unpublish = [&] { Unpublish(); };
  group.hook = [&](const std::string& name) { return Hook(name, options); };
  group.target_then = [&](const std::string& target, const std::function<db::Connection&(const std::string&)>& source_conn) {
    return target == target_ ? TargetThen(source_conn) : std::vector<std::string>{};
  };
  group.target_undo = plans::StepParamList(GroupStep("cutover"), "target_foreign_keys_undo");
  RunWithRetries(
      StepRetryPolicy(retries_), [&](int) { Runner::CutoverWindow(members, group, options, result); }, RealSleep,
      [&](int attempt, const std::exception& e) {
        spdlog::warn("cutover: {}; retry {} of {}", e.what(), attempt, retries_);
        for (const std::unique_ptr<Runner>& r : runners_) r->conns_.Reset();
      });
}

ApplyResult MoveRunner::Apply(const ApplyOptions& options) {
  ApplyResult result;
  if (options.follow) {
    throw db::Error(db::ErrorKind::kBadInput, "--follow is not available for move_tables plans yet: run apply --until "
                                              "cutover, then apply (its cutover catches up before it blocks writes)");
  }
  if (options.abandon) {
    Abandon(options, result);
    return result;
  }
  if (options.revert) {
    if (!options.dry_run) Revert(options, result);
    return result;
  }
  if (options.cleanup && !Done("cutover")) {
    throw db::Error(db::ErrorKind::kBadInput,
                    "apply --cleanup refused: the cutover of plan '" + plan_.header.name +
                        "' has not run, so the sources are still in use; run `shardshift apply` to finish the plan "
                        "first, or `apply --abandon` to give it up (nothing was changed)");
  }
  if (Done("cutover")) {
    for (const std::unique_ptr<Runner>& r : runners_) {
      const plans::Step* part = r->CutoverStep();
      if (part != nullptr && !r->Done(part->id)) {
        throw db::Error(db::ErrorKind::kBadInput,
                        "plan '" + plan_.header.name + "': a revert was interrupted after it switched " +
                            r->params_.table + " back; run `shardshift apply --revert` to finish it (nothing was "
                                               "changed)");
      }
    }
  }
  CheckDrift();
  catalog_.Connect(target_);  // the target answers before anything starts
  if (!options.dry_run) state_->EnsureTable();
  std::vector<const plans::Step*> group_steps;
  for (const plans::Step& s : plan_.steps) {
    if (plans::StepParam(s, "move_table").empty()) group_steps.push_back(&s);
  }
  result.done_before = std::all_of(group_steps.begin(), group_steps.end(), [&](const plans::Step* s) { return Done(s->id); });
  // Each table up to the group's cutover, in parallel.
  ApplyOptions before = options;
  before.cleanup = false;
  before.until = options.until.empty() ? "cutover" : options.until;
  std::mutex mu;
  if (options.on_step) {
    before.on_step = [&](const StepTiming& t) {
      std::lock_guard<std::mutex> hold(mu);
      options.on_step(t);
    };
  }
  std::vector<ApplyResult> each(runners_.size());
  std::vector<std::exception_ptr> failures(runners_.size());
  {
    std::atomic<size_t> next{0};
    // Once a table has switched its runner waits for the group's steps: its way back writes the
    // source copies, which keep the group's foreign keys until release_source_foreign_keys.
    auto work = [&] {
      for (size_t i = next++; i < runners_.size(); i = next++) {
        const plans::Step* part = runners_[i]->CutoverStep();
        if (part != nullptr && runners_[i]->Done(part->id)) {
          each[i].done_before = std::all_of(subs_[i].steps.begin(), subs_[i].steps.end(),
                                            [&](const plans::Step& s) { return runners_[i]->Done(s.id); });
          continue;
        }
        try {
          each[i] = runners_[i]->Apply(before);
        } catch (...) {
          failures[i] = std::current_exception();
        }
      }
    };
    std::vector<std::thread> workers;
    for (size_t w = 0; w < std::min(parallel_, runners_.size()); ++w) workers.emplace_back(work);
    for (std::thread& t : workers) t.join();
  }
  for (size_t i = 0; i < runners_.size(); ++i) {
    Merge(result, each[i]);
    result.done_before = result.done_before && each[i].done_before;
    const plans::Step* part = runners_[i]->CutoverStep();
    if (!each[i].stopped_before.empty() && (part == nullptr || each[i].stopped_before != part->id) &&
        result.stopped_before.empty()) {
      result.stopped_before = each[i].stopped_before;
    }
  }
  for (const std::exception_ptr& f : failures) {
    if (f) std::rethrow_exception(f);
  }
  if (result.interrupted || !result.stopped_before.empty()) return result;
  // The group's steps, in the plan's order.
  for (const plans::Step* step : group_steps) {
    if (Done(step->id)) continue;
    if (!options.until.empty() && plans::StepKindName(step->kind) == options.until) {
      result.stopped_before = step->id;
      return result;
    }
    if (options.dry_run) {
      result.would_run.push_back(step->id);
      continue;
    }
    if (options.stop != nullptr && *options.stop) {
      result.interrupted = true;
      return result;
    }
    spdlog::info("step {}: {}", step->id, step->description);
    const double started = SteadySeconds();
    if (step->kind == plans::StepKind::kCutover) {
      Cutover(options, result);
    } else {
      RunSql(*step);
      KillPoint("step.ran");
    }
    StepState& st = states_[step->id];
    st.status = "done";
    if (step->kind == plans::StepKind::kCutover && st.detail.empty()) {
      st.detail = result.write_blocked_ms >= 0 ? fmt::format("writes to {} tables blocked for {} ms", tables_.size(),
                                                             result.write_blocked_ms)
                                               : "switched";
    }
    state_->Save(step->id, st);
    result.ran.push_back(step->id);
    Finished(result, options, {step->id, started, SteadySeconds() - started});
  }
  if (options.dry_run) return result;
  // Each table after the switch: its way back (until cleanup), and cleanup when asked.
  ApplyOptions after = options;
  after.until = "cutover";  // never a table's own cutover: the group switches them
  after.routing_path.clear();  // the group publishes the routing file
  result.cleanup_pending = false;
  for (const std::unique_ptr<Runner>& r : runners_) {
    ApplyResult one = r->Apply(after);
    Merge(result, one);
  }
  return result;
}

void MoveRunner::Abandon(const ApplyOptions& options, ApplyResult& result) {
  if (Done("cutover")) {
    throw db::Error(db::ErrorKind::kBadInput, "plan '" + plan_.header.name +
                                                  "' has switched (its cutover ran): --abandon is refused; apply "
                                                  "--revert switches back within the window");
  }
  for (const std::unique_ptr<Runner>& r : runners_) Merge(result, r->Apply(options));
  const plans::Step* drop = FindStep("drop_foreign_keys");
  if (drop != nullptr && Done(drop->id)) {
    // The foreign keys it dropped come back (NOT VALID on PostgreSQL; MariaDB without checking).
    auto conn = catalog_.Connect(drop->database);
    conn->SetLockTimeout(lock_timeout_ms_);
    for (const std::string& sql : drop->undo) {
      result.undone.push_back(drop->id + " on " + drop->database + ": " + sql);
      if (!options.dry_run) conn->Execute(sql);
    }
  }
  if (!options.dry_run) {
    state_->Forget();
    states_.clear();
  }
  result.abandoned = !options.dry_run;
}

void MoveRunner::Revert(const ApplyOptions& options, ApplyResult& result) {
  if (!Done("cutover")) {
    throw db::Error(db::ErrorKind::kBadInput, "plan '" + plan_.header.name +
                                                  "' has not switched (its cutover has not run): the sources are "
                                                  "still in use, there is nothing to revert");
  }
  if (keys_) {
    RevertKeys(options, result);
    return;
  }
  if (auto r = Hook("before_cutover", options); r && !r->ok()) {
    throw CutoverAborted(fmt::format("the before_cutover hook refused the revert ({}); nothing was blocked, the "
                                     "target stays in use",
                                     r->Describe()));
  }
  ApplyOptions each = options;
  each.routing_path.clear();  // the group's routing file is rewritten here, table by table
  std::vector<bool> on_target(tables_.size(), true);
  for (size_t i = 0; i < runners_.size(); ++i) {
    const plans::Step* part = runners_[i]->CutoverStep();
    if (part != nullptr && !runners_[i]->Done(part->id)) {
      on_target[i] = false;  // reverted by an earlier, interrupted run
      continue;
    }
    ApplyResult r = runners_[i]->Apply(each);
    Merge(result, r);
    result.write_blocked_ms = std::max(result.write_blocked_ms, r.write_blocked_ms);
    on_target[i] = false;
    Publish(options.routing_path, on_target);
  }
  // The foreign keys among the moved tables: back on the source (which takes the writes again),
  // off the target (which replay writes again, one table at a time).
  auto source = catalog_.Connect(source_);
  source->SetLockTimeout(lock_timeout_ms_);
  if (const plans::Step* release = FindStep("release_source_foreign_keys"); release && Done(release->id)) {
    for (const std::string& sql : release->undo) source->Execute(sql);
  }
  auto target = catalog_.Connect(target_);
  target->SetLockTimeout(lock_timeout_ms_);
  for (const std::string& sql : plans::StepParamList(GroupStep("cutover"), "target_foreign_keys_undo")) target->Execute(sql);
  RecordReverted();
  result.reverted = true;
  result.ran.push_back("revert");
  // The tables switched back one by one, so there is no one window to undo: the hooks hear of the
  // whole group once it is back (SHARDSHIFT_DIRECTION=revert), and their failures are reported.
  for (const char* name : {"during_cutover", "after_cutover"}) {
    if (auto r = Hook(name, options); r && !r->ok()) {
      result.warnings.push_back(fmt::format("the {} hook failed ({}); the revert itself is done", name, r->Describe()));
    }
  }
}

void MoveRunner::RecordReverted() {
  for (const char* id : {"cutover", "validate_foreign_keys", "release_source_foreign_keys"}) {
    if (states_.count(id) == 0) continue;
    StepState& st = states_[id];
    st.status = "pending";  // the next apply switches forward again
    st.detail = std::string(id) == "cutover" ? "reverted" : "";
    state_->Save(id, st);
  }
}

void MoveRunner::RevertKeys(const ApplyOptions& options, ApplyResult& result) {
  // The tables not yet back (a run killed as it recorded them left some recorded).
  std::vector<Runner::CutoverMember> members;
  for (const std::unique_ptr<Runner>& r : runners_) {
    const plans::Step* part = r->CutoverStep();
    if (part == nullptr) throw db::Error(db::ErrorKind::kBadInput, "a table of plan '" + plan_.header.name + "' has no cutover part; plan again");
    if (!r->Done(part->id)) continue;
    r->CheckRevertable();
    members.push_back({r.get(), part, &r->states_[part->id]});
  }
  if (!members.empty()) {
    // One window for every table: they share the keys' gate on each database, so none can switch
    // back alone, and the directory points the keys back when they all have.
    Runner::CutoverGroup group;
    group.publish = [&] { Publish("", std::vector<bool>(tables_.size(), true)); };
    group.unpublish = [&] { Unpublish(); };
    group.hook = [&](const std::string& name) { return Hook(name, options); };
    RunWithRetries(
        StepRetryPolicy(retries_), [&](int) { Runner::RevertWindow(members, group, options, result); }, RealSleep,
        [&](int attempt, const std::exception& e) {
          spdlog::warn("revert: {}; retry {} of {}", e.what(), attempt, retries_);
          for (const std::unique_ptr<Runner>& r : runners_) r->conns_.Reset();
        });
  } else {
    result.reverted = true;
    result.ran.push_back("revert");
  }
  RecordReverted();
}

VerifyReport MoveRunner::Verify(bool full) {
  if (const plans::Step* release = FindStep("release_source_foreign_keys");
      release && Done("cutover") && !Done(release->id)) {
    throw db::Error(db::ErrorKind::kBadInput,
                    "plan '" + plan_.header.name + "' switched but its step " + release->id +
                        " has not run, and verify would copy the targets' changes back through those keys: run "
                        "`shardshift apply` first");
  }
  VerifyReport out;
  for (size_t i = 0; i < runners_.size(); ++i) {
    VerifyReport r = runners_[i]->Verify(full);
    for (Difference& d : r.differences) d.where = tables_[i] + ": " + d.where;
    AddReport(out, r);
    if (r.reused_from > 0) out.reused_from = out.reused_from == 0 ? r.reused_from : std::min(out.reused_from, r.reused_from);
    if (!r.nothing_to_compare.empty()) out.nothing_to_compare = r.nothing_to_compare;
  }
  return out;
}

nlohmann::json MoveRunner::Status() {
  states_ = state_->Load();
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json backlog = nlohmann::json::object();
  nlohmann::json tables = nlohmann::json::object();
  for (size_t i = 0; i < runners_.size(); ++i) {
    nlohmann::json s = runners_[i]->Status();
    for (const nlohmann::json& j : s.at("steps")) steps.push_back(j);
    for (const auto& [db, n] : s.at("changelog_backlog").items()) backlog[tables_[i] + "@" + db] = n;
    tables[tables_[i]] = s.value("direction", "forward");
  }
  for (const plans::Step& step : plan_.steps) {
    if (!plans::StepParam(step, "move_table").empty()) continue;
    const StepState& st = states_[step.id];
    steps.push_back({{"id", step.id}, {"kind", plans::StepKindName(step.kind)}, {"database", step.database},
                     {"status", st.status}, {"rows_done", st.rows_done}, {"detail", st.detail}});
  }
  // The group's direction is its tables' when they agree (they differ only while a revert runs).
  std::string direction;
  for (const auto& [table, d] : tables.items()) {
    direction = direction.empty() || direction == d.get<std::string>() ? d.get<std::string>() : "mixed";
  }
  return {{"plan", plan_.header.name}, {"steps", steps}, {"changelog_backlog", backlog}, {"tables", tables},
          {"direction", direction}};
}

}  // namespace shardshift::executors
