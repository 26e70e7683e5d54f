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
// WAL senders (need of each), the user's REPLICATION attribute; with sync (a synchronous replica is
// asked for), the per-role and per-database synchronous_commit values under which commits in the
// primary's database would not wait for it (see ReadSyncCommit).
void CheckPostgresPrimary(Connection& primary, bool logical, int64_t need, bool sync, ReplicationReadiness& out);

// PostgreSQL: whether the replication slot named slot exists on the server.
bool SlotExists(Connection& c, const std::string& slot);

// What an UPDATE's or DELETE's old row shows in PostgreSQL's WAL for table: kind is pg_class's
// relreplident ('d' default: the primary key, 'i' an index, 'f' FULL: every column, 'n' nothing;
// '\0' when there is no such table), columns the identity's columns in order ('f': none listed).
struct ReplicaIdentity {
  char kind = '\0';
  std::vector<std::string> columns;
};
ReplicaIdentity ReadReplicaIdentity(Connection& p, const TableName& table);

// PostgreSQL log capture of table (executors/log_capture.h): what CheckPostgresPrimary checks for one
// logical slot and its WAL sender (slot_exists: a run resumed, its slot is there already), and a
// REPLICA IDENTITY whose old row image holds every key column. A table published without one has
// its UPDATEs and DELETEs refused by the server, so that is checked before anything is made.
void CheckLogCapture(Connection& source, const TableName& table, const std::vector<std::string>& key,
                     bool slot_exists, ReplicationReadiness& out);

// Whether a commit waits for a synchronous standby under synchronous_commit = value: on (and its
// spellings true, yes, 1), remote_write and remote_apply wait; local and off do not.
bool SyncCommitWaits(const std::string& value);

// PostgreSQL: what decides whether a commit in the primary's database waits for a synchronous
// standby, beyond synchronous_standby_names.
struct SyncCommitSettings {
  // synchronous_commit as the server's configuration sets it: what a session gets that has no
  // per-role or per-database value ("" when the configured user may not read it).
  std::string server;
  // The per-role and per-database values (ALTER ROLE / ALTER DATABASE ... SET) that do not wait,
  // in words ("role app: off"), and the statements that remove them.
  std::vector<std::string> not_waiting;
  std::vector<std::string> fixes;
};
SyncCommitSettings ReadSyncCommit(Connection& primary);
// MariaDB: the binary log, ROW format, a server_id.
void CheckMariadbPrimary(Connection& primary, ReplicationReadiness& out);
// Log capture on MariaDB (db::BinlogStream): the binary log on in ROW format, row images that hold
// the key (FULL; MINIMAL or NOBLOB when the key is the primary key), row events not compressed,
// the configured user with REPLICATION SLAVE and BINLOG MONITOR, and key columns of types the
// stream decodes.
void CheckBinlogCapture(Connection& source, const TableName& table, const std::vector<std::string>& key,
                        ReplicationReadiness& out);
// MariaDB: what the configured users may do on the primary (create the replication user, dump
// consistently) and on a replica (load the copy, CHANGE MASTER). Never keeps SHOW GRANTS' hashes.
void CheckMariadbPrivileges(Connection& primary, Connection& replica, ReplicationReadiness& out);

}  // namespace shardshift::db
