// Plans a reshard: checks the spec against the live databases (every database known and of one
// engine, the table on every source in one shape, a unique NOT NULL key, each range source
// holding only its range), predicts where rows land and the skew, and writes the steps with their
// SQL: create the target tables, install capture, backfill each source, replay, verify, cut over,
// and clean up (a separate, later step). Read-only; deterministic for unchanged databases.
//
// Step params (all strings; lists as JSON arrays): table, target_table, key, columns, targets,
// changelog, chunk_rows, source (backfill/replay/cleanup), sources (verify/cutover).
#pragma once

#include <string>

#include "db/catalog.h"
#include "planner/inspector.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

struct PlanOptions {
  int64_t read_all_keys_below = 1'000'000;
  int64_t sample_keys = 200'000;
  // A move_tables plan's table: the target keeps the source's sequences and counters (BuildTargetDdl).
  bool keep_counters = false;
};

// Throws plans::InputError (spec at fault, located in the spec) or db::Error.
plans::Plan PlanReshard(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader,
                        const PlanOptions& options = {});

}  // namespace shardshift::planner
