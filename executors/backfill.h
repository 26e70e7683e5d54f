// Backfill (DESIGN.md, rule 2): copies a source table to its targets in key order, one chunk at a
// time, each chunk read from one consistent snapshot and written insert-if-absent. The cursor (the
// last key copied) moves only after the chunk is written everywhere, and it is the caller's to
// checkpoint: restarting from an older cursor copies some rows again, harmlessly.
//
// Read and Write are the two halves of CopyChunk, so that a caller can read the next chunk (on a
// second source connection) while it writes this one: the snapshot a chunk was read from does not
// matter, since every change after it is captured and replayed once the cursor has passed its key.
#pragma once

#include <optional>

#include "db/connection.h"
#include "executors/target_writer.h"

namespace shardshift::executors {

struct ChunkResult {
  std::optional<db::KeyValues> cursor;  // the last key copied; unchanged when nothing was left
  int64_t rows_read = 0;
  int64_t rows_inserted = 0;
  bool done = false;  // the source had no rows after the cursor
};

class Backfill {
 public:
  // The connections must outlive the Backfill.
  Backfill(const TableMapping& mapping, db::Connection& source, RowWriter& writer);

  ChunkResult CopyChunk(const std::optional<db::KeyValues>& after, int64_t limit);

  // Reads up to limit rows after the key `after` from one snapshot, on conn (the source, or a
  // second connection to it).
  db::ResultSet Read(db::Connection& conn, const std::optional<db::KeyValues>& after, int64_t limit) const;
  // Writes rows read with limit; the cursor becomes their last key.
  ChunkResult Write(const std::optional<db::KeyValues>& after, const db::ResultSet& rows, int64_t limit);

 private:
  TableMapping mapping_;
  db::Connection& source_;
  RowWriter& writer_;
  db::RowSql rows_;
};

}  // namespace shardshift::executors
