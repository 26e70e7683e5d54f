#include "executors/log_capture.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "db/error.h"
#include "executors/failpoint.h"

namespace shardshift::executors {

namespace {

// A session whose commits are flushed on the source before they return, whatever the server's
// synchronous_commit: a key is confirmed to the slot only once it is durable. 'local': not held
// up by the source's own synchronous replicas. (MariaDB: the server's innodb_flush_log_at_trx_commit
// decides, for every session alike.)
// A transaction with a WAL record of its own, committed with a local flush by a DurableSession:
// every WAL record before it is flushed, so the walsender may decode it. (A commit that wrote
// nothing else is left to the WAL writer; pgoutput passes the message over, the stream asking for
// none.)
constexpr const char* kFlushWal = "SELECT txid_current(), pg_logical_emit_message(false, 'shardshift', '')";

std::unique_ptr<db::Connection> DurableSession(const db::Catalog& catalog, const std::string& database) {
  auto c = catalog.Connect(database);
  if (c->engine() == db::Engine::kPostgres) c->Execute("SET synchronous_commit = local");
  return c;
}

}  // namespace

LogCapture::LogCapture(const db::Catalog& catalog, std::string database, LogSource source,
                       std::vector<CapturedTable> tables)
    : catalog_(catalog), database_(std::move(database)), source_(std::move(source)), tables_(std::move(tables)) {
  std::vector<db::StreamTable> keys;
  for (const CapturedTable& t : tables_) keys.push_back({t.table, t.key, t.only});
  binlog_ = catalog_.Url(database_).engine == db::Engine::kMySQL;
  position_ = DurableSession(catalog_, database_);
  queue_ = DurableSession(catalog_, database_);
  if (binlog_) {
    db::ResultSet r = queue_->Query("SELECT gtid FROM " + queue_->Quote(source_.position) + " WHERE id = 1");
    if (r.rows.empty()) {
      throw db::Error(db::ErrorKind::kBadInput,
                      fmt::format("the capture position of '{}' ({}) is empty: the capture step did not finish; "
                                  "run apply again",
                                  database_, source_.position.ToString()));
    }
    auto stream = std::make_unique<db::BinlogStream>(catalog_.Url(database_), database_, source_.server_id,
                                                     r.Text(0, "gtid"), std::move(keys));
    binlog_stream_ = stream.get();
    stream_ = std::move(stream);
  } else {
    stream_ = std::make_unique<db::PgLogStream>(catalog_.Url(database_), database_, source_.slot, source_.publication,
                                                std::move(keys));
  }
  thread_ = std::thread([this] { Run(); });
}

LogCapture::~LogCapture() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void LogCapture::Queue(db::Connection& c, const std::vector<db::RowChange>& changes, const std::string& resume,
                       db::Lsn at, const std::vector<uint32_t>& xids) {
  WaitVisible(xids);
  constexpr size_t kRowsPerStatement = 1000;
  std::map<size_t, std::vector<const db::RowChange*>> by_table;
  for (const db::RowChange& ch : changes) {
    for (size_t i = 0; i < tables_.size(); ++i) {
      if (tables_[i].table.name == ch.table.name && tables_[i].table.schema == ch.table.schema) {
        by_table[i].push_back(&ch);
        break;
      }
    }
  }
  db::Transaction tx(c);
  for (const auto& [i, list] : by_table) {
    const CapturedTable& t = tables_[i];
    std::string columns;
    for (const std::string& k : t.key) columns += db::QuoteIdentifier(c.engine(), k) + ", ";
    for (size_t from = 0; from < list.size(); from += kRowsPerStatement) {
      const size_t to = std::min(list.size(), from + kRowsPerStatement);
      std::string values;
      db::Params params;
      for (size_t r = from; r < to; ++r) {
        values += r > from ? ", (" : "(";
        for (const std::string& v : list[r]->key) {
          params.emplace_back(v);
          values += c.Placeholder(static_cast<int>(params.size())) + ", ";
        }
        params.emplace_back(std::string(1, list[r]->op));
        values += c.Placeholder(static_cast<int>(params.size())) + ")";
      }
      c.Execute("INSERT INTO " + db::QuoteTable(c.engine(), t.changelog) + " (" + columns + "_ss_op) VALUES " + values,
                params);
    }
  }
  if (binlog_ && !resume.empty()) {
    // With the keys, in their transaction: where the next stream continues.
    c.Execute("UPDATE " + c.Quote(source_.position) + " SET gtid = ?, at = ?, saved_at = CURRENT_TIMESTAMP(6) WHERE id = 1",
              {resume, binlog_stream_->Position(at).ToString()});
  }
  tx.Commit();
  queued_ += static_cast<int64_t>(changes.size());
}

void LogCapture::WaitVisible(const std::vector<uint32_t>& xids) {
  if (binlog_ || xids.empty()) return;
  db::Connection& c = *queue_;
  const auto started = std::chrono::steady_clock::now();
  constexpr auto kPatience = std::chrono::seconds(60);
  constexpr auto kPatienceStopping = std::chrono::seconds(2);  // what is not queued comes again
  for (int attempt = 0;; ++attempt) {
    // xmin:xmax:xip,... with 64-bit ids; the stream's are their low 32 bits, of transactions that
    // began before now (within 2^31 of xmax).
    const std::string snap = c.Query("SELECT pg_current_snapshot()::text AS s").Text(0, "s");
    const size_t colon1 = snap.find(':');
    const size_t colon2 = snap.find(':', colon1 + 1);
    const uint64_t xmax = std::stoull(snap.substr(colon1 + 1, colon2 - colon1 - 1));
    std::vector<uint64_t> in_progress;
    for (size_t from = colon2 + 1; from < snap.size();) {
      size_t comma = snap.find(',', from);
      if (comma == std::string::npos) comma = snap.size();
      in_progress.push_back(std::stoull(snap.substr(from, comma - from)));
      from = comma + 1;
    }
    std::optional<uint32_t> running;
    for (uint32_t xid : xids) {
      const uint64_t full =
          xmax + static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(xid - static_cast<uint32_t>(xmax))));
      if (full >= xmax || std::find(in_progress.begin(), in_progress.end(), full) != in_progress.end()) {
        running = xid;
        break;
      }
    }
    if (!running) return;
    if (attempt == 1) spdlog::debug("capture of {}: waiting until transaction {} can be read", database_, *running);
    const auto waited = std::chrono::steady_clock::now() - started;
    if (waited > (stop_ ? kPatienceStopping : kPatience)) {
      throw db::Error(db::ErrorKind::kStatement,
                      fmt::format("the change stream of '{}' read transaction {} from the WAL, but after {} s other "
                                  "sessions still cannot see what it wrote (its commit held back, such as by a "
                                  "synchronous standby that does not answer?); nothing of it was queued",
                                  database_, *running,
                                  std::chrono::duration_cast<std::chrono::seconds>(waited).count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(attempt + 1, 10)));
  }
}

