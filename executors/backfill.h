// Backfill (DESIGN.md, rule 2): copies a source table to its targets in key order, one chunk at a
// time, each chunk read from one consistent snapshot and written insert-if-absent. The cursor (the
// last key copied) moves only after the chunk is written everywhere, and it is the caller's to
// checkpoint: restarting from an older cursor copies some rows again, harmlessly.
//
// Read and Write are the two halves of CopyChunk, so that a caller can read the next chunk (on a
// second source connection) while it writes this one: the snapshot a chunk was read from does not
// matter, since every change after it is captured and replayed once the cursor has passed its key.
//
// Given the changelog, a chunk also takes the changes it already holds: its snapshot reads the
// changelog's entries for the keys of the rows it read, and those changes are in those rows (a
// change and its entry commit together). The chunk then writes those rows as replay would (each key
// deleted at its target, its row from the chunk inserted), so a stale row an interrupted earlier copy
// left is corrected, and deletes exactly those entries once written. Replay is left only the changes
// committed after the chunk's snapshot: under a heavy writer it no longer copies every changed row
// ahead of the cursor a second time. A kill before the entries are deleted leaves them queued, and
// replaying them again is harmless.
#pragma once

#include <optional>

#include "db/connection.h"
#include "executors/target_writer.h"

namespace shardshift::executors {

// A chunk's rows and the changelog entries for keys in its range, read from one snapshot.
struct ChunkRead {
  db::ResultSet rows;
  std::vector<std::string> entry_ids;  // _ss_id of each entry
  std::vector<db::KeyValues> entry_keys;  // the distinct keys those entries name
};

struct ChunkResult {
  std::optional<db::KeyValues> cursor;  // the last key copied; unchanged when nothing was left
  int64_t rows_read = 0;
  int64_t rows_inserted = 0;
  int64_t changes_taken = 0;  // changelog entries this chunk's snapshot already held, now deleted
  bool done = false;  // the source had no rows after the cursor
};

class Backfill {
 public:
  // The connections must outlive the Backfill. changelog: the capture's table, whose entries a chunk
  // takes (nullopt: every change is left to replay).
  Backfill(const TableMapping& mapping, db::Connection& source, RowWriter& writer,
           std::optional<db::TableName> changelog = std::nullopt);

  ChunkResult CopyChunk(const std::optional<db::KeyValues>& after, int64_t limit);

  // Reads up to limit rows after the key `after` from one snapshot, on conn (the source, or a
  // second connection to it).
  ChunkRead Read(db::Connection& conn, const std::optional<db::KeyValues>& after, int64_t limit) const;
  // Writes a chunk read with limit, then deletes the entries it took (on the source connection);
  // the cursor becomes its last key.
  ChunkResult Write(const std::optional<db::KeyValues>& after, const ChunkRead& read, int64_t limit);

 private:
  TableMapping mapping_;
  db::Connection& source_;
  RowWriter& writer_;
  db::RowSql rows_;
  std::optional<db::RowSql> log_;  // the changelog, addressed by key
};

}  // namespace shardshift::executors
