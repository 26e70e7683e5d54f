// Shard key advice (`advise shard`): for each large table, the columns it could be hash-sharded
// on — its primary key, tenant- or owner-like columns, foreign keys to other tables, and the
// columns the workload filters on by equality — each scored on:
//   cardinality (distinct values, from statistics or a sample),
//   skew (the most common value's share of rows, and a sample of rows hashed onto N shards by the
//     routing function: predicted max/mean),
//   colocation (the tables that share the key through foreign keys, so joins stay on one shard),
//   the workload (the share of the calls of the statements reading the table that filter on the
//     column by equality, and so would touch one shard).
// Plus a suggested shard count from the table's size, its growth where the server counts it (the
// inserts in a named window: since the statistics were reset or the server started, its length
// and how far it can be trusted; a window that holds most of the table's rows is its load, not its
// growth), and a target size per shard, and the hot spot a range layout would have on a column
// that grows with time (correlated with the physical order, auto-increment, or defaulting to now).
// Read-only (bounded sampling queries).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "db/connection.h"
#include "db/schema.h"
#include "planner/workload.h"

namespace shardshift::planner {

struct ShardKeyCandidate {
  std::string column;
  std::vector<std::string> reasons;  // why it is a candidate: "primary key", "tenant-like name", ...
  bool unique = false;               // a unique NOT NULL key by itself (else a spec keys by it + the primary key)
  double distinct = 0;
  double top_share = 0;              // rows of the most common value / rows
  std::string top_value;
  double hash_skew = 0;              // predicted max/mean rows on the shards, from a sample
  int64_t sampled_rows = 0;
  std::vector<std::string> colocated;  // tables that would share this key
  double workload_share = -1;        // -1: no workload known
  int64_t single_shard_calls = 0;
  int64_t table_calls = 0;
  bool monotonic = false;
  double score = 0;
  std::string why;
};

// What the server counted of a table's inserts, and over which window.
struct Growth {
  bool known = false;
  int64_t inserted = 0;   // rows inserted in the window
  double seconds = 0;     // the window's length
  std::string since;      // its start, as the server prints it
  std::string start;      // what started it: "statistics reset", "server start", ...
  bool upper_bound = false;  // the counters may predate `since` (PostgreSQL keeps them over a clean restart)
  bool fill = false;      // most of the table's rows were inserted in the window: a load or a new table, not growth
  double per_day = 0;     // inserted / seconds * 86400 (not used for the shard count when fill)
  int64_t written = 0;    // rows inserted, updated and deleted in the window
};

// Rows inserted (and written) per table, and the window they were counted in; keyed by
// "schema.table" (MariaDB: ".table"). PostgreSQL: pg_stat_user_tables since this database's
// statistics were reset, or, never reset, since at least the server's start; MariaDB:
// performance_schema's per-table counts since the server's start. Empty when unreadable.
std::map<std::string, Growth> ReadGrowth(db::Connection& conn);

struct ShardAdvice {
  std::string table;      // schema.name (MySQL: name)
  int64_t rows = 0;
  int64_t bytes = 0;
  Growth growth;
  int shards = 0;         // the count the skew was computed for
  int suggested_shards = 0;
  std::string shards_why;
  std::vector<ShardKeyCandidate> candidates;  // best first
  std::vector<std::string> warnings;          // hot spots of a range layout
};

struct ShardAdviceOptions {
  std::string only_table;
  int shards = 4;                            // N for the skew; 0: the suggested count
  int64_t target_shard_bytes = 50LL << 30;   // a shard this big is full
  int64_t min_rows = 10'000;                 // smaller tables are not advised (unless named)
  int64_t sample_rows = 100'000;
};

std::vector<ShardAdvice> AdviseShards(db::Connection& conn, const db::SchemaInfo& schema, const Workload& workload,
                                      const ShardAdviceOptions& options, std::vector<std::string>& notes);

}  // namespace shardshift::planner
