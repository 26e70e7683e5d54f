// Whether a server can be a replication primary for shardshift's replica plans: the settings and
// privileges it needs, in words, with the statements that fix them. Read-only. Used by the planner
// (which writes what is missing into the plan) and by apply (which refuses to start until it is
// fixed), so that both say the same.
#pragma once

#include <string>
#include <vector>

#include "db/connection.h"

namespace shardshift::db {

struct ReplicationReadiness {
  std::vector<std::string> problems;  // what is wrong, in words
  std::vector<std::string> fixes;     // the statements that fix it
  bool restart = false;               // a fix needs a server restart
  bool ready() const { return problems.empty(); }
};

// PostgreSQL: wal_level (logical when logical replicas are asked for), free replication slots and
// WAL senders (need of each), the user's REPLICATION attribute.
void CheckPostgresPrimary(Connection& primary, bool logical, int64_t need, ReplicationReadiness& out);
// MariaDB: the binary log, ROW format, a server_id.
void CheckMariadbPrimary(Connection& primary, ReplicationReadiness& out);
// MariaDB: what the configured users may do on the primary (create the replication user, dump
// consistently) and on a replica (load the copy, CHANGE MASTER). Never keeps SHOW GRANTS' hashes.
void CheckMariadbPrivileges(Connection& primary, Connection& replica, ReplicationReadiness& out);

}  // namespace shardshift::db
