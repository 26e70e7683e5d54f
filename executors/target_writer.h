// Writes rows of one source table to its targets through a row mapping: which target database
// each row belongs on (for a reshard, the hash shard of its key). The two writes the copy
// invariant needs (DESIGN.md, rules 2 and 3):
//   InsertIfAbsent: backfill's write. A row whose key is already at its target is left alone (the
//     target's copy is as new or newer: replay re-reads the source). Any other unique conflict is an
//     error naming the key: never INSERT IGNORE or REPLACE, which would swallow it.
//   Replace: replay's write. The targets converge on the source's current rows for those keys: each
//     key is deleted at its target and its current row, if the source still has one, inserted, in
//     one transaction per target.
// Writes to several targets at once, one thread per target connection; a TargetWriter itself is
// used from one thread at a time. The connections must outlive the writer.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "db/connection.h"
#include "db/row_sql.h"

namespace shardshift::executors {

// Where a row goes: the index of its target, from its key values.
using Router = std::function<size_t(const db::KeyValues& key)>;

// The table on the source and targets, its key and the columns that move.
struct TableMapping {
  db::TableName source;
  db::TableName target;
  std::vector<std::string> key;
  std::vector<std::string> columns;  // the key columns are among them
};

class TargetWriter {
 public:
  TargetWriter(const TableMapping& mapping, std::vector<db::Connection*> targets, Router router);

  // rows have mapping.columns in order. Returns the rows inserted (absent before).
  int64_t InsertIfAbsent(const db::Chunk& rows);
  // current: the source's current rows for some of keys (those still there).
  void Replace(const std::vector<db::KeyValues>& keys, const db::Chunk& current);

  db::KeyValues KeyOf(const db::Row& row) const;
  size_t TargetOf(const db::KeyValues& key) const { return router_(key); }

 private:
  int64_t InsertIfAbsentOn(db::Connection& conn, const db::Chunk& rows);
  int64_t InsertIfAbsentPostgres(db::Connection& conn, const db::Chunk& rows);

  TableMapping mapping_;
  std::vector<db::Connection*> targets_;
  Router router_;
  std::vector<size_t> key_index_;  // positions of the key columns in mapping.columns
};

}  // namespace shardshift::executors
