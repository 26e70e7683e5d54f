#include "executors/backfill.h"

namespace shardshift::executors {

Backfill::Backfill(const TableMapping& mapping, db::Connection& source, RowWriter& writer)
    : mapping_(mapping), source_(source), writer_(writer),
      rows_(source.engine(), mapping.source, mapping.key, mapping.columns) {}

ChunkResult Backfill::CopyChunk(const std::optional<db::KeyValues>& after, int64_t limit) {
  return Write(after, Read(source_, after, limit), limit);
}

db::ResultSet Backfill::Read(db::Connection& conn, const std::optional<db::KeyValues>& after, int64_t limit) const {
  db::Transaction snapshot(conn, db::TxOptions::Snapshot());
  db::SqlText q = rows_.SelectChunk(after, std::nullopt, limit);
  db::ResultSet chunk = conn.Query(q.sql, q.params);
  snapshot.Commit();
  return chunk;
}

ChunkResult Backfill::Write(const std::optional<db::KeyValues>& after, const db::ResultSet& chunk, int64_t limit) {
  ChunkResult out;
  out.cursor = after;
  out.rows_read = static_cast<int64_t>(chunk.rows.size());
  if (chunk.rows.empty()) {
    out.done = true;
    return out;
  }
  out.rows_inserted = writer_.InsertIfAbsent(chunk);
  out.cursor = writer_.KeyOf(chunk.rows.back());
  out.done = out.rows_read < limit;
  return out;
}

}  // namespace shardshift::executors
