#include "executors/runner.h"

#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "db/error.h"
#include "db/row_sql.h"
#include "executors/backfill.h"
#include "executors/replay.h"
#include "executors/retry.h"
#include "plans/routing.h"

namespace shardshift::executors {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> JsonList(const std::string& text) {
  return nlohmann::json::parse(text).get<std::vector<std::string>>();
}

std::string CursorText(const std::optional<db::KeyValues>& cursor) {
  return cursor ? nlohmann::json(*cursor).dump() : "";
}

std::optional<db::KeyValues> CursorFrom(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return JsonList(text);
}

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

VerificationFailed::VerificationFailed(VerifyReport report)
    : std::runtime_error(fmt::format("verification found {} difference(s)", report.differences_total)),
      report_(std::move(report)) {}

Runner::Runner(const plans::Plan& plan, const db::Catalog& catalog, bool take_lock)
    : plan_(plan), catalog_(catalog) {
  for (const plans::Step& s : plan_.steps) {
    if (s.params.count("table")) {
      params_ = s.params;
      break;
    }
  }
  if (plan_.header.kind != "reshard" || params_.empty()) {
    throw db::Error(db::ErrorKind::kBadInput, "this plan is not a reshard plan that shardshift can apply");
  }
  sources_ = JsonList(params_.at("sources"));
  targets_ = JsonList(params_.at("targets"));
  key_ = JsonList(params_.at("key"));
  columns_ = JsonList(params_.at("columns"));
  if (take_lock) {
    lock_conn_ = catalog_.Connect(sources_.at(0));
    RunLock lock(*lock_conn_, plan_.header.name);
    if (!lock.acquired()) {
      throw db::Error(db::ErrorKind::kBadInput,
                      "another shardshift is applying plan '" + plan_.header.name + "' (it holds the run lock on "
                      "database '" + sources_[0] + "'); wait for it or stop it first");
    }
  }
  state_ = std::make_unique<RunState>(Conn(sources_.at(0)), plan_.header.name);
  states_ = state_->Load();
}

Runner::~Runner() = default;

db::Connection& Runner::Conn(const std::string& name) {
  auto it = conns_.find(name);
  if (it != conns_.end() && it->second->Usable()) return *it->second;
  auto conn = catalog_.Connect(name);
  conn->SetLockTimeout(static_cast<int>(std::stoll(params_.count("lock_timeout_ms") ? params_.at("lock_timeout_ms") : "2000")));
  db::Connection& ref = *conn;
  conns_[name] = std::move(conn);
  return ref;
}

TableMapping Runner::Mapping() const {
  return {db::TableName::Parse(params_.at("table")), db::TableName::Parse(params_.at("target_table")), key_, columns_};
}

Router Runner::MakeRouter() const {
  const int32_t n = static_cast<int32_t>(targets_.size());
  return [n](const db::KeyValues& k) { return static_cast<size_t>(plans::ShardForKey(k, n)); };
}

void Runner::CheckDrift() {
  const db::TableName table = db::TableName::Parse(params_.at("table"));
  for (const auto& [name, expected] : plan_.header.schema_fingerprints) {
    db::SchemaInfo schema = Conn(name).Introspect({table.schema, table.name, false});
    if (db::Fingerprint(schema) != expected) {
      throw db::Error(db::ErrorKind::kBadInput,
                      fmt::format("database '{}' no longer matches the plan: the schema of {} changed since it was "
                                  "planned (drift); plan again", name, params_.at("table")));
    }
  }
}

void Runner::RunSql(const plans::Step& step) {
  db::Connection& conn = Conn(step.database);
  RetryPolicy policy;
  policy.max_attempts = static_cast<int>(std::stoll(params_.count("retries") ? params_.at("retries") : "5")) + 1;
  for (const std::string& sql : step.sql) {
    RunWithRetries(policy, [&](int) { conn.Execute(sql); }, RealSleep,
                   [&](int n, const std::exception& e) { spdlog::warn("{}: attempt {} failed, retrying: {}", step.id, n, e.what()); });
  }
}

void Runner::RunBackfill(const plans::Step& step, const ApplyOptions& options, ApplyResult& result) {
  const std::string source = step.params.at("source");
  std::vector<db::Connection*> targets;
  for (const std::string& t : targets_) targets.push_back(&Conn(t));
  TableMapping mapping = Mapping();
  TargetWriter writer(mapping, targets, MakeRouter());
  Backfill backfill(mapping, Conn(source), writer);
  Replay replay(mapping, db::TableName::Parse(params_.at("changelog")), Conn(source), writer);
  StepState& st = states_[step.id];
  std::optional<db::KeyValues> cursor = CursorFrom(st.cursor);
  const int64_t chunk = std::stoll(params_.at("chunk_rows"));
  auto started = Clock::now();
  auto last_log = started;
  int64_t copied_here = 0;
  while (true) {
    ChunkResult c = backfill.CopyChunk(cursor, chunk);
    cursor = c.cursor;
    st.rows_done += c.rows_read;
    copied_here += c.rows_read;
    st.cursor = CursorText(cursor);
    st.status = c.done ? "done" : "running";
    st.rows_per_second = static_cast<double>(copied_here) / std::max(Since(started), 1e-3);
    st.detail = fmt::format("{} rows copied", st.rows_done);
    state_->Save(step.id, st);
    result.changes_replayed += replay.ApplyBatch(cursor, c.done, 1000).entries;
    if (c.done) break;
    if (options.max_rows_per_second > 0) {
      double ahead = static_cast<double>(copied_here) / static_cast<double>(options.max_rows_per_second) - Since(started);
      if (ahead > 0) std::this_thread::sleep_for(std::chrono::duration<double>(ahead));
    }
    if (Since(last_log) > 5) {
      spdlog::info("{}: {} rows copied, {:.0f} rows/s", step.id, st.rows_done, copied_here / Since(started));
      last_log = Clock::now();
    }
  }
  result.rows_copied += copied_here;
  result.copy_seconds += Since(started);
}

void Runner::RunReplay(const std::string& source, ApplyResult& result, bool backfill_done) {
  std::vector<db::Connection*> targets;
  for (const std::string& t : targets_) targets.push_back(&Conn(t));
  TableMapping mapping = Mapping();
  TargetWriter writer(mapping, targets, MakeRouter());
  Replay replay(mapping, db::TableName::Parse(params_.at("changelog")), Conn(source), writer);
  while (true) {
    int64_t n = replay.ApplyBatch(std::nullopt, backfill_done, 1000).entries;
    result.changes_replayed += n;
    if (n == 0) break;
  }
}

void Runner::RunCutover(const ApplyOptions& options, ApplyResult& result) {
  const db::TableName table = db::TableName::Parse(params_.at("table"));
  const int retries = static_cast<int>(std::stoll(params_.count("retries") ? params_.at("retries") : "5"));
  // One connection per source holds the write block; none of them is used for anything else.
  std::vector<std::unique_ptr<db::Connection>> lockers;
  auto release = [&] {
    for (auto& l : lockers) {
      try {
        if (l->engine() == db::Engine::kPostgres) {
          l->Rollback();
        } else {
          l->Execute("UNLOCK TABLES");
        }
      } catch (const db::Error& e) {
        spdlog::warn("releasing the write block: {}", e.what());
      }
    }
    lockers.clear();
  };
  Clock::time_point blocked;
  for (int attempt = 1;; ++attempt) {
    try {
      for (const std::string& s : sources_) {
        auto l = catalog_.Connect(s);
        l->SetLockTimeout(static_cast<int>(std::stoll(params_.at("lock_timeout_ms"))));
        if (lockers.empty()) blocked = Clock::now();
        if (l->engine() == db::Engine::kPostgres) {
          l->Begin();
          l->Execute("LOCK TABLE " + l->Quote(table) + " IN EXCLUSIVE MODE");
        } else {
          l->Execute("LOCK TABLES " + l->Quote(table) + " READ");
        }
        lockers.push_back(std::move(l));
      }
      break;
    } catch (const db::Error& e) {
      release();
      if (!e.retryable() || attempt > retries) {
        throw db::Error(e.kind(), std::string("cutover gave up blocking writes, the sources are writable again: ") + e.what());
      }
      spdlog::warn("cutover: could not block writes (attempt {}): {}; retrying", attempt, e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    }
  }
  try {
    for (const std::string& s : sources_) RunReplay(s, result, true);  // drain: nothing new can arrive
    plans::RoutingMap map;
    map.table = params_.at("target_table");
    map.key = key_;
    map.shards = targets_;
    if (!options.routing_path.empty()) {
      std::ofstream out(options.routing_path, std::ios::trunc);
      out << plans::WriteRoutingToml(map);
      if (!out) throw std::runtime_error("cannot write the routing map " + options.routing_path);
    }
  } catch (...) {
    release();
    throw;
  }
  release();
  result.write_blocked_ms = static_cast<int64_t>(Since(blocked) * 1000);
}

ApplyResult Runner::Apply(const ApplyOptions& options) {
  ApplyResult result;
  CheckDrift();
  if (!options.dry_run) state_->EnsureTable();
  for (const std::string& db : sources_) Conn(db);
  for (const std::string& db : targets_) Conn(db);
  for (const plans::Step& step : plan_.steps) {
    StepState& st = states_[step.id];
    if (st.status == "done") continue;
    if (step.kind == plans::StepKind::kCleanup && !options.cleanup) {
      result.cleanup_pending = true;
      continue;
    }
    if (!options.until.empty() && plans::StepKindName(step.kind) == options.until) {
      result.stopped_before = step.id;
      break;
    }
    if (options.dry_run) {
      result.would_run.push_back(step.id + " [" + std::string(plans::StepKindName(step.kind)) + "] on " + step.database);
      continue;
    }
    spdlog::info("step {}: {}", step.id, step.description);
    switch (step.kind) {
      case plans::StepKind::kSql:
      case plans::StepKind::kCapture:
      case plans::StepKind::kCleanup:
        RunSql(step);
        break;
      case plans::StepKind::kBackfill:
        RunBackfill(step, options, result);
        break;
      case plans::StepKind::kReplay:
        RunReplay(step.params.at("source"), result, true);
        break;
      case plans::StepKind::kVerify: {
        // A replay step done in an earlier run says nothing of writes made since: catch up first,
        // so that verification compares the targets with the source as of now.
        for (const std::string& s : sources_) RunReplay(s, result, true);
        result.verify = Verify();
        // The application keeps writing: a key changed after the drain may differ only until its
        // change is replayed. Drain again and re-compare just those keys, a bounded number of times.
        for (int round = 0; round < 5 && !result.verify.ok(); ++round) {
          for (const std::string& s : sources_) RunReplay(s, result, true);
          Recheck(result.verify);
        }
        result.verified = true;
        if (!result.verify.ok()) {
          st.status = "failed";
          st.detail = fmt::format("{} difference(s)", result.verify.differences_total);
          state_->Save(step.id, st);
          throw VerificationFailed(result.verify);
        }
        st.detail = fmt::format("{} rows in {} chunks agree", result.verify.source_rows, result.verify.chunks);
        break;
      }
      case plans::StepKind::kCutover:
        RunCutover(options, result);
        st.detail = fmt::format("writes blocked for {} ms", result.write_blocked_ms);
        break;
      default:
        throw db::Error(db::ErrorKind::kBadInput, "step kind " + std::string(plans::StepKindName(step.kind)) +
                                                      " is not part of a reshard");
    }
    st.status = "done";
    state_->Save(step.id, st);
    result.ran.push_back(step.id);
  }
  return result;
}

void Runner::Recheck(VerifyReport& report) {
  if (report.differences_total > static_cast<int64_t>(report.differences.size())) return;  // too many to recheck
  TableMapping mapping = Mapping();
  Router route = MakeRouter();
  auto row_of = [&](db::Connection& c, const db::TableName& table, const db::KeyValues& key) -> std::optional<db::Row> {
    db::RowSql rows(c.engine(), table, mapping.key, mapping.columns);
    db::SqlText q = rows.SelectByKeys({key});
    db::ResultSet r = c.Query(q.sql, q.params);
    if (r.rows.empty()) return std::nullopt;
    return r.rows[0];
  };
  std::vector<Difference> still;
  for (const Difference& d : report.differences) {
    if (d.kind == DifferenceKind::kWrongShard) {
      still.push_back(d);
      continue;
    }
    std::optional<db::Row> source;
    for (const std::string& s : sources_) {
      if (!source) source = row_of(Conn(s), mapping.source, d.key);
    }
    std::optional<db::Row> target = row_of(Conn(targets_.at(route(d.key))), mapping.target, d.key);
    if (source != target) still.push_back(d);
  }
  report.differences = still;
  report.differences_total = static_cast<int64_t>(still.size());
}

VerifyReport Runner::Verify() {
  std::vector<db::Connection*> sources;
  for (const std::string& s : sources_) sources.push_back(&Conn(s));
  std::vector<db::Connection*> targets;
  for (const std::string& t : targets_) targets.push_back(&Conn(t));
  Verifier verifier(Mapping(), sources, targets, targets_, MakeRouter(), std::stoll(params_.at("chunk_rows")));
  return verifier.Run(100'000);  // enough to re-check them all; printing shows fewer
}

nlohmann::json Runner::Status() {
  states_ = state_->Load();
  nlohmann::json steps = nlohmann::json::array();
  for (const plans::Step& step : plan_.steps) {
    const StepState& st = states_[step.id];
    nlohmann::json j = {{"id", step.id}, {"kind", plans::StepKindName(step.kind)}, {"database", step.database},
                        {"status", st.status}, {"rows_done", st.rows_done}, {"detail", st.detail}};
    if (step.kind == plans::StepKind::kBackfill) {
      j["rows_per_second"] = st.rows_per_second;
      if (step.estimate.rows > 0) {
        j["percent"] = std::min(100.0, 100.0 * static_cast<double>(st.rows_done) / static_cast<double>(step.estimate.rows));
      }
      if (st.status != "done" && st.rows_per_second > 0) {
        j["eta_seconds"] = std::max<double>(0, static_cast<double>(step.estimate.rows - st.rows_done) / st.rows_per_second);
      }
    }
    steps.push_back(j);
  }
  nlohmann::json backlog = nlohmann::json::object();
  const db::TableName changelog = db::TableName::Parse(params_.at("changelog"));
  for (const std::string& s : sources_) {
    try {
      db::Connection& c = Conn(s);
      backlog[s] = std::stoll(c.Query("SELECT COUNT(*) AS n FROM " + c.Quote(changelog)).Text(0, "n"));
    } catch (const db::Error&) {
      backlog[s] = nullptr;  // capture not installed (yet, or any more)
    }
  }
  return {{"plan", plan_.header.name}, {"steps", steps}, {"changelog_backlog", backlog}};
}

}  // namespace shardshift::executors
