// Plans a move_keys migration (docs/move-keys.md): some shard_by values of a directory-routed
// layout (tenants), with their rows in every colocated table, moved from the shard the directory
// says to another database, online, blocking only those keys' writes at the cutover.
//
// Each table is planned as a reshard of one source onto one target (PlanReshard, as move_tables
// does), then narrowed to the keys: every step's params carry row_filter (the copy, replay and
// verification see only the moved rows, on both sides); capture records only those keys' changes;
// instead of the whole-table fences and LOCK TABLE, key gates (planner/key_gate_sql.h) on the
// source (open until the cutover) and on the target (fenced until it); the target table is created
// only where it is missing and never dropped. The group's `cutover` step (params: tables, source,
// target, directory, keys, fingerprints, hooks) holds both gates for every table at once, drains,
// fences the source gate and opens the target's, and points the keys' directory entries at the
// target. Cleanup removes capture and the target's gate and deletes the moved rows from the source
// in throttled chunks; the source gate stays, refusing late writers of the moved keys. Read-only.
#pragma once

#include "db/catalog.h"
#include "planner/inspector.h"
#include "planner/reshard_planner.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

// Throws plans::InputError (located in the spec) or db::Error.
plans::Plan PlanMoveKeys(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader,
                         const PlanOptions& options = {});

}  // namespace shardshift::planner
