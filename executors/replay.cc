#include "executors/replay.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "executors/pacing.h"

namespace shardshift::executors {

Replay::Replay(const TableMapping& mapping, db::TableName changelog, db::Connection& source, RowWriter& writer,
               db::Connection* log)
    : mapping_(mapping), changelog_(std::move(changelog)), source_(source), log_(log ? *log : source), writer_(writer),
      source_rows_(source.engine(), mapping.source, mapping.key, mapping.columns, mapping.filter),
      log_rows_(source.engine(), changelog_, mapping.key, mapping.key) {}

namespace {
// Runs work (statements on the changelog) with sequential scans ruled out on PostgreSQL: the head
// read and the delete by id go along the primary key whatever the planner estimates. After a
// VACUUM that saw the changelog nearly empty (the cutover's catch-up vacuums it, autovacuum does
// between bursts), its statistics keep that density as it refills: at 400,000 entries PostgreSQL
// estimated 4,000 and read the head with a scan of the whole queue and a top-N sort, 49 ms a batch
// against 0.9 ms along the key; at 40,400 it deleted 5,000 ids by a scan of the whole queue too.
// The setting is SET and RESET around the statements on the session, also inside the cutover's
// transaction (a rollback undoes the SET when a statement fails there).
template <typename Work>
auto AlongTheKey(db::Connection& log, Work&& work) {
  if (log.engine() != db::Engine::kPostgres) return work();  // InnoDB reads by its clustered key
  log.Execute("SET enable_seqscan = off");
  try {
    auto out = work();
    log.Execute("RESET enable_seqscan");
    return out;
  } catch (...) {
    if (!log.InTransaction()) {
      try {
        log.Execute("RESET enable_seqscan");
      } catch (...) {  // the statement's error is the one to report
      }
    }
    throw;
  }
}
}  // namespace

void DeleteEntries(db::Connection& source, const db::RowSql& changelog, const std::vector<std::string>& ids) {
  constexpr size_t kPerStatement = 5000;
  for (size_t from = 0; from < ids.size(); from += kPerStatement) {
    const size_t to = std::min(ids.size(), from + kPerStatement);
    db::Params params;
    std::string list;
    if (source.engine() == db::Engine::kPostgres) {  // one array parameter: cheaper to plan than a list
      std::string array = "{";
      for (size_t i = from; i < to; ++i) array += (i > from ? "," : "") + ids[i];
      params.emplace_back(array + "}");
      list = "= ANY($1::bigint[])";
    } else {
      for (size_t i = from; i < to; ++i) {
        params.emplace_back(ids[i]);
        list += i > from ? ", ?" : "?";
      }
      list = "IN (" + list + ")";
    }
    AlongTheKey(source, [&] { return source.Execute("DELETE FROM " + changelog.QuotedTable() + " WHERE _ss_id " + list, params); });
  }
}


ReplayResult Replay::ApplyBatch(const std::optional<db::KeyValues>& cursor, bool backfill_done, int64_t limit) {
  ReplayResult out;
  if (!cursor && !backfill_done) return out;
  db::Params params;
  std::string where = backfill_done ? "" : " WHERE " + log_rows_.KeyAtMost(*cursor, params);
  const std::string sql = "SELECT _ss_id, " + log_rows_.KeyList() + " FROM " + log_rows_.QuotedTable() + where +
                          " ORDER BY _ss_id LIMIT " + std::to_string(limit);
  // Without a cursor the head is read along the key; with one, the planner weighs the key's range.
  auto since = [t = std::chrono::steady_clock::now()]() mutable {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - t).count();
    t = now;
    return s;
  };
  db::ResultSet batch = backfill_done ? AlongTheKey(log_, [&] { return log_.Query(sql); }) : log_.Query(sql, params);
  out.queue_seconds = since();
  if (batch.rows.empty()) return out;
  std::vector<std::string> ids;
  std::set<db::KeyValues> distinct;
  for (const db::Row& row : batch.rows) {
    ids.push_back(*row[0]);
    db::KeyValues k;
    for (size_t i = 1; i < row.size(); ++i) k.push_back(row[i].value_or(""));
    distinct.insert(std::move(k));
  }
  std::vector<db::KeyValues> keys(distinct.begin(), distinct.end());
  // The rows are read and written in groups of at most about ChunkSizer::kMaxBytes, sized from the
  // width of the rows read before (a small first group when none were): 5,000 keys of 20 KB rows
  // would otherwise be 100 MB in memory at once, behind the cutover's block too.
  for (size_t from = 0; from < keys.size();) {
    const size_t group = row_bytes_ == 0 ? kFirstGroup
                                         : static_cast<size_t>(std::max<int64_t>(1, ChunkSizer::kMaxBytes / row_bytes_));
    const size_t to = std::min(keys.size(), from + group);
    const std::vector<db::KeyValues> part(keys.begin() + static_cast<std::ptrdiff_t>(from),
                                          keys.begin() + static_cast<std::ptrdiff_t>(to));
    db::SqlText current = source_rows_.SelectByKeys(part);
    db::ResultSet rows = source_.Query(current.sql, current.params);
    if (!rows.rows.empty()) row_bytes_ = std::max<int64_t>(1, HeldBytes(rows) / static_cast<int64_t>(rows.rows.size()));
    out.read_seconds += since();
    writer_.Replace(part, rows);
    out.write_seconds += since();
    ++out.reads;
    from = to;
  }
  DeleteEntries(log_, log_rows_, ids);  // exactly those: entries logged meanwhile stay queued
  out.delete_seconds = since();
  out.entries = static_cast<int64_t>(ids.size());
  out.keys = static_cast<int64_t>(keys.size());
  out.applied = std::move(keys);
  return out;
}

void Replay::Warm() {
  log_.Query("SELECT _ss_id, " + log_rows_.KeyList() + " FROM " + log_rows_.QuotedTable() + " ORDER BY _ss_id LIMIT 1");
  db::SqlText none = source_rows_.SelectChunk(std::nullopt, std::nullopt, 0);
  source_.Query(none.sql, none.params);
}

int64_t Replay::Backlog() {
  return std::stoll(log_.Query("SELECT COUNT(*) AS n FROM " + log_rows_.QuotedTable()).Text(0, "n"));
}

}  // namespace shardshift::executors
