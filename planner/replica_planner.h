// Plans replica setup (spec kind `replica`): PostgreSQL logical (publication, schema, subscription
// with its initial copy) and physical (slot, pg_basebackup, standby settings, start) replicas, and
// MariaDB GTID replicas (a consistent mariadb-dump, CHANGE MASTER … MASTER_USE_GTID=slave_pos);
// then the wait for lag under the spec's bound, verification by checksums, and the router file.
//
// Read-only: it reads the primary's settings (wal_level, replication slots and senders, binary log
// format, server ids) and privileges, and the replicas' state. What the primary lacks goes into
// the plan's first step (`check.<primary>`) as the exact statements to run and whether a restart is
// needed; apply refuses to start while it is still lacking, so it never fails halfway for that.
#pragma once

#include "db/catalog.h"
#include "planner/inspector.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

// The name every object shardshift creates for a replica carries (slot, subscription, user).
std::string ReplicaObjectName(const std::string& migration, const std::string& replica);

plans::Plan PlanReplica(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader);

}  // namespace shardshift::planner
