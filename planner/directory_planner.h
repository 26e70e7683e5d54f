// Plans a reshard whose target layout is `directory`: a directory (plans/directory.h) created over
// the shards the table is on, whose default rule is the source layout's own (hash: xxh64-jump-v1
// onto the same shards; range: the same ranges; single: the one database), so that every key
// routes where it already is and no row moves. Two steps: create_directory (its tables and layout
// row, on the directory's database) and check_directory (every shard_by value on every shard read
// and looked up: it must route to the shard that holds it).
#pragma once

#include "db/catalog.h"
#include "db/schema.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

// The caller (PlanReshard) has checked the sources: the table on each, one shape, a unique key,
// range sources inside their ranges, hash sources holding only their keys.
plans::Plan PlanDirectory(const plans::Spec& spec, const db::Catalog& catalog, db::Engine engine,
                          const db::TableInfo& table, const std::vector<int64_t>& rows_per_source);

// A plan PlanDirectory wrote (a reshard with a create_directory step).
bool IsDirectoryPlan(const plans::Plan& plan);

}  // namespace shardshift::planner
