// Backfill (DESIGN.md, rule 2): copies a source table to its targets in key order, one chunk at a
// time, each chunk read from one consistent snapshot and written insert-if-absent. The cursor (the
// last key copied) moves only after the chunk is written everywhere, and it is the caller's to
// checkpoint: restarting from an older cursor copies some rows again, harmlessly.
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
  Backfill(const TableMapping& mapping, db::Connection& source, TargetWriter& writer);

  ChunkResult CopyChunk(const std::optional<db::KeyValues>& after, int64_t limit);

 private:
  TableMapping mapping_;
  db::Connection& source_;
  TargetWriter& writer_;
  db::RowSql rows_;
};

}  // namespace shardshift::executors
