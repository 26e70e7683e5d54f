// Plans index builds on every shard of a create_index spec: per database and index, the statement
// and how it runs online (PostgreSQL CREATE INDEX CONCURRENTLY; MariaDB ALTER TABLE … ADD INDEX,
// ALGORITHM=INPLACE, LOCK=NONE). Checks against each live schema: the table and columns exist, an
// index of that name is absent (or already exactly the one asked for: nothing to do there; or an
// invalid leftover of a failed build, which the build drops first). What an engine cannot do
// (a partial or covering index, an operator class, another access method on MariaDB) is refused
// with what it can do instead, never silently replaced. Read-only.
//
// Step params: table, index, unique, where, columns (JSON [[name, "asc"|"desc"(, "expression")], ...]), include
// (JSON), parallel, lock_timeout_ms, retries; steps are build_index.<db>.<index>.
#pragma once

#include "db/catalog.h"
#include "planner/inspector.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

plans::Plan PlanCreateIndex(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader);

// A key part as CREATE INDEX spells it: "email" text_pattern_ops, (lower(email)) DESC.
std::string IndexPartSql(db::Engine engine, const plans::IndexColumnSpec& column);

}  // namespace shardshift::planner
