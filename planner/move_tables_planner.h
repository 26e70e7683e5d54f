// Plans a move_tables migration (functional partitioning, docs/move-tables.md): a group of tables
// moved from one database to another of the same engine, online, with one cutover for the group.
//
// Each table is planned as a reshard onto the one target (PlanReshard: key, shape, faithful target
// DDL, capture, backfill, replay, verify, its part of the cutover, cleanup), with its steps'
// ids prefixed by the table ("public.orders/backfill.shop") and params["move_table"] naming it;
// the target keeps the source's sequences and auto-increment counters. Around them, steps of the
// group: drop_foreign_keys (foreign keys between a moved and a staying table, when the spec says
// foreign_keys = "drop_at_cutover"; otherwise the plan is refused with their list), the group's
// `cutover` (params: tables, counters, target_foreign_keys, fingerprints, hooks), then
// validate_foreign_keys (PostgreSQL) and release_source_foreign_keys. Read-only.
#pragma once

#include "db/catalog.h"
#include "planner/inspector.h"
#include "planner/reshard_planner.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

// Throws plans::InputError (located in the spec) or db::Error.
plans::Plan PlanMoveTables(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader,
                           const PlanOptions& options = {});

// The schema fingerprint a move_tables plan keeps for table on conn: its shape without its foreign
// keys, which the plan itself drops and adds.
std::string MoveFingerprint(db::Connection& conn, const db::TableName& table);
std::string MoveFingerprint(db::SchemaInfo schema);

}  // namespace shardshift::planner
