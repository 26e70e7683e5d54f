#include "executors/runner.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "db/error.h"
#include "db/row_sql.h"
#include "executors/backfill.h"
#include "executors/command.h"
#include "executors/failpoint.h"
#include "executors/pacing.h"
#include "executors/progress.h"
#include "executors/replay.h"
#include "executors/retry.h"
#include "executors/wait_all.h"
#include "plans/routing.h"

namespace shardshift::executors {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kReplayBatch = 1000;
constexpr int64_t kReplayBatchMax = 5000;
constexpr size_t kCutoverCheckedKeys = 2000;

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


}  // namespace

struct Runner::Shared {
  Throttle& throttle;
  CheckGate& gate;
  Progress& progress;
  std::atomic<bool>& stop;
  const std::atomic<bool>* interrupt;  // SIGINT/SIGTERM (ApplyOptions::stop); may be null
};

VerificationFailed::VerificationFailed(VerifyReport report)
    : std::runtime_error(fmt::format("verification found {} difference(s)", report.differences_total)),
      report_(std::move(report)) {}

Runner::Runner(const plans::Plan& plan, const db::Catalog& catalog, LockMode lock,
               std::chrono::milliseconds lock_wait)
    : plan_(plan), catalog_(catalog), params_(plans::ReadCopyParams(plan)), conns_(catalog, 2000),
      lock_wait_(lock_wait) {
  sources_ = params_.sources;
  targets_ = params_.targets;
  key_ = params_.key;
  shard_by_ = params_.shard_by;
  columns_ = params_.columns;
  const db::TableName table = db::TableName::Parse(params_.table);
  if (!params_.outputs.empty()) {
    for (const plans::CopyOutput& o : params_.outputs) {
      Output out;
      out.mapping = {table, db::TableName::Parse(o.table), key_, o.columns, o.target_columns, "", ""};
      out.databases = {o.database};
      out.names = {o.database + ":" + o.table};
      out.router = [](const db::KeyValues&) { return size_t{0}; };
      outputs_.push_back(std::move(out));
    }
  } else {
    outputs_.push_back({{table, db::TableName::Parse(params_.target_table), key_, columns_, {}, params_.row_filter, ""},
                        targets_, targets_, MakeRouter()});
  }
  if (params_.cutover) LoadHandover(*params_.cutover);
  source_layout_ = params_.source_layout;
  for (const plans::KeyRange& range : params_.source_ranges) source_ranges_.emplace_back(range.from, range.to);
  lock_timeout_ms_ = static_cast<int>(params_.pace.lock_timeout_ms);
  retries_ = static_cast<int>(params_.pace.retries);
  conns_.set_lock_timeout_ms(lock_timeout_ms_);
  if (lock != LockMode::kNone) {
    lock_conn_ = catalog_.Connect(sources_.at(0));
    lock_held_ = RunLock(*lock_conn_, plan_.header.name,
                         lock == LockMode::kRequire ? lock_wait_ : std::chrono::milliseconds(0))
                     .acquired();
    lock_checked_ = Clock::now();
    if (!lock_held_ && lock == LockMode::kRequire) {
      throw db::Error(db::ErrorKind::kBadInput,
                      "another shardshift is running plan '" + plan_.header.name + "' (it holds the run lock on "
                      "database '" + sources_[0] + "'); wait for it or stop it first");
    }
    if (!lock_held_) lock_conn_.reset();
  }
  const std::string home = sources_.at(0);
  state_ = std::make_unique<RunState>([this, home] { return catalog_.Connect(home); }, plan_.header.name);
  states_ = state_->Load();
  streams_ = std::make_unique<SourceStreams>(catalog_, plan_, params_);
}

Runner::~Runner() = default;

void Runner::LoadHandover(const plans::CutoverParams& cut) {
  handover_.fence = cut.fence;
  handover_.fence_sources = cut.fence_sources;
  handover_.unfence_sources = cut.unfence_sources;
  handover_.source_triggers = cut.source_fence_triggers;
  handover_.source_gate_state = cut.source_gate_state;
  handover_.target_gate_state = cut.target_gate_state;
  if (plan_.header.kind == "vertical_split") {
    // Its new tables, database by database.
    for (const plans::TargetSideParams& s : cut.target_sides) {
      TargetSide side{s.database, s.block_sql, s.fence, s.unfence, {}};
      for (const auto& [table, trigger] : s.triggers) side.triggers.emplace_back(db::TableName::Parse(table), trigger);
      handover_.sides.push_back(std::move(side));
    }
    for (const plans::WayBackParams& w : cut.way_back) {
      const std::string table = db::TableName::Parse(w.table).ToString();
      auto o = std::find_if(outputs_.begin(), outputs_.end(),
                            [&](const Output& out) { return out.mapping.target.ToString() == table; });
      if (o == outputs_.end()) {
        throw db::Error(db::ErrorKind::kBadInput, "step " + cut.id + " of plan '" + plan_.header.name +
                                                      "': way_back names " + w.table + ", which is not among its outputs");
      }
      handover_.way_back.push_back(
          {w.database, {o->mapping.target, o->mapping.source, key_, o->mapping.TargetColumns(), o->mapping.columns, "", ""},
           db::TableName::Parse(w.changelog)});
    }
  } else if (plan_.header.kind == "reshard") {
    const db::TableName source_table = db::TableName::Parse(params_.table);
    const db::TableName target_table = db::TableName::Parse(params_.target_table);
    for (const std::string& t : targets_) {
      TargetSide side{t, cut.target_block_sql, cut.fence_targets, cut.unfence_targets, {}};
      for (const std::string& trigger : cut.target_fence_triggers) side.triggers.emplace_back(target_table, trigger);
      handover_.sides.push_back(std::move(side));
    }
    if (!cut.reverse_changelog.empty()) {
      for (const std::string& t : targets_) {
        handover_.way_back.push_back(
            {t, {target_table, source_table, key_, columns_, {}, params_.row_filter, ""},
             db::TableName::Parse(cut.reverse_changelog)});
      }
    }
  }
}

