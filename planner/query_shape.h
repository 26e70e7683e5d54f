// What a query asks of each table it reads, from PostgreSQL's own parser (libpg-query): the
// columns it filters by equality (=, IN), by range (<, >, BETWEEN), joins on, sorts by, selects,
// and the filters with a constant (status = 'active', deleted_at IS NULL) that a partial index can
// carry. The raw material of index advice. Pure: no database is touched.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace shardshift::planner {

struct SortColumn {
  std::string column;       // a column name, or an expression's SQL text when `expression`
  bool descending = false;
  bool expression = false;  // lower("email"): indexed as an expression
  std::string opclass;      // an operator class for the key column ("text_pattern_ops"), "" for the default
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
  std::vector<std::string> prefix;        // compared with LIKE and a pattern that may start with a prefix ('abc%', $1)
  // A function of one column compared by equality, as SQL text with the column quoted: lower("email").
  std::vector<std::string> expressions;
};

struct QueryShape {
  bool ok = false;
  std::string error;             // the parser's message when !ok
  std::string statement;         // "select", "update", "delete", "insert", "other"
  std::vector<TableUse> tables;  // in FROM order
  // $n compared with a column: n -> (table as written, column). Lets an advisor fill parameters
  // with values of the right type and kind when it plans the query (EXPLAIN EXECUTE).
  std::map<int, std::pair<std::string, std::string>> params;
  std::set<int> like_params;  // the $n that are LIKE patterns: a sampled value stands in as a prefix ('abc%')
};

// columns_of resolves unqualified column names when several tables are read: table -> its columns.
// Without it (or when a name is ambiguous) such a column is attributed to the only table read, or
// dropped.
QueryShape AnalyzeQuery(const std::string& sql, const std::map<std::string, std::set<std::string>>& columns_of = {});

// The columns an expression (an index key part such as lower(email)) names, each once; nullopt
// with the parser's message in `error` when it does not parse as an expression.
std::optional<std::vector<std::string>> ExpressionColumns(const std::string& expression, std::string& error);

}  // namespace shardshift::planner