db::Lsn LogCapture::ServerPosition() {
  if (binlog_) return db::BinlogStream::ServerPosition(*position_).lsn();
  const db::Lsn target = db::ParseLsn(position_->Query("SELECT pg_current_wal_insert_lsn()::text AS l").Text(0, "l"));
  // The stream can send up to target now even when the application commits without waiting for
  // the flush (synchronous_commit = off): else the WAL writer's 200 ms would floor every catch-up.
  position_->Query(kFlushWal);
  return target;
}

std::string LogCapture::Format(db::Lsn lsn) const {
  return binlog_ ? binlog_stream_->Position(lsn).ToString() : db::FormatLsn(lsn);
}

void LogCapture::Run() {
  // Keys are queued in one transaction per gathering: at once when a CatchUp waits, else once
  // kGather has passed since the first one waiting or kGatherChanges are in hand. Each queueing
  // commits with a flush on the source; one per few application transactions would compete with
  // the application's own commits (measured by bench/capture.sh).
  constexpr auto kGather = std::chrono::milliseconds(200);
  // Eager (a cutover catching up): queued every kEagerEvery, and on PostgreSQL the WAL flushed as
  // often. The sources may commit without waiting for the flush (synchronous_commit = off); the
  // walsender decodes only flushed WAL, which the WAL writer flushes every wal_writer_delay (200 ms
  // by default). A stream that trails by that much puts that much of the writers' changes behind
  // the cutover's block: 1,600–1,900 changes of a 290 ms window in bench/split.sh.
  constexpr auto kEagerEvery = std::chrono::milliseconds(20);
  auto flushed = std::chrono::steady_clock::now();
  constexpr size_t kGatherChanges = 5000;
  try {
    auto asked = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    std::vector<db::RowChange> gathered;
    std::vector<uint32_t> gathered_xids;  // PostgreSQL: their transactions
    auto gathered_since = std::chrono::steady_clock::now();
    db::Lsn seen = 0;     // everything before this is gathered or queued
    db::Lsn durable = 0;  // everything before this is queued (and confirmed)
    // MariaDB: the GTID state after the last transaction read, and its end; saved with keys, and
    // alone every kSaveEvery so that a restart need not re-read a long stretch of other tables.
    constexpr auto kSaveEvery = std::chrono::seconds(10);
    std::string resume;
    db::Lsn resume_at = 0;
    auto saved = std::chrono::steady_clock::now();
    bool unsaved = false;
    while (!stop_) {
      bool waiting = false;
      db::Lsn wanted = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        waiting = waiters_ > 0;
        wanted = wanted_;
      }
      const bool eager = eager_;
      if (eager && !binlog_ && std::chrono::steady_clock::now() - flushed >= kEagerEvery) {
        queue_->Query(kFlushWal);
        flushed = std::chrono::steady_clock::now();
      }
      if (waiting && std::chrono::steady_clock::now() - asked > std::chrono::milliseconds(20)) {
        stream_->RequestPosition();  // its answer says how far the server has sent
        asked = std::chrono::steady_clock::now();
      }
      // Short reads whether or not a CatchUp waits: one that starts meanwhile is noticed within
      // kPoll, and gathering goes on across reads.
      constexpr auto kPoll = std::chrono::milliseconds(20);
      const auto wait = kPoll;
      db::StreamBatch batch = stream_->Read(wait, kGatherChanges);
      if (!batch.changes.empty()) {
        if (gathered.empty()) gathered_since = std::chrono::steady_clock::now();
        std::move(batch.changes.begin(), batch.changes.end(), std::back_inserter(gathered));
        gathered_xids.insert(gathered_xids.end(), batch.xids.begin(), batch.xids.end());
      }
      seen = std::max({seen, batch.committed, batch.received});
      if (!batch.resume.empty()) {
        resume = batch.resume;
        resume_at = batch.committed;
        unsaved = true;
      }
      const auto now = std::chrono::steady_clock::now();
      // A CatchUp waits: queued once the stream has what it waits for, not after every read on
      // the way there (each queueing is a flushed commit on the source, competing with the
      // application's).
      const bool wanted_in_hand = waiting && seen >= wanted;
      if ((!gathered.empty() &&
           (wanted_in_hand || gathered.size() >= kGatherChanges || now - gathered_since >= (eager ? kEagerEvery : kGather))) ||
          (binlog_ && unsaved && now - saved >= kSaveEvery)) {
        Queue(*queue_, gathered, resume, resume_at, gathered_xids);
        gathered.clear();
        gathered_xids.clear();
        saved = now;
        unsaved = false;
        KillPoint("capture.queued");  // queued, not yet confirmed: they come again
      }
      if (gathered.empty() && seen > durable) {
        stream_->Confirm(seen);
        durable = seen;
        std::lock_guard<std::mutex> lock(mu_);
        durable_ = seen;
        progressed_.notify_all();
      }
    }
    // Stopped (apply ends): what is in hand is queued, and MariaDB's position saved with it, so
    // that the next stream starts from here and status can tell how far the log has gone since.
    if (!gathered.empty() || (binlog_ && unsaved)) Queue(*queue_, gathered, resume, resume_at, gathered_xids);
  } catch (...) {
    // The stream goes at once: a server shutting down waits for its logical streams to confirm
    // all they were sent, which a failed pump never will.
    stream_.reset();
    std::lock_guard<std::mutex> lock(mu_);
    failure_ = std::current_exception();
    progressed_.notify_all();
  }
}

