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
  std::string insert_trigger;        // the insert trigger's name: capture is in place while it exists
  // Log capture on PostgreSQL (BuildLogCapture) only: the logical slot and the publication it reads.
  std::string slot;
  std::string publication;
  // Log capture on MariaDB (BuildBinlogCapture) only: the reader's replica server id, and the
  // one-row table that keeps where its stream continues (gtid: a GTID state; at: file:offset).
  uint32_t server_id = 0;
  db::TableName position;
};

// Names derive from the migration name, the table and role ("" for the forward capture on the
// sources, "reverse" for the one on the targets), so that two migrations of one table never share a
// changelog, and re-planning gives the same names. Writes by shardshift's own sessions
// (db::ConnectOptions::executor_session) are not recorded: a replayed change is not echoed back. Throws db::Error(kBadInput) when a key
// column is not in the table.
// only: record just the changes of rows whose `column` holds one of `values` (a move_keys
// migration's keys: an INSERT's new row, a DELETE's old one, an UPDATE's old or new one); the
// triggers of other rows do not run (PostgreSQL: a WHEN clause) or do nothing (MariaDB).
struct CaptureFilter {
  std::string column;               // "" = every change
  std::vector<std::string> values;  // as text, integers in decimal
};
CaptureSql BuildCapture(db::Engine engine, const db::TableInfo& table,
                        const std::vector<std::string>& key, const std::string& migration,
                        const std::string& role = "", const CaptureFilter& only = {});

// Log capture on PostgreSQL: the same changelog, filled by shardshift from a logical slot
// (pgoutput) of a publication of the table instead of by triggers: nothing is added to the table
// or to the application's transactions. install creates the changelog, the publication and the
// slot (the slot last: the changes it sees start there); remove drops the slot, the publication
// and the changelog. The slot cannot be created in a transaction that wrote (each statement runs
// on its own). Slots are named per server, so the slot's name also derives from source (the
// database's config name): two sources of one migration on one server get one each.
CaptureSql BuildLogCapture(const db::TableInfo& table, const std::vector<std::string>& key,
                           const std::string& migration, const std::string& source);

// Log capture on MariaDB: the same changelog, filled by shardshift from the binary log, read as a
// replica reads it, instead of by triggers. install creates the changelog and the position table,
// and records the server's GTID position of that moment (@@gtid_binlog_pos: the changes the
// stream gives start after it; a statement run again keeps the first); remove drops both. The
// server id derives from the migration, the table and source (two sources on one server get one
// each), in 1073741824..2147483646, away from the small ids servers are usually given.
CaptureSql BuildBinlogCapture(const db::TableInfo& table, const std::vector<std::string>& key,
                              const std::string& migration, const std::string& source);

}  // namespace shardshift::planner
