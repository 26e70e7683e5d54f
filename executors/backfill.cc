#include "executors/backfill.h"

namespace shardshift::executors {

Backfill::Backfill(const TableMapping& mapping, db::Connection& source, TargetWriter& writer)
    : mapping_(mapping), source_(source), writer_(writer),
      rows_(source.engine(), mapping.source, mapping.key, mapping.columns) {}

ChunkResult Backfill::CopyChunk(const std::optional<db::KeyValues>& after, int64_t limit) {
  ChunkResult out;
  out.cursor = after;
  db::ResultSet chunk;
  {
    db::Transaction snapshot(source_, db::TxOptions::Snapshot());
    db::SqlText q = rows_.SelectChunk(after, std::nullopt, limit);
    chunk = source_.Query(q.sql, q.params);
    snapshot.Commit();
  }
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
