// Vertical split advice (`advise split`): in wide tables, the large columns (average width from
// statistics, or measured on a bounded sample) that the workload's statements rarely reference:
// which columns could move to a table of their own, the bytes per row the hot path stops reading,
// and the statements that would need a join afterwards. Read-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "db/connection.h"
#include "db/schema.h"
#include "planner/workload.h"

namespace shardshift::planner {

struct SplitColumn {
  std::string column;
  double avg_width = 0;
  int64_t calls = 0;       // calls of statements that reference it
  std::string measured;    // "statistics" or "sample"
};

struct SplitAdvice {
  std::string table;
  std::vector<std::string> key;        // the primary key: what the new table is keyed by
  double row_width = 0;                // average bytes of a row, all columns
  std::vector<SplitColumn> move;       // the columns to move
  double bytes_saved = 0;              // per row, on the statements that do not reference them
  int64_t table_calls = 0;
  int64_t calls_needing_join = 0;
  std::vector<std::string> statements_needing_join;
  std::string why;
};

struct SplitAdviceOptions {
  std::string only_table;
  double min_width = 64;        // a column narrower than this is not worth moving
  double max_reference = 0.10;  // moved when referenced by at most this share of the table's calls
  int64_t sample_rows = 10'000;
};

std::vector<SplitAdvice> AdviseSplits(db::Connection& conn, const db::SchemaInfo& schema, const Workload& workload,
                                      const SplitAdviceOptions& options, std::vector<std::string>& notes);

}  // namespace shardshift::planner
