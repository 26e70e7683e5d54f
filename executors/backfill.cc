#include "executors/backfill.h"

#include <set>

#include "executors/replay.h"

namespace shardshift::executors {

namespace {
// More changed keys in one chunk's range are left to replay, which takes them in batches.
constexpr size_t kMostTaken = 5000;
}  // namespace

Backfill::Backfill(const TableMapping& mapping, db::Connection& source, RowWriter& writer,
                   std::optional<db::TableName> changelog)
    : mapping_(mapping), source_(source), writer_(writer),
      rows_(source.engine(), mapping.source, mapping.key, mapping.columns, mapping.filter) {
  if (changelog) log_.emplace(source.engine(), *changelog, mapping.key, mapping.key);
}

ChunkResult Backfill::CopyChunk(const std::optional<db::KeyValues>& after, int64_t limit) {
  return Write(after, Read(source_, after, limit), limit);
}

ChunkRead Backfill::Read(db::Connection& conn, const std::optional<db::KeyValues>& after, int64_t limit) const {
  ChunkRead out;
  db::Transaction snapshot(conn, db::TxOptions::Snapshot());
  db::SqlText q = rows_.SelectChunk(after, std::nullopt, limit);
  out.rows = conn.Query(q.sql, q.params);
  if (log_) {
    // The chunk's range: after its start, up to its last key (a short chunk, the last, to the end).
    db::Params params;
    std::vector<std::string> terms;
    if (after) terms.push_back(log_->KeyAfter(*after, params));
    if (static_cast<int64_t>(out.rows.rows.size()) >= limit && !out.rows.rows.empty()) {
      terms.push_back(log_->KeyAtMost(writer_.KeyOf(out.rows.rows.back()), params));
    }
    std::string where;
    for (const std::string& t : terms) where += (where.empty() ? " WHERE " : " AND ") + t;
    db::ResultSet entries =
        conn.Query("SELECT _ss_id, " + log_->KeyList() + " FROM " + log_->QuotedTable() + where, params);
    // Only entries naming a key the chunk holds, text for text: a changelog made by a plan before
    // its key columns took the table's collation may order its range otherwise, and a collation
    // that ignores case or accents matches keys the chunk spells otherwise (a key the chunk lacks,
    // deleted or not, is left to replay, which deletes it at its target if gone).
    std::set<db::KeyValues> held;
    for (const db::Row& row : out.rows.rows) held.insert(writer_.KeyOf(row));
    std::set<db::KeyValues> keys;
    for (const db::Row& row : entries.rows) {
      db::KeyValues k;
      for (size_t i = 1; i < row.size(); ++i) k.push_back(row[i].value_or(""));
      if (held.count(k) == 0) continue;
      out.entry_ids.push_back(*row[0]);
      keys.insert(std::move(k));
    }
    out.entry_keys.assign(keys.begin(), keys.end());
    if (out.entry_keys.size() > kMostTaken) {  // a chunk's write stays one bounded statement per target
      out.entry_ids.clear();
      out.entry_keys.clear();
    }
  }
  snapshot.Commit();
  return out;
}

ChunkResult Backfill::Write(const std::optional<db::KeyValues>& after, const ChunkRead& read, int64_t limit) {
  ChunkResult out;
  out.cursor = after;
  out.rows_read = static_cast<int64_t>(read.rows.rows.size());
  if (!read.entry_ids.empty()) {
    // The rows changed as of the snapshot as replay writes them (deleted at their target, inserted
    // again), so that a stale row an earlier copy left is corrected; the rest insert-if-absent.
    const std::set<db::KeyValues> changed(read.entry_keys.begin(), read.entry_keys.end());
    db::Chunk replaced, rest;
    replaced.columns = rest.columns = read.rows.columns;
    for (const db::Row& row : read.rows.rows) {
      (changed.count(writer_.KeyOf(row)) > 0 ? replaced : rest).rows.push_back(row);
    }
    writer_.Replace(read.entry_keys, replaced);
    out.rows_inserted = static_cast<int64_t>(replaced.rows.size());
    if (!rest.rows.empty()) out.rows_inserted += writer_.InsertIfAbsent(rest);
    DeleteEntries(source_, *log_, read.entry_ids);  // exactly those: later ones stay queued for replay
    out.changes_taken = static_cast<int64_t>(read.entry_ids.size());
  } else if (!read.rows.rows.empty()) {
    out.rows_inserted = writer_.InsertIfAbsent(read.rows);
  }
  if (read.rows.rows.empty()) {
    out.done = true;
    return out;
  }
  out.cursor = writer_.KeyOf(read.rows.rows.back());
  out.done = out.rows_read < limit;
  return out;
}

}  // namespace shardshift::executors