TableMapping Runner::Mapping() const {
  const db::TableName table = db::TableName::Parse(params_.table);
  return {table, table, key_, columns_, {}, params_.row_filter, ""};  // the read side only: where rows go is outputs_
}

std::unique_ptr<RowWriter> Runner::MakeWriter(Connections& conns) const {
  if (!IsSplit()) return std::make_unique<TargetWriter>(outputs_[0].mapping, conns.Get(targets_), outputs_[0].router);
  auto fan = std::make_unique<FanOutWriter>(columns_, key_);
  for (const Output& o : outputs_) {
    fan->Add(std::make_unique<TargetWriter>(o.mapping, conns.Get(o.databases), o.router), o.mapping.columns);
  }
  return fan;
}

bool Runner::CleanedUp() const {
  return std::any_of(plan_.steps.begin(), plan_.steps.end(),
                     [&](const plans::Step& s) { return s.kind == plans::StepKind::kCleanup && Done(s.id); });
}

bool Runner::Done(const std::string& step_id) const {
  auto it = states_.find(step_id);
  return it != states_.end() && it->second.status == "done";
}

Router Runner::MakeRouter() const {
  const int32_t n = static_cast<int32_t>(targets_.size());
  // The routing function hashes the shard_by columns: the key's leading ones.
  const size_t hashed = shard_by_.size();
  return [n, hashed](const db::KeyValues& k) {
    if (hashed >= k.size()) return static_cast<size_t>(plans::ShardForKey(k, n));
    return static_cast<size_t>(plans::ShardForKey(db::KeyValues(k.begin(), k.begin() + hashed), n));
  };
}

void Runner::WithRetries(const std::string& what, Connections& conns, const std::function<void()>& f) {
  RunWithRetries(
      StepRetryPolicy(retries_),
      [&](int) {
        HoldLock();
        f();
      },
      RealSleep,
      [&](int attempt, const std::exception& e) {
        ++retried_;
        spdlog::warn("{}: {}; retry {} of {}, from the last checkpoint", what, e.what(), attempt, retries_);
        conns.Reset();  // a broken or mid-transaction session is not reused
      });
}

void Runner::HoldLock() {
  if (!lock_held_) return;
  std::lock_guard<std::mutex> hold(lock_mu_);
  if (lock_conn_ && Clock::now() - lock_checked_ < std::chrono::seconds(2)) return;
  if (lock_conn_) {
    try {
      lock_conn_->Query("SELECT 1 AS alive");
      lock_checked_ = Clock::now();
      return;
    } catch (const db::Error& e) {
      if (e.connection_usable()) throw;
      lock_conn_.reset();  // the session died, and the lock with it
    }
  }
  auto conn = catalog_.Connect(sources_.at(0));  // kConnect while the server restarts: retried
  if (!RunLock(*conn, plan_.header.name, lock_wait_).acquired()) {
    throw db::Error(db::ErrorKind::kBadInput,
                    "the run lock's connection to '" + sources_[0] + "' broke and another shardshift took the lock "
                    "meanwhile; this run stops (the other one continues from the same checkpoints)");
  }
  spdlog::warn("the run lock's connection to '{}' broke; the lock is held again", sources_[0]);
  lock_conn_ = std::move(conn);
  lock_checked_ = Clock::now();
}

bool Runner::Swapped() {
  db::Connection& conn = conns_.Get(sources_.at(0));
  auto exists = [&](const std::string& text) {
    const db::TableName t = db::TableName::Parse(text);
    if (conn.engine() == db::Engine::kPostgres) {
      return conn.Query("SELECT to_regclass($1) IS NOT NULL AS e", {db::QuoteTable(conn.engine(), t)}).Text(0, "e") == "t";
    }
    return conn.Query("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
                      "TABLE_NAME = ?", {t.name}).Text(0, "n") != "0";
  };
  return exists(params_.old_table) && !exists(params_.shadow_table);
}

void Runner::CheckDrift() {
  // After a shadow rebuild's swap the table has its new indexes: that is the point, not drift.
  if (IsShadow() && Swapped()) return;
  // A contract that started changes the table's shape on purpose.
  for (const plans::Step& s : plan_.steps) {
    auto it = states_.find(s.id);
    if (s.id.starts_with("contract.") && it != states_.end() && it->second.status != "pending") return;
  }
  const db::TableName table = db::TableName::Parse(params_.table);
  for (const auto& [name, expected] : plan_.header.schema_fingerprints) {
    db::SchemaInfo schema = conns_.Get(name).Introspect({table.schema, table.name, false});
    if (db::Fingerprint(schema) != expected) {
      throw db::Error(db::ErrorKind::kBadInput,
                      fmt::format("database '{}' no longer matches the plan: the schema of {} changed since it was "
                                  "planned (drift); plan again", name, params_.table));
    }
  }
}