void LogCapture::Check() {
  std::lock_guard<std::mutex> lock(mu_);
  if (failure_) std::rethrow_exception(failure_);
}

void LogCapture::CatchUp(std::chrono::milliseconds timeout) {
  const auto started = std::chrono::steady_clock::now();
  const db::Lsn target = ServerPosition();
  std::unique_lock<std::mutex> lock(mu_);
  ++waiters_;
  wanted_ = std::max(wanted_, target);
  // A long backlog (a stream resumed after a pause) takes its time while it advances, up to ten
  // times timeout in all: writers that add WAL faster than the stream reads it would keep it
  // from ever getting there.
  bool reached = false;
  bool outpaced = false;
  for (db::Lsn seen = durable_;;) {
    reached = progressed_.wait_for(lock, timeout, [&] { return durable_ >= target || failure_ || durable_ > seen; });
    if (!reached || failure_ || durable_ >= target) break;
    if (std::chrono::steady_clock::now() - started > 10 * timeout) {
      outpaced = true;
      break;
    }
    seen = durable_;
  }
  --waiters_;
  if (failure_) std::rethrow_exception(failure_);
  if (outpaced) {
    throw db::Error(db::ErrorKind::kStatement,
                    fmt::format("the change stream of '{}' is still behind after {} s (at {}, the server at {}): the "
                                "writers add to the log faster than it is read (nothing was blocked); run apply again "
                                "when the write rate drops",
                                database_, 10 * timeout.count() / 1000, Format(durable_), Format(target)));
  }
  if (!reached) {
    throw db::Error(db::ErrorKind::kStatement,
                    fmt::format("the change stream of '{}' did not advance for {} ms on its way to {} (it is at {})",
                                database_, timeout.count(), Format(target), Format(durable_)));
  }
  spdlog::debug("capture of {} caught up with {} in {} ms", database_, Format(target),
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace shardshift::executors
