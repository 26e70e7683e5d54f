// SQL builders for moving and comparing rows by key, per engine: pure functions returning text
// and parameters, identifiers quoted by the engine, every value a placeholder. Shared by the
// planner (which shows these statements in a plan) and the executors (which run them per chunk).
//
// Keys are lists of columns; key values are the engine's text forms, compared by the database
// (so that order is the column type's order, not text order). Composite keys compare as row
// values on PostgreSQL and as expanded OR/AND terms on MySQL, whose optimizer ranges those better.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"
#include "db/value.h"

namespace shardshift::db {

using KeyValues = std::vector<std::string>;

struct SqlText {
  std::string sql;
  Params params;
};

class RowSql {
 public:
  // filter: a predicate (SQL text, values inlined) that every statement adds to its WHERE, so that
  // the table is seen as only its rows that match (a move_keys migration's tenants); "" = none.
  RowSql(Engine engine, TableName table, std::vector<std::string> key, std::vector<std::string> columns,
         std::string filter = "");

  // The next chunk in key order after `after` (nullopt: from the start), at most `limit` rows,
  // of every column; with `upto`, only keys <= upto.
  SqlText SelectChunk(const std::optional<KeyValues>& after, const std::optional<KeyValues>& upto,
                      int64_t limit) const;
  // The rows whose keys are in `keys` (every column).
  SqlText SelectByKeys(const std::vector<KeyValues>& keys) const;
  // Deletes the rows whose keys are in `keys`.
  SqlText DeleteByKeys(const std::vector<KeyValues>& keys) const;
  // The key of the row `offset` rows after `after` in key order (a chunk boundary), if any.
  SqlText KeyAtOffset(const std::optional<KeyValues>& after, int64_t offset) const;
  // count and an order-independent sum of 64-bit row hashes for keys in (after, upto];
  // columns "n" and "h". nullopt bounds are open.
  SqlText Checksum(const std::optional<KeyValues>& after, const std::optional<KeyValues>& upto) const;
  // The same for the first `rows` rows after `after` in key order, and the last one's key: one
  // query that both finds a segment's end and sums it. One row: the count, the sum, then the key
  // columns; no row when nothing follows `after`.
  SqlText ChecksumNext(const std::optional<KeyValues>& after, int64_t rows) const;
  // key columns and a per-row hash ("h") for keys in (after, upto], in key order: to narrow a
  // mismatching chunk down to keys.
  SqlText RowHashes(const std::optional<KeyValues>& after, const std::optional<KeyValues>& upto) const;

  // "key > $1" style predicates, exposed for other builders (the changelog's).
  std::string KeyAfter(const KeyValues& bound, Params& params) const;
  std::string KeyAtMost(const KeyValues& bound, Params& params) const;

  const std::vector<std::string>& key() const { return key_; }
  const std::vector<std::string>& columns() const { return columns_; }
  std::string QuotedTable() const { return QuoteTable(engine_, table_); }
  std::string ColumnList() const;
  std::string KeyList() const;

 private:
  std::string Placeholder(Params& params, const std::string& value) const;
  std::string Compare(const KeyValues& bound, const char* op, Params& params) const;
  std::string RangeWhere(const std::optional<KeyValues>& after, const std::optional<KeyValues>& upto,
                         Params& params) const;
  std::string RowHashExpr() const;

  Engine engine_;
  TableName table_;
  std::vector<std::string> key_;
  std::vector<std::string> columns_;
  std::string filter_;
};

}  // namespace shardshift::db