void Runner::RunSql(const plans::Step& step) {
  db::Connection& conn = conns_.Get(step.database);
  for (const std::string& sql : step.sql) conn.Execute(sql);  // each statement is idempotent
  if (auto it = step.params.find("delete_where"); it != step.params.end()) DeleteInChunks(conn, it->second);
}

void Runner::DeleteInChunks(db::Connection& conn, const std::string& where) {
  // chunk_rows a statement, each in its own transaction; then a pause at least as long as the
  // statement took (the server does the application's work half the time at least), longer if
  // max_rows_per_second asks. Safe to repeat: what was deleted stays deleted.
  const int64_t chunk = std::max<int64_t>(100, params_.pace.chunk_rows);
  const db::TableName table = db::TableName::Parse(params_.table);
  const std::string t = conn.Quote(table);
  const std::string sql =
      conn.engine() == db::Engine::kPostgres
          ? fmt::format("DELETE FROM {0} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {0} WHERE {1} LIMIT {2}))", t, where, chunk)
          : fmt::format("DELETE FROM {} WHERE {} LIMIT {}", t, where, chunk);
  int64_t total = 0;
  for (;;) {
    const auto started = Clock::now();
    const int64_t n = conn.Execute(sql);
    total += n;
    if (n < chunk) break;
    KillPoint("cleanup.deleting");
    auto pause = Clock::now() - started;
    if (params_.pace.max_rows_per_second > 0) {
      pause = std::max<Clock::duration>(pause, std::chrono::microseconds(n * 1'000'000 / params_.pace.max_rows_per_second));
    }
    std::this_thread::sleep_for(pause);
  }
  spdlog::info("deleted {} moved row(s) of {} from the source", total, table.ToString());
}

bool Runner::CopySource(const plans::Step& step, StepState& st, Connections& conns, Shared& shared,
                        ApplyResult& local) {
  const std::string& source = step.params.at("source");
  const TableMapping mapping = Mapping();
  std::unique_ptr<RowWriter> writer = MakeWriter(conns);
  db::Connection& src = conns.Get(source);
  const db::TableName changelog = db::TableName::Parse(params_.changelog);
  Backfill backfill(mapping, src, *writer, changelog);
  Replay replay(mapping, changelog, src, *writer);
  std::optional<db::KeyValues> cursor = CursorFrom(st.cursor);
  ChunkSizer sizer(params_.pace.chunk_rows,
                   std::chrono::milliseconds(params_.pace.target_chunk_ms));
  // The next chunk is read on a second source connection while this one is written.
  db::Connection& reader = conns.Get(source, 1);
  auto read_ahead = [&](std::optional<db::KeyValues> after, int64_t limit) {
    return std::async(std::launch::async, [&backfill, &reader, after, limit] {
      return backfill.Read(reader, after, limit);
    });
  };
  // The first chunk's width from the plan's estimate (the table's bytes per row); then from each
  // chunk read.
  sizer.ObserveBytes(step.estimate.rows, step.estimate.bytes);
  int64_t limit = sizer.rows();
  std::future<ChunkRead> next = read_ahead(cursor, limit);
  const auto started = Clock::now();
  auto backlog_checked = started - std::chrono::seconds(5);  // the first chunk reports it
  int64_t queued = -1;
  int64_t copied_here = 0;
  while (true) {
    if (!shared.gate.Pass(shared.stop)) return false;
    // A chunk's time is its own (the wait for its read and its write): the replay and the throttle
    // between chunks do not shrink the next one.
    const auto chunk_started = Clock::now();
    const ChunkRead read = next.get();
    const db::ResultSet& rows = read.rows;
    sizer.ObserveBytes(static_cast<int64_t>(rows.rows.size()), HeldBytes(rows));
    const int64_t read_limit = limit;
    const bool last = static_cast<int64_t>(rows.rows.size()) < read_limit;
    if (!last) {
      limit = sizer.rows();
      next = read_ahead(writer->KeyOf(rows.rows.back()), limit);
    }
    ChunkResult c = backfill.Write(cursor, read, read_limit);
    const double chunk_seconds = SecondsSince(chunk_started);
    sizer.Observe(c.rows_read, chunk_seconds);
    KillPoint("backfill.chunk");
    cursor = c.cursor;
    st.rows_done += c.rows_read;
    copied_here += c.rows_read;
    local.rows_copied += c.rows_read;
    local.changes_replayed += c.changes_taken;
    st.cursor = CursorText(cursor);
    if (c.done) KillPoint("step.ran");  // copied, not yet recorded: the next apply copies the tail again
    st.status = c.done ? "done" : "running";
    st.rows_per_second = static_cast<double>(copied_here) / std::max(SecondsSince(started), 1e-3);
    // The changelog's backlog every few seconds, so that `status` shows whether replay keeps up.
    if (SecondsSince(backlog_checked) >= 5) {
      queued = replay.Backlog();
      backlog_checked = Clock::now();
    }
    st.detail = fmt::format("{} rows copied, chunks of {} rows{}", st.rows_done, sizer.rows(),
                            queued >= 0 ? fmt::format("; {} change(s) queued", queued) : "");
    state_->Save(step.id, st);
    // Changes to keys the copy has passed, for as long as the chunk took (at least 50 ms): under a
    // heavy writer copy and replay share the time and both advance; what is left waits for the next
    // chunk, and for the replay step.
    const auto replay_started = Clock::now();
    const double replay_budget = std::max(chunk_seconds, 0.05);
    for (;;) {
      const int64_t n = replay.ApplyBatch(cursor, c.done, kReplayBatch).entries;
      local.changes_replayed += n;
      if (n < kReplayBatch || SecondsSince(replay_started) >= replay_budget) break;
    }
    shared.progress.Update(step.id, st.rows_done, c.done ? st.rows_done : step.estimate.rows,
                           c.done ? 0.0 : st.rows_per_second);  // a finished part adds no rate
    HoldLock();
    if (c.done) return true;
    if (shared.interrupt != nullptr && *shared.interrupt) shared.stop = true;  // at a checkpoint
    if (shared.stop) return false;
    shared.throttle.Account(c.rows_read);
  }
}

