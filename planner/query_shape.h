// What a query asks of each table it reads, from PostgreSQL's own parser (libpg-query): the
// columns it filters by equality (=, IN), by range (<, >, BETWEEN), joins on, sorts by, selects,
// and the filters with a constant (status = 'active', deleted_at IS NULL) that a partial index can
// carry. The raw material of index advice. Pure: no database is touched.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace shardshift::planner {

struct SortColumn {
  std::string column;
  bool descending = false;
  bool operator==(const SortColumn&) const = default;
};

struct TableUse {
  std::string table;                      // as written: "users" or "app.users"
  std::vector<std::string> equality;      // in the order first seen, each once
  std::vector<std::string> range;
  std::vector<std::string> join;
  std::vector<SortColumn> order_by;
  std::vector<std::string> selected;      // "*" when it selects every column
  std::vector<std::string> constant_filters;  // SQL text, e.g. "status = 'active'", "deleted_at IS NULL"
};

struct QueryShape {
  bool ok = false;
  std::string error;             // the parser's message when !ok
  std::string statement;         // "select", "update", "delete", "insert", "other"
  std::vector<TableUse> tables;  // in FROM order
  // $n compared with a column: n -> (table as written, column). Lets an advisor fill parameters
  // with values of the right type and kind when it plans the query (EXPLAIN EXECUTE).
  std::map<int, std::pair<std::string, std::string>> params;
};

// columns_of resolves unqualified column names when several tables are read: table -> its columns.
// Without it (or when a name is ambiguous) such a column is attributed to the only table read, or
// dropped.
QueryShape AnalyzeQuery(const std::string& sql, const std::map<std::string, std::set<std::string>>& columns_of = {});

}  // namespace shardshift::planner
