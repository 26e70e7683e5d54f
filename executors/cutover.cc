// The handover (DESIGN.md rule 5): the cutover that fences the sources and opens the targets, the
// way back (changes on the targets flow to the sources until cleanup) and the revert that switches
// back. Each move is ordered so that a process killed anywhere leaves either side fenced or both,
// never both writable, and a later apply recognises from the catalogs what was decided.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "db/error.h"
#include "db/row_sql.h"
#include "executors/failpoint.h"
#include "executors/pacing.h"
#include "executors/replay.h"
#include "executors/wait_all.h"
#include "executors/runner.h"
#include "plans/routing.h"
#include "plans/toml_reader.h"

namespace shardshift::executors {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kBatch = 1000;
constexpr size_t kCheckedKeys = 2000;
// The write block starts only once the queue holds at most this many entries: the drain behind the
// block is then a few batches.
constexpr int64_t kCatchUpLeft = 200;
// A backlog this small is not worth another batch before the block.
constexpr int64_t kCatchUpSettled = 20;
constexpr double kDrainSeconds = 0.03;
constexpr int64_t kDrainBatch = 5000;
// A round of the catch-up replays at most this many entries of each source before it looks again.
constexpr int64_t kRoundEntries = 50'000;
// The catch-up logs what is queued this often, and gives up when that has not shrunk for
// kCatchUpStallSeconds (however long it takes while it shrinks).
constexpr double kCatchUpCheckSeconds = 10;
constexpr double kCatchUpStallSeconds = 60;
// Log capture: the block waits until the streams' catch-up (reading the log up to the server's
// position of the moment) takes at most this; behind the block the same catch-up is the first
// part of the window.
constexpr double kStreamSyncSeconds = 0.1;
// Writers that keep the machine busy make the catch-up slower without the stream falling behind:
// its time is then the stream's latency (the server's decoding, a poll, a flushed commit), not a
// backlog, and it stops shrinking. A catch-up up to this long that took no longer than the round
// before (within 10%) is steady, and the block is taken: a stream falling behind takes longer
// every round.
constexpr double kStreamSteadySeconds = 0.5;
constexpr double kStreamSlowSeconds = 15;
// Log capture: what the block will have behind it, predicted each round, is the streams' catch-up
// plus replaying what is queued and what arrives while the streams catch up (at the rates measured
// in the round). The block waits until that fits this; a steady stream (above) may take up to
// kStreamSteadySeconds.
constexpr double kWindowAimSeconds = 0.1;
// A catch-up that replayed this many entries vacuums the changelog before the block (PostgreSQL).
constexpr int64_t kVacuumAfter = 20'000;
// Again after this many more (a target's autovacuum starts at 20% of its rows changed), at most
// kVacuums times in all.
constexpr int64_t kRevacuumAfter = 100'000;
constexpr int kVacuums = 4;
constexpr double kAutovacuumPatience = 60;
// The revert's catch-up (the way back) gives up after this long.
constexpr double kRevertCatchUpSeconds = 120;
// At most this many keys replayed by a cutover are carried in the proof over the switch (the run
// state keeps it; RecordProof drops one that does not fit).
constexpr size_t kCarriedKeys = 5000;

// Key parts compare as integers when both are integers, else as bytes (docs/resharding.md).
int ComparePart(const std::string& a, const std::string& b) {
  auto integer = [](const std::string& s, long long& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size();
  };
  long long x = 0;
  long long y = 0;
  if (integer(a, x) && integer(b, y)) return x < y ? -1 : x > y ? 1 : 0;
  return a < b ? -1 : a > b ? 1 : 0;
}

int CompareKeys(const db::KeyValues& a, const db::KeyValues& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (int c = ComparePart(a[i], b[i]); c != 0) return c;
  }
  return 0;
}

}  // namespace

const plans::Step* Runner::CutoverStep() const {
  for (const plans::Step& s : plan_.steps) {
    if (s.kind == plans::StepKind::kCutover) return &s;
  }
  return nullptr;
}

bool Runner::Switched() const {
  const plans::Step* c = CutoverStep();
  return c != nullptr && Done(c->id);
}

std::optional<CommandResult> Runner::Hook(const std::string& name, const ApplyOptions& options) {
  if (!params_.cutover) return std::nullopt;
  auto it = params_.cutover->hooks.find(name);
  if (it == params_.cutover->hooks.end()) return std::nullopt;
  // The spec's [hooks] timeout_ms.
  const auto timeout = std::chrono::milliseconds(params_.pace.hook_timeout_ms);
  auto env = HookEnv(name);
  env["SHARDSHIFT_ROUTING_MAP"] = options.routing_path;
  env["SHARDSHIFT_DIRECTION"] = options.revert ? "revert" : "forward";
  spdlog::info("{}: running the {} hook (at most {} ms)", options.revert ? "revert" : "cutover",
               name, timeout.count());
  return RunCommand(it->second, env, timeout, options.stop);
}

bool TriggerExists(db::Connection& c, const db::TableName& table, const std::string& name) {
  db::ResultSet r =
      c.engine() == db::Engine::kPostgres
          ? c.Query(
                "SELECT count(*) AS n FROM pg_trigger WHERE tgrelid = to_regclass($1)::oid AND "
                "tgname = $2",
                {c.Quote(table), name})
          : c.Query(
                "SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = "
                "COALESCE(NULLIF(?, ''), DATABASE()) AND EVENT_OBJECT_TABLE = ? AND TRIGGER_NAME = "
                "?",
                {table.schema, table.name, name});
  return r.Text(0, "n") != "0";
}

bool Runner::SourceFenceUp(db::Connection& conn) {
  if (!handover_.source_gate_state.empty()) {
    db::ResultSet r = conn.Query(handover_.source_gate_state);
    return !r.rows.empty() && r.At(0, "state") == std::optional<std::string>("fenced");
  }
  const db::TableName table = db::TableName::Parse(params_.table);
  if (handover_.source_triggers.empty()) return false;
  return std::all_of(handover_.source_triggers.begin(), handover_.source_triggers.end(),
                     [&](const std::string& t) { return TriggerExists(conn, table, t); });
}

bool Runner::FencedEverywhere(const std::vector<std::string>& dbs, const db::TableName& table,
                              const std::vector<std::string>& triggers) {
  if (triggers.empty()) return false;
  for (const std::string& name : dbs) {
    for (const std::string& trigger : triggers) {
      if (!TriggerExists(conns_.Get(name), table, trigger)) return false;
    }
  }
  return true;
}

bool Runner::ShadowOnMysql() const {
  return IsShadow() && catalog_.Url(sources_.at(0)).engine == db::Engine::kMySQL;
}

bool Runner::SourcesFencedBySwitch() {
  if (ShadowOnMysql() || !handover_.fence) return false;
  if (!handover_.source_gate_state.empty()) {
    return std::all_of(sources_.begin(), sources_.end(), [&](const std::string& s) { return SourceFenceUp(conns_.Get(s)); });
  }
  return FencedEverywhere(sources_, db::TableName::Parse(params_.table), handover_.source_triggers);
}

bool Runner::TargetsFenced() {
  if (!handover_.target_gate_state.empty()) {
    return std::all_of(targets_.begin(), targets_.end(), [&](const std::string& t) {
      db::ResultSet r = conns_.Get(t).Query(handover_.target_gate_state);
      return !r.rows.empty() && r.At(0, "state") == std::optional<std::string>("fenced");
    });
  }
  bool any = false;
  for (const TargetSide& side : handover_.sides) {
    for (const auto& [table, trigger] : side.triggers) {
      if (!TriggerExists(conns_.Get(side.database), table, trigger)) return false;
      any = true;
    }
  }
  return any;
}