void Runner::RunBackfills(const std::vector<const plans::Step*>& steps, const ApplyOptions& options,
                          ApplyResult& result) {
  ForgetProof();  // chunks take changes from the changelog
  const size_t parallel = std::clamp<size_t>(static_cast<size_t>(params_.pace.parallel_sources), 1,
                                             steps.size());
  const int64_t max_rows = options.max_rows_per_second >= 0 ? options.max_rows_per_second
                                                            : params_.pace.max_rows_per_second;
  Throttle throttle(max_rows);
  CheckGate gate(params_.check_command, HookEnv("check_command"));
  Progress progress("backfill", options.progress_bar);
  std::atomic<bool> stop{false};
  Shared shared{throttle, gate, progress, stop, options.stop};
  std::vector<StepState*> states;
  for (const plans::Step* s : steps) states.push_back(&states_[s->id]);  // before any thread starts
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::exception_ptr failure;
  const auto started = Clock::now();
  auto work = [&] {
    Connections conns(catalog_, lock_timeout_ms_);
    ApplyResult local;
    std::vector<std::string> finished;
    while (!stop) {
      const size_t i = next++;
      if (i >= steps.size()) break;
      try {
        bool done = false;
        WithRetries(steps[i]->id, conns, [&] { done = CopySource(*steps[i], *states[i], conns, shared, local); });
        if (!done) break;
        finished.push_back(steps[i]->id);
      } catch (...) {
        std::lock_guard<std::mutex> hold(mu);
        if (!failure) failure = std::current_exception();
        stop = true;
      }
    }
    std::lock_guard<std::mutex> hold(mu);
    result.rows_copied += local.rows_copied;
    result.changes_replayed += local.changes_replayed;
    result.ran.insert(result.ran.end(), finished.begin(), finished.end());
  };
  spdlog::info("backfill: {} source(s), {} at a time{}", steps.size(), parallel,
               max_rows > 0 ? fmt::format(", at most {} rows/s", max_rows) : "");
  std::vector<std::thread> workers;
  for (size_t w = 0; w < parallel; ++w) workers.emplace_back(work);
  for (std::thread& t : workers) t.join();
  progress.Finish();
  result.copy_seconds += SecondsSince(started);
  result.check_pauses += gate.pauses();
  if (failure) std::rethrow_exception(failure);
}

void Runner::RunReplay(const std::string& source, Connections& conns, ApplyResult& result,
                       std::vector<db::KeyValues>* applied, StepState* st, const std::string& st_id) {
  ForgetProof();
  SyncSources(source);  // log capture: what committed until now is in the changelog
  const TableMapping mapping = Mapping();
  std::unique_ptr<RowWriter> writer = MakeWriter(conns);
  Replay replay(mapping, db::TableName::Parse(params_.changelog), conns.Get(source), *writer);
  // Every few seconds: the backlog, the rates in and out, and whether the writers outrun replay
  // (then there is no end to promise: the log and `status` say so, and what would help).
  auto checked = Clock::now();
  int64_t backlog = -1;
  int64_t replayed_since = 0;
  int growing = 0;
  // Batches grow while they come back full (as the cutover's catch-up does): at 5,000 entries a
  // batch's fixed costs weigh a fifth of what they do at 1,000.
  for (int64_t limit = kReplayBatch;; limit = std::min<int64_t>(limit * 2, kReplayBatchMax)) {
    ReplayResult r = replay.ApplyBatch(std::nullopt, true, limit);
    result.changes_replayed += r.entries;
    replayed_since += r.entries;
    if (applied) applied->insert(applied->end(), r.applied.begin(), r.applied.end());
    // Caught up: less than a batch was queued. Chasing an empty queue under a writer that never
    // pauses could take forever; what arrives later is the next drain's (the cutover's drain,
    // behind its write block, runs to empty).
    if (r.entries < limit) break;
    if (st == nullptr || SecondsSince(checked) < 5) continue;
    const double dt = SecondsSince(checked);
    const int64_t now = replay.Backlog();
    if (backlog >= 0) {
      const double out = static_cast<double>(replayed_since) / dt;
      const double in = static_cast<double>(now - backlog + replayed_since) / dt;
      growing = now > backlog ? growing + 1 : 0;
      st->detail = fmt::format("replaying: {} change(s) queued, {:.0f}/s in, {:.0f}/s out{}", now, in, out,
                               growing >= 2 ? " (the writers outrun replay: no end in sight)" : "");
      state_->Save(st_id, *st);
      if (growing >= 2) {
        spdlog::warn("replay on {} is behind: {} change(s) queued and growing ({:.0f}/s written, {:.0f}/s "
                     "replayed); it ends only when the writers slow down: lower the write rate, or stop "
                     "(Ctrl-C) and apply again in a quieter hour (capture keeps recording: nothing is lost)",
                     source, now, in, out);
      } else {
        spdlog::info("replay on {}: {} change(s) queued, {:.0f}/s in, {:.0f}/s out", source, now, in, out);
      }
    }
    backlog = now;
    replayed_since = 0;
    checked = Clock::now();
  }
}

