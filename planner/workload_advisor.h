// Missing-index advice from the workload: the statements pg_stat_statements counted (MariaDB:
// performance_schema's statement digests, rewritten into PostgreSQL's syntax to be parsed),
// parsed with libpg-query (planner/query_shape.h) into candidates per table (equality columns first,
// most selective first, then the sort or one range column; INCLUDE of a few selected columns; a
// partial predicate from IS [NOT] NULL filters, and from equality filters whose constant
// pg_qualstats saw the same in every execution), each measured as the drop in planner cost of the
// statements it serves: with HypoPG hypothetical indexes where the extension is installed
// (EXPLAIN EXECUTE with the constants pg_qualstats saw, else values sampled from the table), from
// statistics alone where not, saying which (MariaDB has no hypothetical indexes: the rows its
// EXPLAIN FORMAT=JSON says the statement reads now against those the optimizer expects to read
// through the candidate, built on a temporary sample copy of the table; candidates it would not
// choose are dropped; no INCLUDE, partial or expression candidates there). LIKE prefixes
// (text_pattern_ops unless the collation is C) and expressions of one column (lower(email)) are
// candidates on PostgreSQL. A candidate must save at least three page reads a call over what the
// existing indexes give, or it is noted and dropped. Candidates an existing index or a better candidate already covers are dropped. Read-only
// (hypothetical indexes live in the session only).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "db/connection.h"
#include "db/schema.h"
#include "planner/query_shape.h"
#include "planner/workload.h"

namespace shardshift::planner {

struct IndexCandidate {
  db::Engine engine = db::Engine::kPostgres;
  std::string schema;
  std::string table;
  std::vector<SortColumn> columns;
  std::vector<std::string> include;
  std::string where;
  int64_t constants_seen = 0;  // executions pg_qualstats saw with the constant in `where`
  std::string name;            // set when the derived name is taken (by another proposal): Name() gives it

  // PostgreSQL: CREATE INDEX [CONCURRENTLY] name ON ...; MariaDB: ALTER TABLE ... ADD INDEX ...
  // (online when concurrently).
  std::string Definition(bool concurrently) const;
  std::string Name() const;
};

struct WorkloadFinding {
  IndexCandidate index;
  std::vector<std::string> statements;  // the statements it serves (normalized text)
  int64_t calls = 0;
  double cost_before = 0;  // planner cost of those statements, summed over their calls
  double cost_after = 0;
  int64_t size_bytes = -1;  // HypoPG's estimate, -1 unknown
  int64_t table_writes = 0; // rows the workload's inserts, updates and deletes wrote to the table
  double write_cost = 0;    // what keeping the index would add to those writes, in planner units
  double net_benefit = 0;   // (cost_before - cost_after) - write_cost: ranked by this
  // "hypopg"; MariaDB: "sample" (the candidate built on a sample copy, the optimizer's estimate
  // through it), "explain" (EXPLAIN FORMAT=JSON now, statistics for the index); or "statistics".
  std::string measured_with;
  std::vector<std::string> explained;  // MariaDB: what EXPLAIN said of each statement served
  std::string why;
};

// A workload statement whose plan, as the server makes it now, reads a table through an index.
struct IndexReader {
  std::string statement;  // normalized text
  int64_t calls = 0;
};

// For each (table, index) (PostgreSQL: schema.table), the sampled workload statements the server's
// plan reads through it now (EXPLAIN with sampled values; MariaDB EXPLAIN FORMAT=JSON's key). What a
// proposed drop must account for. Read-only.
std::map<std::pair<std::string, std::string>, std::vector<IndexReader>> IndexesReadNow(db::Connection& conn,
                                                                                    const db::SchemaInfo& schema,
                                                                                    const Workload& workload,
                                                                                    const std::string& only_table);

// notes: what limited the advice (no pg_stat_statements, no HypoPG, statements that did not parse).
// workload: ReadWorkload(conn, schema, 200).
std::vector<WorkloadFinding> AdviseFromWorkload(db::Connection& conn, const db::SchemaInfo& schema,
                                                const Workload& workload, const std::string& only_table,
                                                std::vector<std::string>& notes);

}  // namespace shardshift::planner