void Runner::PublishMap(const std::string& path) {
  plans::RoutingMap map;
  map.table = params_.target_table;
  map.key = shard_by_;  // what applications hash
  map.shards = targets_;
  plans::WriteFileAtomically(path, plans::WriteRoutingToml(map), "routing map");
}

void Runner::CatchUp(const ApplyOptions& options, ApplyResult& result, bool first) {
  // A standing proof is carried over the switch with the keys replayed from here (RunCutover
  // records it once switched); meanwhile none stands, so a cutover undone or killed leaves none.
  if (first) {
    carried_ = IsShadow() ? std::nullopt : LoadProof();
    ForgetProof();
  }
  const Clock::time_point started = Clock::now();
  const TableMapping mapping = Mapping();
  std::unique_ptr<RowWriter> writer = MakeWriter(conns_);
  // The block waits until what is left takes about kDrainSeconds to replay at the rate measured
  // here (at least kCatchUpLeft entries: a writer that adds entries during every batch would
  // otherwise keep a fixed bound out of reach).
  // No COUNT(*) measures what is left: on a changelog that a heavy writer churns it scans every dead
  // entry, and what arrives meanwhile waits behind the block. The last batch of each source read all
  // that was queued then, so their sum is the backlog; batches shrink until each finds about what
  // arrived while the one before ran, and the block follows the last at once.
  double replay_seconds = 0;
  int64_t replayed = 0;
  ReplayResult phases;  // where replay's time went since the last report
  int64_t previous = -1;
  Clock::time_point checked = started;
  int64_t vacuumed_at = 0;  // entries replayed when the catch-up last vacuumed
  int vacuums = 0;
  double autovacuum_waited = 0;  // seconds caught up while an autovacuum worked on a moved table
  std::vector<std::pair<double, int64_t>> history;  // (seconds since start, entries queued)
  // Log capture: the streams first catch up with the WAL (a stream resumed after a pause may be far
  // behind); from then on they keep the changelog within milliseconds of it, and the block reads
  // them up to its own position before the drain. Writers that outpace the stream for a minute
  // stop the cutover before anything is blocked.
  if (SourcesStreamed()) streams_->Eager(true);  // until the streams end (the switch drops them)
  SyncSources("", std::chrono::seconds(6));
  Clock::time_point stream_fast = Clock::now();   // when the streams' catch-up was last ready
  Clock::time_point stream_quick = Clock::now();  // when it last took at most kStreamSyncSeconds
  double stream_before = -1;                     // the catch-up of the round before
  Clock::time_point round_start = Clock::now();
  double window_missed = 0;  // seconds caught up but with a predicted window too long
  for (;;) {
    // Each round, the streams too: the changelog is only complete up to where they have read, and
    // what they have not read yet would be read behind the block (a stream that lags by seconds
    // of writes makes a window of seconds).
    double stream_seconds = 0;
    bool stream_ready = true;
    if (SourcesStreamed()) {
      const Clock::time_point t = Clock::now();
      SyncSources("", std::chrono::seconds(6));
      stream_seconds = SecondsSince(t);
      // Steady is judged only once the streams have not been quick for kStreamSlowSeconds: under a
      // busy writer their catch-up varied from 29 to 111 ms between rounds, and a block taken on a
      // slow round held writes for 441 ms where the rounds around it predicted 150.
      stream_ready = stream_seconds <= kStreamSyncSeconds ||
                     (stream_before >= 0 && stream_seconds <= kStreamSteadySeconds && stream_seconds <= stream_before * 1.1 &&
                      SecondsSince(stream_quick) >= kStreamSlowSeconds);
      stream_before = stream_seconds;
      if (stream_seconds <= kStreamSyncSeconds) stream_quick = Clock::now();
      if (stream_ready) stream_fast = Clock::now();
      if (SecondsSince(stream_fast) > kCatchUpStallSeconds) {
        throw CutoverAborted(fmt::format(
            "the change streams' catch-up still took {:.0f} ms after {:.0f} s of catching up: the writers add to the "
            "log about as fast as it is read, so the write block was not taken (nothing was blocked; the sources stay "
            "in use); run apply again when the write rate drops",
            stream_seconds * 1000, kCatchUpStallSeconds));
      }
    }
    // Looked up before the round's replay (when the round before nearly caught up), so that the
    // block follows the round's last batch at once.
    const std::string vacuuming =
        previous <= kBatch && autovacuum_waited < kAutovacuumPatience ? AutovacuumingMovedTables() : "";
    int64_t left = 0;
    bool capped = false;  // a source's round stopped at kRoundEntries, not at a partial batch
    int64_t round_entries = 0;
    double round_replay_seconds = 0;
    for (const std::string& s : sources_) {
      Replay replay(mapping, db::TableName::Parse(params_.changelog), conns_.Get(s), *writer);
      int64_t n = 0;
      // A backlog is taken in batches that grow to kDrainBatch while they come back full: a batch's
      // fixed costs (its statements on the changelog, the source and each target) were a third of
      // its time at 1,000 entries under a writer that kept the machine busy.
      int64_t limit = kBatch;
      for (int64_t taken = 0; taken < kRoundEntries; limit = std::min(limit * 2, kDrainBatch)) {
        const Clock::time_point t = Clock::now();
        ReplayResult r = replay.ApplyBatch(std::nullopt, true, limit);
        n = r.entries;
        phases.queue_seconds += r.queue_seconds;
        phases.read_seconds += r.read_seconds;
        phases.write_seconds += r.write_seconds;
        phases.delete_seconds += r.delete_seconds;
        Carry(r.applied);
        const double took = SecondsSince(t);
        replay_seconds += took;
        round_replay_seconds += took;
        replayed += n;
        round_entries += n;
        taken += n;
        result.changes_replayed += n;
        if (n < limit) break;
      }
      capped = capped || n >= limit;
      left += n;
    }
    const double rate = replayed >= kBatch && replay_seconds > 0 ? static_cast<double>(replayed) / replay_seconds : 0;
    // With log capture the predicted window below decides; the bound only asks that it be a drain
    // of that order. (Under writers that kept replay busy, a bound of 30 ms of replay was met by
    // chance only: the queue hovered at 200-900 entries for 50 s at 10,000/s.)
    const double drain_aim = SourcesStreamed() ? kWindowAimSeconds : kDrainSeconds;
    const int64_t bound = std::clamp<int64_t>(static_cast<int64_t>(rate * drain_aim), kCatchUpLeft, 50'000);
    // What arrives: this round replayed what was queued while the round before ran.
    const double round_seconds = SecondsSince(round_start);
    round_start = Clock::now();
    const double arriving = round_seconds > 0 ? static_cast<double>(round_entries) / round_seconds : 0;
    double window = 0;  // predicted: the streams' catch-up, then replaying what it and the queue hold
    bool window_fits = true;
    // Replayed at this round's rate: caught up, its batches are as small as the drain's, which
    // replay at about half the rate of full ones (a cumulative rate predicted 39 ms for a drain of
    // 85 ms).
    const double small_rate = round_entries > 0 && round_replay_seconds > 0
                                  ? std::min(rate, static_cast<double>(round_entries) / round_replay_seconds)
                                  : rate;
    if (SourcesStreamed() && small_rate > 0) {
      window = stream_seconds + (static_cast<double>(left) + arriving * stream_seconds) / small_rate;
      window_fits = window <= (stream_seconds > kStreamSyncSeconds ? kStreamSteadySeconds : kWindowAimSeconds);
    }
    const bool caught_up = stream_ready && left <= bound &&
                           (left <= kCatchUpSettled || (previous >= 0 && left * 5 >= previous * 4));
    // Replay keeps pace (every source's round ended on a partial batch) but the queue does not
    // settle under the bound: the writers add about as much as replay takes.
    const bool keeping_pace = stream_ready && !capped;
    if (keeping_pace && !caught_up) {
      window_missed += round_seconds;
      if (window_missed > kCatchUpStallSeconds) {
        throw CutoverAborted(fmt::format(
            "replay kept pace with the writers for {:.0f} s ({:.0f} change(s)/s arriving, {:.0f}/s replayed), but "
            "what was queued ({} entries at the last look) did not settle under {} (about {:.0f} ms of replay), so "
            "the write block was not taken (nothing was blocked; the sources stay in use); run apply again when the "
            "write rate drops",
            window_missed, arriving, rate, left, bound, drain_aim * 1000));
      }
    }
    if (caught_up && !window_fits) {
      // Caught up, but what arrives while the streams catch up would not drain in the window.
      window_missed += round_seconds;
      if (window_missed > kCatchUpStallSeconds) {
        throw CutoverAborted(fmt::format(
            "caught up, but for {:.0f} s the drain behind the write block would still have taken about {:.0f} ms (the "
            "change streams catch up in {:.0f} ms while {:.0f} change(s)/s arrive; replay {:.0f}/s), so the write "
            "block was not taken (nothing was blocked; the sources stay in use); run apply again when the write "
            "rate drops",
            window_missed, window * 1000, stream_seconds * 1000, arriving, small_rate));
      }
    }
    if (caught_up && window_fits) {
      // PostgreSQL keeps the entries replayed here as dead rows until a vacuum, and the drain behind
      // the block walks the changelog's index past every one of them (about 100 ms after 270,000).
      // Vacuumed now, with writes flowing; one more round then takes what arrived meanwhile.
      // The targets took as many writes: an autovacuum or autoanalyze they would start now holds a
      // lock their block waits for (a 535 ms wait seen at 1M rows). Done here, their thresholds
      // start again.
      // Again after more were replayed: the targets' autovacuum thresholds count from each vacuum
      // (after 50 s of catching up at 10,000/s one started on a target, and the block waited 1 s,
      // the server's deadlock_timeout, for it to be cancelled).
      // At most kVacuums times, kRevacuumAfter apart: a vacuum of a large changelog takes seconds,
      // in which a busy writer queues more than kVacuumAfter entries, and vacuuming again each time
      // would never end.
      const int64_t due = vacuums == 0 ? kVacuumAfter : vacuumed_at + kRevacuumAfter;
      if (vacuums < kVacuums && replayed >= due && catalog_.Url(sources_.at(0)).engine == db::Engine::kPostgres) {
        vacuumed_at = replayed;
        ++vacuums;
        const db::TableName changelog = db::TableName::Parse(params_.changelog);
        std::vector<std::pair<db::Connection*, std::string>> work;
        for (const std::string& s : sources_) {
          db::Connection& c = conns_.Get(s);
          work.emplace_back(&c, "VACUUM " + c.Quote(changelog));
        }
        AddTargetVacuums(work);
        RunAtOnce(work);
        previous = -1;
        continue;
      }
      // An autovacuum of a table the block locks (the application's, under its writers) holds a
      // lock the block conflicts with; PostgreSQL cancels it only after deadlock_timeout (1 s by
      // default), and writes wait behind the block all that time (1,019 ms seen at 1M rows). So
      // the catch-up goes on until it ends, for up to kAutovacuumPatience.
      if (!vacuuming.empty()) {
        if (autovacuum_waited == 0) {
          spdlog::info("cutover: caught up, but autovacuum is working on {}; catching up until it ends (the block "
                       "would wait for it until the server cancels it)",
                       vacuuming);
        }
        autovacuum_waited += round_seconds;
        if (autovacuum_waited >= kAutovacuumPatience) {
          spdlog::warn("cutover: autovacuum still works on {} after {:.0f} s; blocking writes anyway (the block may wait "
                       "up to the server's deadlock_timeout for it)",
                       vacuuming, kAutovacuumPatience);
        }
      } else {
        result.cutover_backlog = left;
        // What the block will have behind it: these entries, and what the streams have not read yet
        // (about their catch-up time's worth of writes).
        if (SourcesStreamed()) {
          spdlog::info("cutover: caught up, {} change(s) left; the change streams caught up in {:.0f} ms ({:.0f} "
                       "change(s)/s arriving, replay {:.0f}/s: about {:.0f} ms of catch-up and drain behind the block)",
                       left, stream_seconds * 1000, arriving, small_rate, window * 1000);
        }
        return;
      }
    }
    previous = left;
    if (options.stop != nullptr && *options.stop) {
      throw CutoverAborted("stopped by a signal while catching up: nothing was blocked, the sources stay in use and "
                           "capture keeps recording; run apply again to retry");
    }
    // Every few seconds, what is queued: a long backlog drains as long as it shrinks; writers that
    // keep it from shrinking for kCatchUpStallSeconds outpace replay, and nothing is blocked.
    if (SecondsSince(checked) >= kCatchUpCheckSeconds) {
      int64_t queued = 0;
      for (const std::string& s : sources_) {
        queued += Replay(mapping, db::TableName::Parse(params_.changelog), conns_.Get(s), *writer).Backlog();
      }
      const double at = SecondsSince(started);
      spdlog::info("cutover: catching up before the block, {} change(s) queued, replaying {:.0f}/s{}", queued, rate,
                   SourcesStreamed() ? fmt::format("; the change streams caught up in {:.0f} ms", stream_seconds * 1000)
                                     : "");
      spdlog::debug("cutover: replay's time since the last report: changelog read {:.0f} ms, source rows read {:.0f} ms, "
                    "targets written {:.0f} ms, entries deleted {:.0f} ms",
                    phases.queue_seconds * 1000, phases.read_seconds * 1000, phases.write_seconds * 1000,
                    phases.delete_seconds * 1000);
      phases = ReplayResult{};
      history.emplace_back(at, queued);
      checked = Clock::now();
      for (const auto& [then, was] : history) {
        if (at - then < kCatchUpStallSeconds || keeping_pace) break;  // keeping pace: judged above
        if (queued * 20 < was * 19) continue;  // shrank by 5% since then
        throw CutoverAborted(fmt::format(
            "the changelog holds {} entries and did not shrink in {:.0f} s of catching up (it held {}; replay "
            "{:.0f}/s): the writers outpace replay, so the write block was not taken (nothing was blocked; the "
            "sources stay in use); run apply again when the write rate drops",
            queued, at - then, was, rate));
      }
    }
  }
}

std::string Runner::AutovacuumingMovedTables() {
  // pg_locks and pg_stat_activity's backend_type are readable by every role (pg_stat_progress_vacuum
  // hides another role's relation).
  const std::string sql =
      "SELECT DISTINCT current_database() || '.' || l.relation::regclass::text FROM pg_locks l JOIN pg_stat_activity a "
      "ON a.pid = l.pid WHERE a.backend_type = 'autovacuum worker' AND l.granted AND l.relation = "
      "to_regclass($1) AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";
  std::string out;
  auto check = [&](const std::string& database, const db::TableName& table) {
    db::Connection& c = conns_.Get(database);
    if (c.engine() != db::Engine::kPostgres) return;
    for (const db::Row& row : c.Query(sql, {c.Quote(table)}).rows) out += (out.empty() ? "" : ", ") + row[0].value_or("");
  };
  const TableMapping mapping = Mapping();
  for (const std::string& s : sources_) check(s, mapping.source);
  for (const Output& o : outputs_) {
    for (const std::string& t : o.databases) check(t, o.mapping.target);
  }
  return out;
}

Router Runner::SourceRouter() const {
  const int32_t n = static_cast<int32_t>(sources_.size());
  if (source_layout_ == "hash") {
    const size_t hashed = shard_by_.size();
    return [n, hashed](const db::KeyValues& k) {
      if (hashed >= k.size()) return static_cast<size_t>(plans::ShardForKey(k, n));
      return static_cast<size_t>(
          plans::ShardForKey(db::KeyValues(k.begin(), k.begin() + hashed), n));
    };
  }
  if (source_layout_ == "range" && source_ranges_.size() == sources_.size()) {
    auto ranges = source_ranges_;
    return [ranges](const db::KeyValues& k) {
      for (size_t i = 0; i < ranges.size(); ++i) {
        const auto& [from, to] = ranges[i];
        if (from && CompareKeys(k, *from) < 0) continue;
        if (to && CompareKeys(k, *to) >= 0) continue;
        return i;
      }
      return size_t{0};
    };
  }
  return [](const db::KeyValues&) { return size_t{0}; };
}

void Runner::Carry(const std::vector<db::KeyValues>& keys) {
  if (!carried_) return;
  carried_->keys.insert(carried_->keys.end(), keys.begin(), keys.end());
  if (carried_->keys.size() > 4 * kCarriedKeys) {  // dedup now and then; give up when too many
    std::sort(carried_->keys.begin(), carried_->keys.end());
    carried_->keys.erase(std::unique(carried_->keys.begin(), carried_->keys.end()), carried_->keys.end());
    if (carried_->keys.size() > kCarriedKeys) carried_.reset();
  }
}

void Runner::DrainReverse(Connections& conns, ApplyResult& result,
                          std::vector<db::KeyValues>* applied,
                          const std::function<db::Connection&(const std::string&)>& target_conn,
                          bool removed_ok) {
  ForgetProof();
  for (const WayBack& w : handover_.way_back) {
    // A reshard's target rows go to the sources where each key lives; a split's new-table rows into
    // the source row's columns they came from.
    std::unique_ptr<RowWriter> writer;
    if (IsSplit()) {
      writer = std::make_unique<ColumnWriter>(w.back, conns.Get(sources_.at(0)));
    } else {
      writer = std::make_unique<TargetWriter>(w.back, conns.Get(sources_), SourceRouter());
    }
    db::Connection& from = target_conn ? target_conn(w.database) : conns.Get(w.database);
    Replay replay(w.back, w.changelog, from, *writer);
    for (;;) {
      ReplayResult r;
      try {
        r = replay.ApplyBatch(std::nullopt, true, kBatch);
      } catch (const db::Error& e) {
        // A cleanup killed after it dropped this way back's changelog: nothing is left to drain.
        if (!removed_ok || (e.sqlstate() != "42P01" && e.errnum() != 1146)) throw;
        if (from.engine() == db::Engine::kPostgres && from.InTransaction()) from.Rollback();
        break;
      }
      result.reverse_replayed += r.entries;
      if (applied) applied->insert(applied->end(), r.applied.begin(), r.applied.end());
      // Behind a write block (target_conn) the queue runs dry; with the targets writable, caught up
      // is when less than a batch was queued.
      if (r.entries == 0 || (!target_conn && r.entries < kBatch)) break;
    }
  }
}

void Runner::FinishSwitch(const plans::Step& step, StepState& st, const ApplyOptions& options,
                          ApplyResult& result) {
  result.warnings.push_back(
      "the sources were fenced by a run that stopped before it recorded the cutover: the "
      "switch was decided there, so this run finished it");
  for (const TargetSide& side : handover_.sides) {
    for (const std::string& sql : side.unfence) conns_.Get(side.database).Execute(sql);
  }
  if (!IsSplit() && !options.routing_path.empty()) {
    PublishMap(options.routing_path);
    result.routing_published = true;
  }
  // Whether the interrupted run's during_cutover hook finished is unknown: it runs again (hooks are
  // to be idempotent; docs/resharding.md).
  if (auto r = Hook("during_cutover", options); r && !r->ok()) {
    result.warnings.push_back(
        fmt::format("the during_cutover hook failed ({}) while finishing an interrupted "
                    "cutover; the switch stands (apply --revert switches back)",
                    r->Describe()));
  }
  KillPoint("step.ran");
  st.status = "done";
  st.detail = "switched (finished after an interrupted run)";
  state_->Save(step.id, st);
  if (auto r = Hook("after_cutover", options); r && !r->ok()) {
    result.warnings.push_back(fmt::format(
        "the after_cutover hook failed ({}); the cutover itself is done", r->Describe()));
  }
}

namespace {

// Sessions that hold a write block (or a fence change) until committed or released. PostgreSQL:
// a transaction; MariaDB: LOCK TABLES (its DDL commits at once but the lock stays).
class Holders {
 public:
  // Whether a block runs in a transaction that its release commits or rolls back: always on
  // PostgreSQL; on MariaDB unless it is LOCK TABLES (a key gate's row lock is transactional).
  static bool Transactional(db::Connection& c, const std::string& block) {
    return c.engine() == db::Engine::kPostgres || !block.starts_with("LOCK TABLES");
  }
  explicit Holders(std::vector<std::string> names) : names_(std::move(names)) {}
  ~Holders() { Release(false); }

  // Connects to every database beforehand, so that no connection is opened inside the window.
  void Open(const db::Catalog& catalog, int lock_timeout_ms) {
    for (const std::string& n : names_) {
      if (idle_.count(n) > 0 || held_.count(n) > 0) continue;
      auto c = catalog.Connect(n);
      c->SetLockTimeout(lock_timeout_ms);
      idle_[n] = std::move(c);
    }
  }
  void Take(const db::Catalog& catalog, const std::string& name, const std::string& block_sql,
            int lock_timeout_ms) {
    Take(catalog, name, std::vector<std::string>{block_sql}, lock_timeout_ms);
  }
  void Take(const db::Catalog& catalog, const std::string& name, const std::vector<std::string>& block,
            int lock_timeout_ms) {
    std::unique_ptr<db::Connection> c = Acquire(catalog, name, lock_timeout_ms);
    if (Transactional(*c, block.front())) c->Begin();
    for (const std::string& sql : block) c->Execute(sql);
    held_[name] = std::move(c);
  }
  // Take on several databases at once, each then running its then-statements (the targets' unfence):
  // the window waits for the slowest, not for their sum. Those taken stay held when one fails.
  struct Move {
    std::string name, block_sql;
    std::vector<std::string> then;
  };
  void TakeAll(const db::Catalog& catalog, const std::vector<Move>& moves, int lock_timeout_ms) {
    std::vector<std::unique_ptr<db::Connection>> conns;
    for (const Move& m : moves) conns.push_back(Acquire(catalog, m.name, lock_timeout_ms));
    std::vector<std::future<void>> runs;
    for (size_t i = 0; i < moves.size(); ++i) {
      db::Connection* c = conns[i].get();
      const Move* m = &moves[i];
      runs.push_back(std::async(moves.size() > 1 ? std::launch::async : std::launch::deferred, [c, m] {
        if (Transactional(*c, m->block_sql)) c->Begin();
        c->Execute(m->block_sql);
        for (const std::string& s : m->then) c->Execute(s);
      }));
    }
    std::exception_ptr failure;
    for (size_t i = 0; i < runs.size(); ++i) {
      try {
        runs[i].get();
      } catch (...) {
        if (!failure) failure = std::current_exception();
      }
      held_[moves[i].name] = std::move(conns[i]);  // released (rolled back, unlocked) with the rest
    }
    if (failure) std::rethrow_exception(failure);
  }
  db::Connection& Of(const std::string& name) { return *held_.at(name); }
  // The session Open made for name, before it is taken.
  db::Connection& Opened(const std::string& name) { return *idle_.at(name); }
  bool Has(const std::string& name) const { return held_.count(name) > 0; }
  void Run(const std::vector<std::string>& sql) {
    for (const std::string& n : names_) RunOn(n, sql);
  }
  void RunOn(const std::string& name, const std::vector<std::string>& sql) {
    if (!Has(name)) return;
    for (const std::string& s : sql) held_[name]->Execute(s);
  }
  // commit: PostgreSQL commits (what was done takes effect), else rolls back; MariaDB unlocks.
  void Release(bool commit) {
    for (const std::string& n : names_) {
      auto it = held_.find(n);
      if (it == held_.end()) continue;
      try {
        if (it->second->InTransaction()) {
          if (commit) {
            it->second->Commit();
          } else {
            it->second->Rollback();
          }
        }
        if (it->second->engine() == db::Engine::kMySQL) it->second->Execute("UNLOCK TABLES");
      } catch (const db::Error& e) {
        if (commit) throw;
        spdlog::warn("releasing {}: {}", n, e.what());  // a dead session holds no lock
      }
      held_.erase(it);
    }
  }
  bool empty() const { return held_.empty(); }

 private:
  // The session Open made for name, if still usable; else a new one.
  std::unique_ptr<db::Connection> Acquire(const db::Catalog& catalog, const std::string& name,
                                          int lock_timeout_ms) {
    if (auto it = idle_.find(name); it != idle_.end() && it->second->Usable()) {
      std::unique_ptr<db::Connection> c = std::move(it->second);
      idle_.erase(it);
      return c;
    }
    auto c = catalog.Connect(name);
    c->SetLockTimeout(lock_timeout_ms);
    return c;
  }

  std::vector<std::string> names_;
  std::map<std::string, std::unique_ptr<db::Connection>> held_;
  std::map<std::string, std::unique_ptr<db::Connection>> idle_;
};

}  // namespace

void Runner::RunCutover(const plans::Step& step, StepState& st, const ApplyOptions& options,
                        ApplyResult& result) {
  if (IsShadow() && Swapped()) {  // a run killed after the swap, before recording it
    st.status = "done";
    st.detail = "swapped (found so in the catalog)";
    state_->Save(step.id, st);
    return;
  }
  const bool shadow_mysql = ShadowOnMysql();
  if (SourcesFencedBySwitch()) {
    FinishSwitch(step, st, options, result);
    return;
  }
  const std::string published = IsSplit() ? "" : options.routing_path;
  if (!published.empty() && std::filesystem::exists(published)) {
    std::filesystem::remove(published);
    result.warnings.push_back(
        "withdrew the routing map " + published +
        " that an interrupted cutover had published: the sources are still in use");
  }
  if (auto r = Hook("before_cutover", options); r && !r->ok()) {
    throw CutoverAborted(
        fmt::format("the before_cutover hook refused the cutover ({}); nothing was blocked, the "
                    "sources stay in use and capture keeps recording; run apply again to retry",
                    r->Describe()));
  }
  if (shadow_mysql) {
    RunSwapMySQL(step, st, result);
    if (auto r = Hook("after_cutover", options); r && !r->ok()) {
      result.warnings.push_back(fmt::format(
          "the after_cutover hook failed ({}); the swap itself is done", r->Describe()));
    }
    return;
  }
  std::vector<CutoverMember> members = {{this, &step, &st}};
  CutoverGroup group;
  group.routing_path = published;
  if (!published.empty()) group.publish = [this, published] { PublishMap(published); };
  group.hook = [this, &options](const std::string& name) { return Hook(name, options); };
  CutoverWindow(members, group, options, result);
}

namespace {

// The blocks of several tables on one database as the statements one session runs: PostgreSQL
// takes them one after another in its transaction; MariaDB's LOCK TABLES replaces a session's
// earlier locks, so there they become one statement naming every table.
std::vector<std::string> MergeBlocks(db::Engine engine, const std::vector<std::string>& all) {
  // The tables of a move_keys group share their database's key gate: one hold takes it for all.
  std::vector<std::string> blocks;
  for (const std::string& b : all) {
    if (std::find(blocks.begin(), blocks.end(), b) == blocks.end()) blocks.push_back(b);
  }
  if (engine == db::Engine::kPostgres || blocks.size() <= 1) return blocks;
  constexpr std::string_view kLock = "LOCK TABLES ";
  std::vector<std::string> parts;
  for (const std::string& b : blocks) {
    if (!b.starts_with(kLock)) throw std::logic_error("not a LOCK TABLES statement: " + b);
    parts.push_back(b.substr(kLock.size()));
  }
  return {fmt::format("LOCK TABLES {}", fmt::join(parts, ", "))};
}

void AddOnce(std::vector<std::string>& names, const std::vector<std::string>& more) {
  for (const std::string& n : more) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
}

}  // namespace

void Runner::CutoverWindow(std::vector<CutoverMember>& members, const CutoverGroup& group,
                           const ApplyOptions& options, ApplyResult& result) {
  Runner& lead = *members.front().runner;
  const db::Catalog& catalog = lead.catalog_;
  const int lock_timeout_ms = lead.lock_timeout_ms_;
  const db::Engine engine = catalog.Url(lead.sources_.at(0)).engine;
  const bool fence = lead.handover_.fence;
  std::vector<std::string> source_dbs, target_dbs;
  for (const CutoverMember& m : members) {
    AddOnce(source_dbs, m.runner->sources_);
    AddOnce(target_dbs, m.runner->targets_);
  }
  // Every session the window uses is connected before the catch-up, so that the block follows its
  // last check at once.
  Holders sources(source_dbs);
  Holders targets(target_dbs);
  sources.Open(catalog, lock_timeout_ms);
  const bool open_targets =
      (fence && std::any_of(members.begin(), members.end(), [](const CutoverMember& m) { return m.runner->handover_.UnfencesTargets(); })) ||
      static_cast<bool>(group.target_then);
  if (open_targets) targets.Open(catalog, lock_timeout_ms);
  std::vector<std::unique_ptr<RowWriter>> drain_writers;
  for (CutoverMember& m : members) {
    Runner& r = *m.runner;
    drain_writers.push_back(r.MakeWriter(r.conns_));
    for (const std::string& s : r.sources_) {
      Replay(r.Mapping(), db::TableName::Parse(r.params_.changelog), sources.Opened(s), *drain_writers.back(),
             r.ChangelogUnlocked(s) ? &r.conns_.Get(s) : nullptr)
          .Warm();
    }
    if (open_targets) {
      for (const TargetSide& side : r.handover_.sides) {
        db::Connection& c = targets.Opened(side.database);
        for (const auto& [table, trigger] : side.triggers) {
          c.Query("SELECT * FROM " + db::QuoteTable(c.engine(), table) + " WHERE 1 = 0");
        }
      }
    }
  }
  // Each table catches up, then a group takes one more quick round, so that what arrived at the
  // first tables while the others caught up is not left to the drain behind the block. The members
  // run at once (each has its own sessions and stream; log capture reads a stream per table):
  // one after another, a stream waited unread while the tables before it caught up (8 s of writes
  // behind for the third of three tables written flat out), and what reached the first table while
  // the last caught up was drained behind the block.
  auto round = [&](bool first) {
    std::vector<ApplyResult> rounds(members.size());
    std::vector<std::future<void>> runs;
    for (size_t i = 0; i < members.size(); ++i) {
      runs.push_back(std::async(std::launch::async, [&, i] { members[i].runner->CatchUp(options, rounds[i], first); }));
    }
    WaitAll(runs);
    int64_t backlog = 0;
    for (const ApplyResult& r : rounds) {
      result.changes_replayed += r.changes_replayed;
      backlog += std::max<int64_t>(0, r.cutover_backlog);
    }
    result.cutover_backlog = backlog;
  };
  if (members.size() == 1) {
    members.front().runner->CatchUp(options, result, true);
  } else {
    round(true);
    round(false);
  }
  // What blocks writes, per source database: every member's block there, merged.
  std::map<std::string, std::vector<std::string>> blocks;
  for (const std::string& db : source_dbs) {
    std::vector<std::string> each;
    for (const CutoverMember& m : members) {
      if (std::find(m.runner->sources_.begin(), m.runner->sources_.end(), db) != m.runner->sources_.end()) {
        each.push_back(m.step->sql.at(0));
      }
    }
    blocks[db] = MergeBlocks(engine, each);
  }
  Clock::time_point blocked;
  for (int attempt = 1;; ++attempt) {
    try {
      blocked = Clock::now();
      for (const std::string& s : source_dbs) sources.Take(catalog, s, blocks[s], lock_timeout_ms);
      break;
    } catch (const db::Error& e) {
      sources.Release(false);
      if (!e.retryable() || attempt > lead.retries_) {
        throw db::Error(
            e.kind(),
            std::string("cutover gave up blocking writes, the sources are writable again: ") +
                e.what());
      }
      spdlog::warn("cutover: could not block writes (attempt {}): {}; retrying", attempt, e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    }
  }
  bool sources_fenced = false;
  bool target_then_ran = false;
  bool published = false;
  // A fence that went up and must come down again (the hook failed): by a fresh session, after the
  // routing map was withdrawn, so that the map never names the targets while the sources take
  // writes.
  auto undo = [&] {
    try {
      // MariaDB's DDL took effect at once: the targets are fenced again before their lock goes.
      if (!targets.empty() && engine == db::Engine::kMySQL) {
        for (const CutoverMember& m : members) {
          for (const TargetSide& side : m.runner->handover_.sides) targets.RunOn(side.database, side.fence);
        }
        if (target_then_ran) {
          for (const std::string& db : target_dbs) targets.RunOn(db, group.target_undo);
        }
      }
    } catch (const std::exception& e) {
      spdlog::error("fencing the targets again: {}", e.what());
    }
    targets.Release(false);  // PostgreSQL: the targets' unfence rolls back
    sources.Release(false);
    if (published) {
      try {
        if (group.unpublish) {
          group.unpublish();
        } else {
          std::filesystem::remove(group.routing_path);
        }
      } catch (const std::exception& e) {
        spdlog::error("withdrawing what the cutover published: {}", e.what());
      }
      published = false;
      result.routing_published = false;
    }
    if (!sources_fenced) return;
    try {
      for (const CutoverMember& m : members) {
        Runner& r = *m.runner;
        for (const TargetSide& side : r.handover_.sides) {
          for (const std::string& sql : side.fence) r.conns_.Get(side.database).Execute(sql);
        }
        for (const std::string& s : r.sources_) {
          for (const std::string& sql : r.handover_.unfence_sources) r.conns_.Get(s).Execute(sql);
        }
      }
    } catch (const std::exception& e) {
      spdlog::error(
          "undoing the cutover's fence: {}; run apply again, which finishes the cutover from here",
          e.what());
    }
  };
  auto source_conn = [&](const std::string& name) -> db::Connection& { return sources.Of(name); };
  try {
    KillPoint("cutover.blocked");
    const double took_block = SecondsSince(blocked);
    // Per table: log capture reads every committed change from the stream into the changelog (the
    // block waited for every writer); the drain runs through the blocking sessions (on MariaDB only
    // they may read the locked tables); then each key drained must be the same on its target.
    // The members' streams (one per table) read the log at once: each read is mostly waiting for
    // the server to decode up to the block's position, and one after another they made most of a
    // group's window (3 tables written flat out: 170 of 203 ms).
    if (members.size() > 1) {
      std::vector<std::future<void>> reads;
      for (CutoverMember& m : members) {
        reads.push_back(std::async(std::launch::async, [&r = *m.runner] { r.SyncSources("", std::chrono::seconds(10)); }));
      }
      WaitAll(reads);
    }
    int64_t checked = 0;
    for (size_t i = 0; i < members.size(); ++i) {
      Runner& r = *members[i].runner;
      if (members.size() == 1) r.SyncSources("", std::chrono::seconds(10));
      std::vector<db::KeyValues> last;
      for (const std::string& s : r.sources_) {
        Replay replay(r.Mapping(), db::TableName::Parse(r.params_.changelog), sources.Of(s), *drain_writers[i],
                      r.ChangelogUnlocked(s) ? &r.conns_.Get(s) : nullptr);
        for (;;) {
          // Large batches: behind the block every round trip counts.
          ReplayResult rr = replay.ApplyBatch(std::nullopt, true, kDrainBatch);
          result.changes_replayed += rr.entries;
          result.drained_blocked += rr.entries;
          last.insert(last.end(), rr.applied.begin(), rr.applied.end());
          // Every writer has committed and none can add more, so a short batch read all there was.
          if (rr.entries < kDrainBatch) break;
        }
      }
      std::sort(last.begin(), last.end());
      last.erase(std::unique(last.begin(), last.end()), last.end());
      r.Carry(last);
      if (last.size() > kCheckedKeys) last.resize(kCheckedKeys);
      if (std::vector<db::KeyValues> bad = r.StillDiffering(last, r.conns_, source_conn); !bad.empty()) {
        throw CutoverAborted(
            fmt::format("{} of the {} key(s) of {} changed last differ between source and target after the "
                        "drain (first: ({})); the cutover was undone and the sources stay in use",
                        bad.size(), last.size(), r.params_.table, fmt::join(bad.front(), ", ")));
      }
      checked += static_cast<int64_t>(last.size());
    }
    const double drained_at = SecondsSince(blocked);
    result.last_changes_checked = checked;
    // A group's statements for the targets (foreign keys, counters past the source's), read while
    // the sources are blocked.
    std::map<std::string, std::vector<std::string>> then;
    if (group.target_then) {
      for (const std::string& db : target_dbs) then[db] = group.target_then(db, source_conn);
    }
    std::vector<Holders::Move> moves;
    if (open_targets) {
      for (const std::string& db : target_dbs) {
        std::vector<std::string> each, unfence;
        for (const CutoverMember& m : members) {
          for (const TargetSide& side : m.runner->handover_.sides) {
            if (side.database != db) continue;
            each.push_back(side.block_sql);
            if (fence) unfence.insert(unfence.end(), side.unfence.begin(), side.unfence.end());
          }
        }
        std::vector<std::string> block = MergeBlocks(engine, each);
        Holders::Move move{db, block.front(), {}};
        move.then.assign(block.begin() + 1, block.end());
        move.then.insert(move.then.end(), unfence.begin(), unfence.end());
        move.then.insert(move.then.end(), then[db].begin(), then[db].end());
        moves.push_back(std::move(move));
      }
      target_then_ran = static_cast<bool>(group.target_then);
    }
    if (fence) {
      // The fence, by the sessions that block, released with them: a write that waited on the
      // block meets the fence and fails. From here the switch is decided (a later apply that finds
      // the fence up finishes it), and only now may the routing map name the targets.
      spdlog::info("cutover: block taken in {:.0f} ms, {} change(s) drained by {:.0f} ms, {} key(s) checked by {:.0f} ms",
                   took_block * 1000, result.drained_blocked, drained_at * 1000, checked, SecondsSince(blocked) * 1000);
      // The targets open under their own block: an application that switches during the hook waits
      // there until the end of the window, rather than failing. On PostgreSQL their unfence takes
      // effect only when they are released below, after the sources' fence committed, so they open
      // while the sources are fenced; MariaDB's DDL takes effect at once, so there they wait for it.
      const bool overlap = !moves.empty() && engine == db::Engine::kPostgres;
      std::future<void> opening;
      if (overlap) opening = std::async(std::launch::async, [&] { targets.TakeAll(catalog, moves, lock_timeout_ms); });
      try {
        for (const CutoverMember& m : members) {
          for (const std::string& s : m.runner->sources_) sources.RunOn(s, m.runner->handover_.fence_sources);
          KillPoint("cutover.fencing");
        }
        sources.Release(true);
      } catch (...) {
        if (opening.valid()) opening.wait();  // then undone with the rest
        throw;
      }
      sources_fenced = true;
      spdlog::info("cutover: sources fenced by {:.0f} ms", SecondsSince(blocked) * 1000);
      KillPoint("cutover.fenced");
      if (overlap) {
        opening.get();
      } else if (!moves.empty()) {
        targets.TakeAll(catalog, moves, lock_timeout_ms);
      }
    } else if (!moves.empty()) {
      targets.TakeAll(catalog, moves, lock_timeout_ms);
    }
    if (group.publish) {
      group.publish();
      published = true;
      result.routing_published = true;
    }
    KillPoint("cutover.published");
    spdlog::info("cutover: sources fenced and targets opened by {:.0f} ms", SecondsSince(blocked) * 1000);
    if (auto r = group.hook ? group.hook("during_cutover") : std::nullopt; r && !r->ok()) {
      throw CutoverAborted(
          fmt::format("the during_cutover hook failed ({}); the cutover was undone: the routing "
                      "map was withdrawn, the sources {} and stay in use; run apply again to retry",
                      r->Describe(), sources_fenced ? "were unfenced" : "are unblocked"));
    }
    if (members.size() == 1 && lead.IsShadow()) {
      // The swap, in the transaction that blocks writes: committed, it is done (a crash before the
      // state is saved is recognised from the catalog at the next run).
      db::Connection& locker = sources.Of(lead.sources_.at(0));
      const plans::Step& step = *members.front().step;
      for (size_t i = 1; i < step.sql.size(); ++i) locker.Execute(step.sql[i]);
    }
    sources.Release(true);
    targets.Release(true);
  } catch (...) {
    undo();
    throw;
  }
  result.write_blocked_ms = static_cast<int64_t>(SecondsSince(blocked) * 1000);
  KillPoint("step.ran");
  for (CutoverMember& m : members) {
    Runner& r = *m.runner;
    m.st->status = "done";
    m.st->detail = fmt::format("writes blocked for {} ms{}{}", result.write_blocked_ms, fence ? "; sources fenced" : "",
                               members.size() > 1 ? fmt::format(" (with the group's {} tables)", members.size()) : "");
    r.state_->Save(m.step->id, *m.st);
    if (r.carried_) {
      std::sort(r.carried_->keys.begin(), r.carried_->keys.end());
      r.carried_->keys.erase(std::unique(r.carried_->keys.begin(), r.carried_->keys.end()), r.carried_->keys.end());
      r.RecordProof(r.carried_->counts, r.carried_->keys);
      r.carried_.reset();
    }
  }
  if (auto r = group.hook ? group.hook("after_cutover") : std::nullopt; r && !r->ok()) {
    result.warnings.push_back(fmt::format(
        "the after_cutover hook failed ({}); the cutover itself is done", r->Describe()));
  }
}

void Runner::CheckRevertable() {
  const plans::Step* step = CutoverStep();
  if (step == nullptr || handover_.way_back.empty() || IsShadow()) {
    throw db::Error(
        db::ErrorKind::kBadInput,
        "plan '" + plan_.header.name +
            "' has no way back to revert through (only reshard and vertical_split plans made by a "
            "version that captures changes on the targets have one)");
  }
  for (const plans::Step& s : plan_.steps) {
    if (s.kind == plans::StepKind::kCleanup && Done(s.id)) {
      throw db::Error(db::ErrorKind::kBadInput, "plan '" + plan_.header.name +
                                                    "' was cleaned up (step " + s.id +
                                                    "): the window for apply --revert has ended");
    }
  }
  if (!Switched()) {
    throw db::Error(db::ErrorKind::kBadInput,
                    "plan '" + plan_.header.name +
                        "' has not switched (its cutover has not run): the sources are "
                        "still in use, there is nothing to revert");
  }
}

void Runner::Revert(const ApplyOptions& options, ApplyResult& result) {
  CheckRevertable();
  const plans::Step* step = CutoverStep();
  std::vector<CutoverMember> members = {{this, step, &states_[step->id]}};
  CutoverGroup group;
  group.routing_path = IsSplit() ? "" : options.routing_path;  // a split publishes no routing map
  if (!group.routing_path.empty()) group.publish = [this, &group] { PublishMap(group.routing_path); };
  group.hook = [this, &options](const std::string& name) { return Hook(name, options); };
  RevertWindow(members, group, options, result);
}

void Runner::RevertWindow(std::vector<CutoverMember>& members, const CutoverGroup& group,
                          const ApplyOptions& options, ApplyResult& result) {
  Runner& lead = *members.front().runner;
  const db::Catalog& catalog = lead.catalog_;
  const int lock_timeout_ms = lead.lock_timeout_ms_;
  const db::Engine engine = catalog.Url(lead.sources_.at(0)).engine;
  const bool fence = lead.handover_.fence;
  std::vector<std::string> source_dbs, target_dbs;
  for (const CutoverMember& m : members) {
    AddOnce(source_dbs, m.runner->sources_);
    AddOnce(target_dbs, m.runner->targets_);
    // Log capture: the slots, dropped at the switch, are made again before the sources can take
    // writes (before they are unfenced), so that every write from then on is captured.
    if (m.runner->streams_->enabled()) m.runner->streams_->MakeSlots();
  }
  const std::string group_note =
      members.size() > 1 ? fmt::format(" (with the group's {} tables)", members.size()) : "";
  auto record = [&](const std::string& detail) {
    for (CutoverMember& m : members) {
      KillPoint("revert.ran");
      m.st->status = "pending";  // the next apply switches forward again
      m.st->detail = detail + group_note;
      m.runner->state_->Save(m.step->id, *m.st);
    }
    result.reverted = true;
    result.ran.push_back("revert");
  };
  // What the cutover published (the routing map, a directory's entries) no longer names the targets.
  auto withdraw = [&] {
    if (group.unpublish) {
      group.unpublish();
      return true;
    }
    if (!group.routing_path.empty() && std::filesystem::exists(group.routing_path)) {
      std::filesystem::remove(group.routing_path);
      return true;
    }
    return false;
  };
  // The sources' counters past what the (fenced) targets drew, by the given sessions.
  auto counters_past = [&](const std::function<void(const std::string& source, const std::vector<std::string>&)>& run) {
    for (const CutoverMember& m : members) {
      Runner& r = *m.runner;
      if (!r.revert_then_) continue;
      const std::vector<std::string> counters = r.revert_then_(r.conns_.Get(r.targets_.at(0)));
      for (const std::string& s : r.sources_) run(s, counters);
    }
  };
  if (fence && std::all_of(members.begin(), members.end(), [](CutoverMember& m) { return m.runner->TargetsFenced(); })) {
    // A revert that fenced the targets and was killed: it was decided there; finish it.
    result.warnings.push_back(
        "the targets were fenced by a run that stopped before it recorded the revert: this run "
        "finished it");
    counters_past([&](const std::string& s, const std::vector<std::string>& sql) {
      for (const std::string& q : sql) lead.conns_.Get(s).Execute(q);
    });
    withdraw();
    for (const CutoverMember& m : members) {
      for (const std::string& s : m.runner->sources_) {
        for (const std::string& sql : m.runner->handover_.unfence_sources) m.runner->conns_.Get(s).Execute(sql);
      }
    }
    record("reverted (finished after an interrupted run)");
    return;
  }
  if (auto r = group.hook ? group.hook("before_cutover") : std::nullopt; r && !r->ok()) {
    throw CutoverAborted(
        fmt::format("the before_cutover hook refused the revert ({}); nothing was blocked, the "
                    "targets stay in use",
                    r->Describe()));
  }
  // Catch up with the targets writable, then block them.
  const Clock::time_point catching = Clock::now();
  for (;;) {
    int64_t left = 0;
    for (CutoverMember& m : members) {
      ApplyResult scratch;
      m.runner->DrainReverse(m.runner->conns_, scratch);
      result.reverse_replayed += scratch.reverse_replayed;
      left += scratch.reverse_replayed;
    }
    if (left <= kCatchUpLeft) break;
    if (SecondsSince(catching) > kRevertCatchUpSeconds) {
      throw CutoverAborted(
          "the targets' changes outpace the way back: nothing was blocked, the targets stay in "
          "use; "
          "run apply --revert again when the write rate drops");
    }
  }
  // Per database, every member's block there merged (a move_keys group's shared gate held once).
  auto blocks_on = [&](const std::string& db, bool target) {
    std::vector<std::string> each;
    for (const CutoverMember& m : members) {
      if (target) {
        for (const TargetSide& side : m.runner->handover_.sides) {
          if (side.database == db) each.push_back(side.block_sql);
        }
      } else if (std::find(m.runner->sources_.begin(), m.runner->sources_.end(), db) != m.runner->sources_.end()) {
        each.push_back(m.step->sql.at(0));
      }
    }
    return MergeBlocks(engine, each);
  };
  Holders targets(target_dbs);
  Holders sources(source_dbs);
  targets.Open(catalog, lock_timeout_ms);
  if (fence) sources.Open(catalog, lock_timeout_ms);
  const Clock::time_point blocked = Clock::now();
  for (const std::string& t : target_dbs) targets.Take(catalog, t, blocks_on(t, true), lock_timeout_ms);
  bool targets_fenced = false;
  bool withdrawn = false;
  try {
    KillPoint("revert.blocked");
    auto target_conn = [&](const std::string& name) -> db::Connection& { return targets.Of(name); };
    int64_t checked = 0;
    for (CutoverMember& m : members) {
      Runner& r = *m.runner;
      std::vector<db::KeyValues> last;
      r.DrainReverse(r.conns_, result, &last, target_conn);
      std::sort(last.begin(), last.end());
      last.erase(std::unique(last.begin(), last.end()), last.end());
      r.Carry(last);
      if (last.size() > kCheckedKeys) last.resize(kCheckedKeys);
      // Each key drained here must now be the same on its source as on its target.
      if (std::vector<db::KeyValues> bad = r.StillDiffering(last, r.conns_, nullptr, target_conn); !bad.empty()) {
        throw CutoverAborted(
            fmt::format("{} of the {} key(s) of {} changed last differ between target and source after the "
                        "drain (first: ({})); the revert was undone and the targets stay in use",
                        bad.size(), last.size(), r.params_.table, fmt::join(bad.front(), ", ")));
      }
      checked += static_cast<int64_t>(last.size());
    }
    result.last_changes_checked = checked;
    if (fence) {
      // The mirror of the cutover: the targets fenced as they are released, then what was
      // published withdrawn, then the sources opened under their block.
      for (const CutoverMember& m : members) {
        for (const TargetSide& side : m.runner->handover_.sides) targets.RunOn(side.database, side.fence);
      }
      targets.Release(true);
      targets_fenced = true;
      KillPoint("revert.fenced");
    }
    withdrawn = withdraw();
    if (fence) {
      for (const std::string& s : source_dbs) sources.Take(catalog, s, blocks_on(s, false), lock_timeout_ms);
      // A move's counters: past what the fenced targets drew, before the sources take inserts.
      counters_past([&](const std::string& s, const std::vector<std::string>& sql) { sources.RunOn(s, sql); });
      for (const CutoverMember& m : members) {
        for (const std::string& s : m.runner->sources_) sources.RunOn(s, m.runner->handover_.unfence_sources);
      }
    }
    if (auto r = group.hook ? group.hook("during_cutover") : std::nullopt; r && !r->ok()) {
      throw CutoverAborted(
          fmt::format("the during_cutover hook failed ({}) during the revert; it was undone: the "
                      "routing map is back and the targets stay in use",
                      r->Describe()));
    }
    targets.Release(true);
    sources.Release(true);
  } catch (...) {
    try {
      if (fence && !sources.empty() && engine == db::Engine::kMySQL) {
        // Before their lock goes (MariaDB's trigger DDL took effect at once).
        for (const CutoverMember& m : members) {
          for (const std::string& s : m.runner->sources_) sources.RunOn(s, m.runner->handover_.fence_sources);
        }
      }
    } catch (const std::exception& e) {
      spdlog::error("fencing the sources again: {}", e.what());
    }
    sources.Release(false);
    targets.Release(false);
    try {
      for (const CutoverMember& m : members) {
        Runner& r = *m.runner;
        if (fence) {
          for (const std::string& s : r.sources_) {
            for (const std::string& sql : r.handover_.fence_sources) r.conns_.Get(s).Execute(sql);
          }
        }
        if (targets_fenced) {
          for (const TargetSide& side : r.handover_.sides) {
            for (const std::string& sql : side.unfence) r.conns_.Get(side.database).Execute(sql);
          }
        }
      }
      if (withdrawn && group.publish) group.publish();
    } catch (const std::exception& e) {
      spdlog::error(
          "undoing the revert's fence: {}; run apply --revert again, which finishes it from here",
          e.what());
    }
    throw;
  }
  result.write_blocked_ms = static_cast<int64_t>(SecondsSince(blocked) * 1000);
  record(fmt::format(
      "reverted: writes to the targets blocked for {} ms; the sources take writes again",
      result.write_blocked_ms));
  if (auto r = group.hook ? group.hook("after_cutover") : std::nullopt; r && !r->ok()) {
    result.warnings.push_back(fmt::format(
        "the after_cutover hook failed ({}); the revert itself is done", r->Describe()));
  }
}

}  // namespace shardshift::executors
