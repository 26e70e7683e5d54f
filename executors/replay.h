// Replay (DESIGN.md, rule 3): takes changelog entries as a queue. A batch is read, the source's
// current rows for its keys are re-read and written to the targets (TargetWriter::Replace), and
// then exactly those entries are deleted by id: never "everything below id N", since ids commit
// out of order. Entries whose key lies beyond the backfill cursor are deferred, not dropped: they
// stay queued until the backfill has written past them, so a row the backfill copies from an older
// snapshot is always corrected afterwards, also after a crash between a write and its checkpoint.
#pragma once

#include <optional>

#include "db/connection.h"
#include "executors/target_writer.h"

namespace shardshift::executors {

struct ReplayResult {
  int64_t entries = 0;  // changelog entries applied and removed
  int64_t keys = 0;     // distinct keys among them
  std::vector<db::KeyValues> applied;  // those keys
  int64_t reads = 0;    // queries that read the source's rows (a batch's keys in byte-bounded groups)
  // Where the batch's time went: reading the changelog's entries, the source's rows, writing the
  // targets, deleting the entries.
  double queue_seconds = 0, read_seconds = 0, write_seconds = 0, delete_seconds = 0;
};

// Deletes exactly the changelog entries ids (their _ss_id), on the source that holds the changelog.
void DeleteEntries(db::Connection& source, const db::RowSql& changelog, const std::vector<std::string>& ids);

class Replay {
 public:
  // changelog: the capture's table, with columns _ss_id and the key columns. log: the session that
  // reads and deletes its entries, when not source (the cutover's block on MariaDB locks the table
  // but not a changelog that log capture fills from another session).
  Replay(const TableMapping& mapping, db::TableName changelog, db::Connection& source, RowWriter& writer,
         db::Connection* log = nullptr);

  // Applies up to limit entries. cursor: the backfill's last written key; nullopt with
  // backfill_done = false means nothing is copied yet (every entry waits).
  ReplayResult ApplyBatch(const std::optional<db::KeyValues>& cursor, bool backfill_done, int64_t limit);
  // Entries queued now (all, including deferred ones).
  int64_t Backlog();
  // Runs the shapes of a batch's reads, returning nothing: a fresh session's first statements on a
  // table load its catalog entries, which the cutover does before its block rather than behind it.
  void Warm();

 private:
  TableMapping mapping_;
  db::TableName changelog_;
  db::Connection& source_;
  db::Connection& log_;
  RowWriter& writer_;
  db::RowSql source_rows_;
  db::RowSql log_rows_;  // the changelog, addressed by key
  static constexpr size_t kFirstGroup = 100;
  int64_t row_bytes_ = 0;  // the width of the rows read last, as held in memory (0: none read yet)
};

}  // namespace shardshift::executors
