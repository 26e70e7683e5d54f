// Index advice from the schema and the server's usage counters (read-only): exact duplicates,
// indexes a wider one makes redundant (a left prefix of it, neither unique nor partial), indexes
// unused since the counters were reset, and foreign keys without an index on the referencing
// columns (deletes and key updates on the parent then scan the child). An index backing a
// constraint, a unique index, or the only index serving a foreign key is never proposed for
// dropping. Each finding says why, with numbers, and the statement that would fix it.
//
// Workload-based advice (missing indexes from pg_stat_statements / performance_schema, measured
// with HypoPG) builds on planner/query_shape.h and is not here yet.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "db/connection.h"
#include "db/schema.h"

namespace shardshift::planner {

struct IndexUsage {
  std::map<std::pair<std::string, std::string>, int64_t> scans;  // (table, index) -> scans counted
  std::string since;  // when counting started, as the server says it
  double seconds = 0; // how long it has counted (a window under a week is said with every unused finding)
  bool known = false; // false when the server keeps no counters (then nothing is called unused)
};

// PostgreSQL: pg_stat_user_indexes since pg_stat_database.stats_reset (or the server's start);
// MariaDB: performance_schema.table_io_waits_summary_by_index_usage since the server's start.
IndexUsage ReadIndexUsage(db::Connection& conn);

struct IndexFinding {
  std::string kind;       // "duplicate", "redundant", "unused", "missing_fk_index"
  std::string table;      // schema-qualified on PostgreSQL
  std::string index;      // the index to drop, or the name proposed for the one to create
  std::vector<std::string> columns;  // of the index to create (missing_fk_index)
  std::string why;
  std::string statement;  // the fix, online
  std::string keeper = "";  // duplicate, redundant: the index that stays and serves what this one served
};

std::vector<IndexFinding> AdviseIndexes(db::Engine engine, const db::SchemaInfo& schema, const IndexUsage& usage,
                                        const std::string& only_table = "");

}  // namespace shardshift::planner
