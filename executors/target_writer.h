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
#include <memory>
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
  std::vector<std::string> key;      // the same names on both sides
  std::vector<std::string> columns;  // source names; the key columns are among them
  std::vector<std::string> target_columns;  // their names at the target, in the same order; empty = the same
  // Only the rows that match it, on both sides (db::RowSql's filter; a move_keys migration's keys).
  std::string filter;
  // The filter in the target's names, where they differ ("" = filter).
  std::string target_filter;

  const std::vector<std::string>& TargetColumns() const { return target_columns.empty() ? columns : target_columns; }
  const std::string& TargetFilter() const { return target_filter.empty() ? filter : target_filter; }
};

// What backfill and replay write through: one table's targets (TargetWriter) or several tables at
// once (FanOutWriter, for a vertical split).
class RowWriter {
 public:
  virtual ~RowWriter() = default;
  // rows have the columns the source read, in order. Returns the rows inserted (absent before).
  virtual int64_t InsertIfAbsent(const db::Chunk& rows) = 0;
  // current: the source's current rows for some of keys (those still there).
  virtual void Replace(const std::vector<db::KeyValues>& keys, const db::Chunk& current) = 0;
  virtual db::KeyValues KeyOf(const db::Row& row) const = 0;
};

class TargetWriter : public RowWriter {
 public:
  TargetWriter(const TableMapping& mapping, std::vector<db::Connection*> targets, Router router);

  // rows have mapping.columns in order.
  int64_t InsertIfAbsent(const db::Chunk& rows) override;
  void Replace(const std::vector<db::KeyValues>& keys, const db::Chunk& current) override;
  db::KeyValues KeyOf(const db::Row& row) const override;
  size_t TargetOf(const db::KeyValues& key) const { return router_(key); }

 private:
  int64_t InsertIfAbsentOn(db::Connection& conn, const db::Chunk& rows);
  int64_t InsertIfAbsentPostgres(db::Connection& conn, const db::Chunk& rows);

  TableMapping mapping_;
  std::vector<db::Connection*> targets_;
  Router router_;
  std::vector<size_t> key_index_;  // positions of the key columns in mapping.columns
};

// Writes each row to several tables, each taking some of the columns read (a vertical split: the
// key and the columns moved to that table). The tables are written one after another; each write
// keeps TargetWriter's guarantees.
class FanOutWriter : public RowWriter {
 public:
  // read_columns: the columns of the rows given, in order; key: the key's names among them.
  FanOutWriter(std::vector<std::string> read_columns, const std::vector<std::string>& key);
  // columns: which of the read columns this writer takes (its mapping.columns), in its order.
  void Add(std::unique_ptr<TargetWriter> writer, const std::vector<std::string>& columns);

  int64_t InsertIfAbsent(const db::Chunk& rows) override;
  void Replace(const std::vector<db::KeyValues>& keys, const db::Chunk& current) override;
  db::KeyValues KeyOf(const db::Row& row) const override;

 private:
  struct Part {
    std::unique_ptr<TargetWriter> writer;
    std::vector<size_t> positions;  // in the read columns
  };
  size_t Position(const std::string& column) const;
  db::Chunk Project(const Part& part, const db::Chunk& rows) const;

  std::vector<std::string> read_columns_;
  std::vector<size_t> key_index_;
  std::vector<Part> parts_;
};

// The way back of a vertical split: a new table's current rows written into the source table's
// columns they came from, by UPDATE, so that the source row keeps its other columns. mapping.source
// is the new table (read), mapping.target the source table; columns are the new table's names and
// target_columns the source's, key first. A key whose new-table row is gone leaves the source row
// as it is: a row is deleted on the source table itself, which stays in use after the switch.
class ColumnWriter : public RowWriter {
 public:
  ColumnWriter(const TableMapping& mapping, db::Connection& source);

  int64_t InsertIfAbsent(const db::Chunk& rows) override;  // not a copy's writer: throws
  void Replace(const std::vector<db::KeyValues>& keys, const db::Chunk& current) override;
  db::KeyValues KeyOf(const db::Row& row) const override;

 private:
  TableMapping mapping_;
  db::Connection& source_;
  std::vector<size_t> key_index_;  // positions of the key columns in mapping.columns
};

}  // namespace shardshift::executors
