// The key gate: what blocks and fences the writes of some keys of a table (the tenants a move_keys
// migration moves) and no others. The whole-table fence (fence_sql.h) and the cutover's LOCK TABLE
// would stop every tenant; a gate stops only the moved ones, so the other tenants' writers never
// wait on a tenant move.
//
// A gate is a row in `_shardshift_key_gates` (one per migration per database, shared by every
// table of the move there; state 'open' or 'fenced') and row triggers on each table that fire only
// for the moved keys (an INSERT's new key, an UPDATE's old or new one, a DELETE's old one). The
// trigger takes a shared hold that lasts until the writer's transaction ends, then reads the gate's
// state with a locking read and refuses the write when it is fenced:
//   - PostgreSQL: a shared transaction-level advisory lock, then SELECT … FOR SHARE of the row.
//     The advisory lock, not the row lock, is what queues writers fairly behind the cutover (the
//     heavyweight lock manager does not let a new shared request pass a waiting exclusive one; a
//     FOR SHARE row lock would). The locking read sees the state committed after the writer's
//     snapshot (READ COMMITTED re-reads; REPEATABLE READ fails with a serialization error, which
//     refuses the write too). SECURITY DEFINER, with the search_path of the session that created
//     it (where the gate table is): the application's role needs no rights on the gate.
//   - MariaDB: SELECT … LOCK IN SHARE MODE of the row (InnoDB queues a new S lock behind a waiting
//     X lock, and a locking read reads the latest committed row whatever the isolation level).
// The cutover's `hold`, in its transaction, takes the exclusive side (pg_advisory_xact_lock; the
// row FOR UPDATE): it waits for the transactions that wrote a moved key and are still open, and
// holds every new one at its first write of a moved key. In the same transaction `fence` marks the
// gate fenced, so that the commit releases the held writers into the fence. shardshift's own
// sessions pass. TRUNCATE is not gated (it is not a row write); the docs say so.
#pragma once

#include <string>
#include <vector>

#include "db/connection.h"

namespace shardshift::planner {

struct KeyGateSql {
  std::vector<std::string> create;    // the gates table if missing, the gate row if missing (in `state`), the triggers
  std::vector<std::string> remove;    // the triggers (the row stays while another table may use it: remove_row)
  std::vector<std::string> remove_row;
  std::vector<std::string> hold;      // in the cutover's transaction: blocks the keys' writers, waits for open ones
  std::vector<std::string> fence;     // in that transaction: from its commit on, the keys' writes fail
  std::vector<std::string> open;      // ... succeed
  std::string state_sql;              // one row, column "state": 'open' or 'fenced'
  std::vector<std::string> triggers;  // the triggers' names
};

// keys: the column's values as text (integers in decimal). message: what a refused writer reads.
// state: the gate's first state, "open" (the source side of a move) or "fenced" (the target side).
KeyGateSql BuildKeyGate(db::Engine engine, const db::TableName& table, const std::string& migration,
                        const std::string& column, const std::vector<std::string>& keys, const std::string& state,
                        const std::string& message);

}  // namespace shardshift::planner
