// The fence (DESIGN.md, rule 5): triggers that make every write to a table fail with an error that
// names the migration and says where to write instead. The cutover fences the sources inside its
// write block, so that a transaction waiting on the block, or an application instance that switches
// late, fails instead of committing a write that nobody would carry over; the targets are fenced
// from their creation until the cutover (an instance that switches early fails the same way), and
// again after a revert. shardshift's own sessions pass (db::ConnectOptions::executor_session).
//
// Why triggers: they fire for every writer, whatever its privileges or isolation level, they are
// seen by a transaction that was waiting on the write block as soon as it gets the table (catalog
// changes are not read through the transaction's snapshot, unlike a flag row), and they carry a
// message. PostgreSQL: one BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE statement trigger, created
// in the transaction that holds the block, so the fence and the release commit together. MariaDB:
// three BEFORE row triggers created by the session that holds LOCK TABLES … WRITE (TRUNCATE does
// not fire triggers there; docs/resharding.md says so). Pure builders; every statement is
// idempotent.
#pragma once

#include <string>
#include <vector>

#include "db/connection.h"

namespace shardshift::planner {

struct FenceSql {
  std::vector<std::string> fence;    // make writes fail
  std::vector<std::string> unfence;  // let them through again
  std::vector<std::string>
      triggers;  // the triggers' names, to tell from the catalog whether it is up
};

// message: what a rejected writer reads (cut to what the engine can carry).
FenceSql BuildFence(db::Engine engine, const db::TableName& table, const std::string& migration,
                    const std::string& message);

// A vertical split's fence: the source table stays in use for the columns it keeps, so only writes
// to the moved columns are refused: an UPDATE that changes one, an INSERT that gives a value to one
// that may be NULL (a NOT NULL moved column must be given a value by every writer, old or new, so
// the fence cannot tell them apart there; the plan warns). moved: (column, nullable).
FenceSql BuildColumnFence(db::Engine engine, const db::TableName& table,
                          const std::string& migration,
                          const std::vector<std::pair<std::string, bool>>& moved,
                          const std::string& message);

// text cut at a character boundary to at most n bytes (what a trigger's error message can carry).
std::string CutText(const std::string& text, size_t n);

// A string literal for engine, quotes (and on MariaDB backslashes) escaped.
std::string SqlLiteral(db::Engine engine, const std::string& text);

}  // namespace shardshift::planner