void Runner::DrainAll(ApplyResult& result) {
  for (const std::string& s : sources_) RunReplay(s, conns_, result);
}

void Runner::WhileReplaying(ApplyResult& result, const std::function<void()>& work) {
  // Under a writer a comparison of 500k rows took 39 s, and with nothing replaying meanwhile the
  // switch that followed started 319,000 changes behind. Replaying alongside costs the comparison
  // nothing in strength: a key replayed after its chunk compared equal is one the drains after it
  // would replay unchecked too, and one replayed before makes its chunk agree sooner.
  ForgetProof();  // here, not on the replaying thread: the run state's session is this thread's
  std::atomic<bool> done{false};
  std::atomic<int64_t> replayed{0};
  std::thread replayer([&] {
    try {
      Connections conns(catalog_, lock_timeout_ms_);
      std::unique_ptr<RowWriter> writer = MakeWriter(conns);
      const TableMapping mapping = Mapping();
      const db::TableName changelog = db::TableName::Parse(params_.changelog);
      while (!done) {
        int64_t n = 0;
        for (const std::string& s : sources_) {
          if (done) break;
          n += Replay(mapping, changelog, conns.Get(s), *writer).ApplyBatch(std::nullopt, true, kReplayBatch).entries;
        }
        replayed += n;
        if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    } catch (const std::exception& e) {
      // What it leaves queued, the drain after the comparison replays.
      spdlog::warn("replay alongside the comparison stopped: {}", e.what());
    }
  });
  struct Joined {  // the replayer stops and is counted also when work throws
    std::atomic<bool>& done;
    std::thread& replayer;
    std::atomic<int64_t>& replayed;
    ApplyResult& result;
    ~Joined() {
      done = true;
      replayer.join();
      result.changes_replayed += replayed;
    }
  } joined{done, replayer, replayed, result};
  work();
}

std::map<std::string, std::string> Runner::HookEnv(const std::string& hook) const {
  return {{"SHARDSHIFT_MIGRATION", plan_.header.name}, {"SHARDSHIFT_HOOK", hook},
          {"SHARDSHIFT_TABLE", params_.target_table},
          {"SHARDSHIFT_SOURCES", fmt::format("{}", fmt::join(sources_, ","))},
          {"SHARDSHIFT_TARGETS", fmt::format("{}", fmt::join(targets_, ","))}};
}

void Runner::RunSwapMySQL(const plans::Step& step, StepState& st, ApplyResult& result) {
  const std::string& database = sources_.at(0);
  // Most of the backlog drains with the table writable; what arrives meanwhile is applied under
  // the lock below.
  RunReplay(database, conns_, result);
  const db::TableName table = db::TableName::Parse(params_.table);
  const db::TableName shadow = db::TableName::Parse(params_.shadow_table);
  const db::TableName changelog = db::TableName::Parse(params_.changelog);
  auto locker = catalog_.Connect(database);
  locker->SetLockTimeout(lock_timeout_ms_);
  locker->Execute(step.sql.at(0));  // LOCK TABLES table WRITE
  const Clock::time_point blocked = Clock::now();
  bool locked = true;
  auto unlock = [&] {
    if (!locked) return;
    locked = false;
    try {
      locker->Execute("UNLOCK TABLES");
    } catch (const db::Error& e) {
      spdlog::warn("releasing the write lock: {}", e.what());  // a dead session holds no lock
    }
  };
  std::unique_ptr<db::Connection> renamer;
  std::future<void> rename;
  try {
    // Log capture: every write before the lock is in the binary log; the stream reads up to there
    // (the changelog is not under the lock: no trigger names it).
    SyncSources(database, std::chrono::seconds(10));
    KillPoint("cutover.blocked");
    // The last changes: the locking session reads the changed rows of the table (only it may, now);
    // another session writes them to the new table, compares, and takes the entries off the queue.
    db::Connection& other = conns_.Get(database);
    const db::RowSql from(db::Engine::kMySQL, table, key_, columns_);
    const db::RowSql to(db::Engine::kMySQL, shadow, key_, columns_);
    std::string key_list;
    for (const std::string& k : key_) key_list += ", " + db::QuoteIdentifier(db::Engine::kMySQL, k);
    int64_t checked = 0;
    for (;;) {
      db::ResultSet batch = other.Query("SELECT _ss_id" + key_list + " FROM " + db::QuoteTable(db::Engine::kMySQL, changelog) +
                                        " ORDER BY _ss_id LIMIT " + std::to_string(kReplayBatch));
      if (batch.rows.empty()) break;
      std::vector<db::KeyValues> keys;
      std::string ids;
      for (const db::Row& r : batch.rows) {
        ids += (ids.empty() ? "" : ", ") + r.at(0).value_or("0");
        keys.emplace_back();
        for (size_t k = 1; k < r.size(); ++k) keys.back().push_back(r.at(k).value_or(""));
      }
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      const db::SqlText sel = from.SelectByKeys(keys);
      db::ResultSet rows = locker->Query(sel.sql, sel.params);
      {
        db::Transaction tx(other);
        const db::SqlText del = to.DeleteByKeys(keys);
        other.Execute(del.sql, del.params);
        if (!rows.rows.empty()) other.BulkInsert(shadow, columns_, rows);
        tx.Commit();
      }
      // Checked row by row: the same rows on both sides now.
      const db::SqlText mine = to.SelectByKeys(keys);
      std::vector<db::Row> want = rows.rows;
      std::vector<db::Row> have = other.Query(mine.sql, mine.params).rows;
      std::sort(want.begin(), want.end());
      std::sort(have.begin(), have.end());
      if (want != have) {
        throw CutoverAborted("the last changes differ between the table and its shadow after they were applied; the "
                             "swap was not made and the table stays in use");
      }
      checked += static_cast<int64_t>(keys.size());
      other.Execute("DELETE FROM " + db::QuoteTable(db::Engine::kMySQL, changelog) + " WHERE _ss_id IN (" + ids + ")");
    }
    result.last_changes_checked = checked;
    // The rename waits behind the lock on its own session; released, it goes first.
    renamer = catalog_.Connect(database);
    renamer->SetLockTimeout(std::max(lock_timeout_ms_, 10000));
    const std::string renamer_id = renamer->Query("SELECT CONNECTION_ID() AS id").Text(0, "id");
    db::Connection* r = renamer.get();
    const std::string rename_sql = step.sql.at(1);
    rename = std::async(std::launch::async, [r, rename_sql] { r->Execute(rename_sql); });
    auto watcher = catalog_.Connect(database);
    const Clock::time_point asked = Clock::now();
    while (SecondsSince(asked) < 10) {
      if (rename.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) break;
      db::ResultSet state = watcher->Query("SELECT COALESCE(STATE, '') AS s FROM information_schema.PROCESSLIST WHERE ID = ?",
                                           {renamer_id});
      if (!state.rows.empty() && state.Text(0, "s").find("metadata lock") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    KillPoint("cutover.published");
    unlock();
    rename.get();
  } catch (...) {
    unlock();
    if (rename.valid()) {
      try {
        rename.get();
      } catch (const std::exception& e) {
        spdlog::warn("the swap's rename: {}", e.what());
      }
    }
    throw;
  }
  result.write_blocked_ms = static_cast<int64_t>(SecondsSince(blocked) * 1000);
  KillPoint("step.ran");
  st.status = "done";
  st.detail = fmt::format("swapped; writes blocked for {} ms", result.write_blocked_ms);
  state_->Save(step.id, st);
}

void Finished(ApplyResult& result, const ApplyOptions& options, const StepTiming& timing) {
  result.timings.push_back(timing);
  if (options.on_step) options.on_step(timing);
}

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ApplyResult Runner::Apply(const ApplyOptions& options) {
  ApplyResult result;
  if (options.abandon) {
    if (options.cleanup || options.revert || !options.until.empty() || options.follow) {
      throw db::Error(db::ErrorKind::kBadInput, "--abandon goes alone (not with --cleanup, --revert, --until or --follow)");
    }
    // No drift check: what it runs is the plan's own undo of what the plan made, and a source
    // that changed shape is a reason to give a plan up.
    WithRetries("abandon", conns_, [&] { Abandon(options, result); });
    result.retries = retried_;
    return result;
  }
  result.done_before = std::all_of(plan_.steps.begin(), plan_.steps.end(), [&](const plans::Step& s) { return Done(s.id); });
  CheckDrift();
  for (const std::string& db : sources_) conns_.Get(db);
  for (const std::string& db : targets_) conns_.Get(db);
  const plans::Step* cutover = CutoverStep();
  if (options.cleanup && cutover != nullptr && !Done(cutover->id)) {
    throw db::Error(db::ErrorKind::kBadInput,
                    "apply --cleanup refused: the cutover of plan '" + plan_.header.name +
                        "' has not run, so the sources are still in use and their capture is what keeps the targets "
                        "current; run `shardshift apply` to finish the plan first, or `apply --abandon` to give it up "
                        "(nothing was changed)");
  }
  if (options.revert && options.cleanup) {
    throw db::Error(db::ErrorKind::kBadInput, "--revert and --cleanup go separately");
  }
  if (!options.dry_run) {
    state_->EnsureTable();
    Claim();
  }
  if (options.revert) {
    if (!options.dry_run) WithRetries("revert", conns_, [&] { Revert(options, result); });
    result.retries = retried_;
    return result;
  }
  if (Switched() && handover_.fence && !handover_.way_back.empty() && TargetsFenced()) {
    throw db::Error(db::ErrorKind::kBadInput, "plan '" + plan_.header.name +
                                                  "': a revert was interrupted after it fenced the targets; run "
                                                  "`shardshift apply --revert` to finish it");
  }
  if (options.cleanup && Switched() && !options.dry_run) {
    WithRetries("cleanup", conns_, [&] { Cleanup(options, result); });
  }
  for (size_t i = 0; i < plan_.steps.size(); ++i) {
    const plans::Step& step = plan_.steps[i];
    StepState& st = states_[step.id];
    if (options.stop != nullptr && *options.stop && st.status != "done") {
      result.interrupted = true;
      break;
    }
    if (st.status == "done") {
      // expand_complete is a point, not work: --until expand_complete stops once it is reached.
      if (options.until == "expand_complete" && step.kind == plans::StepKind::kExpandComplete) {
        result.stopped_before = i + 1 < plan_.steps.size() ? plan_.steps[i + 1].id : "";
        break;
      }
      continue;
    }
    // Capture is removed (and a split contracted) only when asked (--cleanup): that ends the window
    // in which apply --revert can switch back.
    if (step.kind == plans::StepKind::kCleanup && !options.cleanup) {
      result.cleanup_pending = true;
      continue;
    }
    if (!options.until.empty() && plans::StepKindName(step.kind) == options.until &&
        step.kind != plans::StepKind::kExpandComplete) {
      result.stopped_before = step.id;
      break;
    }
    if (options.dry_run) {
      result.would_run.push_back(step.id);
      continue;
    }
    if (step.kind == plans::StepKind::kBackfill) {
      // This and the following pending backfills run together, parallel_sources at a time.
      std::vector<const plans::Step*> group;
      size_t j = i;
      for (; j < plan_.steps.size() && plan_.steps[j].kind == plans::StepKind::kBackfill; ++j) {
        if (states_[plan_.steps[j].id].status != "done") group.push_back(&plan_.steps[j]);
      }
      for (const plans::Step* s : group) spdlog::info("step {}: {}", s->id, s->description);
      const double started = SteadySeconds();
      if (SourcesStreamed()) WithRetries("capture", conns_, [&] { streams_->Start(); });
      RunBackfills(group, options, result);
      if (options.stop != nullptr && *options.stop) {
        result.interrupted = true;  // stopped at a checkpoint; apply continues from there
        break;
      }
      for (const plans::Step* s : group) Finished(result, options, {s->id, started, SteadySeconds() - started});
      i = j - 1;
      continue;
    }
    spdlog::info("step {}: {}", step.id, step.description);
    const double started = SteadySeconds();
    switch (step.kind) {
      case plans::StepKind::kSql:
      case plans::StepKind::kCapture:
      case plans::StepKind::kCleanup:
      case plans::StepKind::kExpandComplete:
        if (step.id.starts_with("contract.")) {
          // Dropping the moved columns loses their only copy on the source: never before the new
          // tables were verified and the application switched.
          for (const plans::Step& s : plan_.steps) {
            if ((s.kind == plans::StepKind::kVerify || s.kind == plans::StepKind::kCutover) && !Done(s.id)) {
              throw db::Error(db::ErrorKind::kBadInput, "contract refused: step " + s.id + " has not finished");
            }
          }
          st.status = "running";  // from here on the source table changes shape (see CheckDrift)
          state_->Save(step.id, st);
        }
        WithRetries(step.id, conns_, [&] { RunSql(step); });
        break;
      case plans::StepKind::kReplay:
        WithRetries(step.id, conns_, [&] { RunReplay(step.params.at("source"), conns_, result, nullptr, &st, step.id); });
        break;
      case plans::StepKind::kVerify:
        RunVerifyStep(st, result);
        if (!result.verify.ok()) {
          st.status = "failed";
          st.detail = fmt::format("{} difference(s)", result.verify.differences_total);
          state_->Save(step.id, st);
          throw VerificationFailed(result.verify);
        }
        break;
      case plans::StepKind::kCutover:
        WithRetries(step.id, conns_, [&] { RunCutover(step, st, options, result); });
        break;
      default:
        throw db::Error(db::ErrorKind::kBadInput, "step kind " + std::string(plans::StepKindName(step.kind)) +
                                                      " is not part of a reshard");
    }
    // The step's work is done but not recorded: the next apply repeats it. (The cutover and the
    // backfills record themselves, with their own kill point just before.)
    if (step.kind != plans::StepKind::kCutover) KillPoint("step.ran");
    st.status = "done";
    state_->Save(step.id, st);
    result.ran.push_back(step.id);
    Finished(result, options, {step.id, started, SteadySeconds() - started});
    if (step.kind == plans::StepKind::kExpandComplete && options.until == "expand_complete") {
      result.stopped_before = i + 1 < plan_.steps.size() ? plan_.steps[i + 1].id : "";
      break;
    }
  }
  if (options.follow && (options.until == "expand_complete" || options.until == "cutover") &&
      !result.stopped_before.empty() && CaptureRunning() && !Switched()) {
    Follow(options, result);
  }
  if (!options.dry_run && streams_->enabled() && Switched() && !CleanedUp()) {
    // The sources are fenced: nothing more to capture there until a revert (which makes the slots
    // again), and a slot left would keep the server's WAL until cleanup.
    WithRetries("capture", conns_, [&] { streams_->DropSlots(); });
  }
  if (!options.dry_run && Switched() && !handover_.way_back.empty() && !options.cleanup &&
      !result.interrupted) {
    // The window: what the application changed on the targets flows back to the sources, so that
    // apply --revert stays quick.
    auto way_back = [&] {
      // A comparison that stands (the cutover of this run carried one over the switch) stays,
      // with the keys this drain brings back added to those to compare.
      std::optional<Proof> proof = LoadProof();
      std::vector<db::KeyValues> applied;
      DrainReverse(conns_, result, proof ? &applied : nullptr);
      PruneForward();
      if (proof) {
        proof->keys.insert(proof->keys.end(), applied.begin(), applied.end());
        std::sort(proof->keys.begin(), proof->keys.end());
        proof->keys.erase(std::unique(proof->keys.begin(), proof->keys.end()), proof->keys.end());
        RecordProof(proof->counts, proof->keys);  // not kept when too large
      }
    };
    WithRetries("way back", conns_, way_back);
    if (options.follow) {
      while (options.stop == nullptr || !*options.stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        WithRetries("way back", conns_, way_back);
      }
    }
  }
  if (!options.dry_run && !result.interrupted) {
    bool all_done = true;
    for (const plans::Step& s : plan_.steps) all_done = all_done && Done(s.id);
    if (all_done) Release();
  }
  result.retries = retried_;
  return result;
}

void Runner::Cleanup(const ApplyOptions& options, ApplyResult& result) {
  // Writes that reached the sources after the switch (possible only without the fence) are on no
  // target: dropping their changelog loses them, so that takes --force.
  const db::TableName changelog = db::TableName::Parse(params_.changelog);
  int64_t late = 0;
  std::vector<std::string> late_where;
  // A split's table stays in use after its switch (its kept columns): only a reshard's sources can
  // hold late writes.
  for (const std::string& s : IsSplit() ? std::vector<std::string>{} : sources_) {
    db::Connection& c = conns_.Get(s);
    try {
      const int64_t n = std::stoll(c.Query("SELECT COUNT(*) AS n FROM " + c.Quote(changelog)).Text(0, "n"));
      if (n > 0) late_where.push_back(fmt::format("{} on {}", n, s));
      late += n;
    } catch (const db::Error& e) {
      // No changelog (capture removed already): 42P01 / 1146.
      if (e.sqlstate() != "42P01" && e.errnum() != 1146) throw;
      if (c.engine() == db::Engine::kPostgres && c.InTransaction()) c.Rollback();
    }
  }
  if (late > 0 && !options.force) {
    throw db::Error(db::ErrorKind::kBadInput,
                    fmt::format("apply --cleanup refused: {} change(s) were written to the sources after the cutover "
                                "({}) and are not on the targets (the plan does not fence the sources); they are in "
                                "{} — carry them over by hand, or run apply --cleanup --force to drop them",
                                late, fmt::join(late_where, ", "), changelog.ToString()));
  }
  if (late > 0) result.dropped.push_back(fmt::format("{} change(s) written to the sources after the cutover", late));
  // The last changes made on the targets go back to the sources first: the way back ends current.
  if (!handover_.way_back.empty()) DrainReverse(conns_, result, nullptr, nullptr, true);
  for (const plans::Step& s : plan_.steps) {
    if (s.kind != plans::StepKind::kCleanup || Done(s.id)) continue;
    result.dropped.push_back(fmt::format("{} on {}: {}", s.id, s.database, s.description));
  }
}

void Runner::PruneForward() {
  if (!IsSplit() || IsShadow() || !handover_.fence || !Switched()) return;
  constexpr int64_t kPruneBatch = 10000;
  const db::TableName log = db::TableName::Parse(params_.changelog);
  for (const std::string& s : sources_) {
    db::Connection& c = conns_.Get(s);
    const std::string sql =
        c.engine() == db::Engine::kPostgres
            ? fmt::format("DELETE FROM {0} WHERE _ss_id IN (SELECT _ss_id FROM {0} ORDER BY _ss_id LIMIT {1})",
                          c.Quote(log), kPruneBatch)
            : fmt::format("DELETE FROM {} ORDER BY _ss_id LIMIT {}", c.Quote(log), kPruneBatch);
    while (c.Execute(sql) >= kPruneBatch) {
    }
  }
}

void Runner::Follow(const ApplyOptions& options, ApplyResult& result) {
  spdlog::info("{}: replaying captured changes into the new tables until interrupted (Ctrl-C)",
               options.until == "cutover" ? "before the cutover" : "expand complete");
  auto last_log = Clock::now();
  int64_t logged = result.changes_replayed;
  // The check command pauses replay as it pauses the copy: the targets take no writes from us while
  // it fails. Capture goes on (a stream keeps queueing keys), so nothing is lost, and the backlog
  // drains once it passes.
  CheckGate gate(params_.check_command, HookEnv("check_command"));
  const std::atomic<bool> never{false};
  const std::atomic<bool>& stop = options.stop != nullptr ? *options.stop : never;
  // Streams read on while replay is held (one that fails meanwhile is started again by the next
  // replay's catch-up; its slot or saved position keeps what it had not queued).
  if (SourcesStreamed()) WithRetries("capture", conns_, [&] { streams_->Start(); });
  bool held = false;  // stopped while the check command held replay
  while (!stop) {
    if (!gate.Pass(stop)) {
      held = true;
      break;
    }
    WithRetries("follow", conns_, [&] { DrainAll(result); });
    if (SecondsSince(last_log) > 10) {
      spdlog::info("following: {} changes replayed in the last {:.0f} s", result.changes_replayed - logged,
                   SecondsSince(last_log));
      logged = result.changes_replayed;
      last_log = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!held) WithRetries("follow", conns_, [&] { DrainAll(result); });  // what arrived until the interrupt
}

bool Runner::CaptureRunning() const {
  bool installed = false;
  if (IsSplit()) {
    for (const plans::Step& s : plan_.steps) {
      if (s.kind == plans::StepKind::kCutover && Done(s.id)) return false;  // the new tables took over
    }
  }
  for (const plans::Step& s : plan_.steps) {
    auto it = states_.find(s.id);
    const bool done = it != states_.end() && it->second.status == "done";
    if (s.kind == plans::StepKind::kCapture) installed = done;
    if (s.kind == plans::StepKind::kCapture && !done) return false;
    if (s.kind == plans::StepKind::kCleanup && done) return false;
  }
  return installed;
}

bool Runner::SourcesStreamed() const { return streams_->enabled() && CaptureRunning() && !Switched(); }

void Runner::SyncSources(const std::string& source, std::chrono::milliseconds timeout) {
  if (lock_held_ && SourcesStreamed()) streams_->CatchUp(source, timeout);
}

bool Runner::ChangelogUnlocked(const std::string& source) const {
  return std::any_of(params_.streams.begin(), params_.streams.end(),
                     [&](const plans::StreamParams& s) { return s.database == source && s.server_id != 0; });
}

}  // namespace shardshift::executors
