// Change capture (DESIGN.md, rule 1): a changelog table beside the source table and row triggers
// that record, in the same transaction as the application's write, the key of every inserted,
// updated or deleted row, and both keys when an update changes the key. Pure builders: the plan
// shows these statements and the capture step runs them as written. Every statement is
// idempotent, so a resumed run may run them again.
#pragma once

#include <string>
#include <vector>

#include "db/connection.h"
#include "db/schema.h"

namespace shardshift::planner {

struct CaptureSql {
  db::TableName changelog;           // _ss_id, the key columns, _ss_op ('I', 'U', 'D'), _ss_at
  // (prefixed so that no key column can collide with them)
  std::vector<std::string> install;  // create the changelog, its key index and the triggers
  std::vector<std::string> remove;   // drop the triggers, then the changelog
};

// Names derive from the migration name and the table, so that two migrations of one table never
// share a changelog, and re-planning gives the same names. Throws db::Error(kBadInput) when a key
// column is not in the table.
CaptureSql BuildCapture(db::Engine engine, const db::TableInfo& table,
                        const std::vector<std::string>& key, const std::string& migration);

}  // namespace shardshift::planner
