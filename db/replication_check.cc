#include "db/replication_check.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "db/error.h"

namespace shardshift::db {

namespace {

// The global privileges the connection's user holds (from SHOW GRANTS, whose password hashes are
// never kept), upper case; "ALL PRIVILEGES" stands for all of them.
std::set<std::string> MariadbGlobalPrivileges(Connection& c) {
  std::set<std::string> out;
  for (const Row& row : c.Query("SHOW GRANTS").rows) {
    const std::string g = row.at(0).value_or("");
    const size_t on = g.find(" ON *.* TO ");
    if (!g.starts_with("GRANT ") || on == std::string::npos) continue;
    std::stringstream list(g.substr(6, on - 6));
    for (std::string p; std::getline(list, p, ',');) {
      while (!p.empty() && p.front() == ' ') p.erase(p.begin());
      out.insert(p);
    }
    if (g.find("WITH GRANT OPTION") != std::string::npos) out.insert("GRANT OPTION");
  }
  return out;
}

}  // namespace

bool SyncCommitWaits(const std::string& value) {
  std::string v;
  for (char c : value) v += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "on" || v == "true" || v == "yes" || v == "1" || v == "remote_write" || v == "remote_apply";
}

SyncCommitSettings ReadSyncCommit(Connection& p) {
  SyncCommitSettings out;
  ResultSet s = p.Query("SELECT reset_val, source FROM pg_settings WHERE name = 'synchronous_commit'");
  const std::string source = s.Text(0, "source");
  if (source != "user" && source != "database" && source != "database user" && source != "session" &&
      source != "client") {
    out.server = s.Text(0, "reset_val");
  } else {
    // A per-role or per-database value hides the server's: read the configuration files' (the
    // view is for superusers and pg_read_all_settings).
    try {
      ResultSet f = p.Query(
          "SELECT COALESCE((SELECT setting FROM pg_file_settings WHERE name = 'synchronous_commit' AND applied "
          "ORDER BY seqno DESC LIMIT 1), (SELECT boot_val FROM pg_settings WHERE name = 'synchronous_commit')) AS v");
      out.server = f.Text(0, "v");
    } catch (const Error&) {
    }
  }
  ResultSet o = p.Query(
      "SELECT COALESCE(r.rolname, '') AS role, COALESCE(d.datname, '') AS db, split_part(opt, '=', 2) AS value "
      "FROM pg_db_role_setting st LEFT JOIN pg_roles r ON r.oid = st.setrole LEFT JOIN pg_database d ON d.oid = "
      "st.setdatabase, unnest(st.setconfig) AS opt WHERE opt LIKE 'synchronous_commit=%' AND (st.setdatabase = 0 "
      "OR d.datname = current_database()) ORDER BY 1, 2");
  for (size_t i = 0; i < o.rows.size(); ++i) {
    const std::string role = o.Text(i, "role");
    const std::string db = o.Text(i, "db");
    const std::string value = o.Text(i, "value");
    if (SyncCommitWaits(value)) continue;
    if (!role.empty() && !db.empty()) {
      out.not_waiting.push_back(fmt::format("role {} in database {}: {}", role, db, value));
      out.fixes.push_back(fmt::format("ALTER ROLE {} IN DATABASE {} RESET synchronous_commit",
                                      p.Quote(role), p.Quote(db)));
    } else if (!role.empty()) {
      out.not_waiting.push_back(fmt::format("role {}: {}", role, value));
      out.fixes.push_back(fmt::format("ALTER ROLE {} RESET synchronous_commit", p.Quote(role)));
    } else if (!db.empty()) {
      out.not_waiting.push_back(fmt::format("database {}: {}", db, value));
      out.fixes.push_back(fmt::format("ALTER DATABASE {} RESET synchronous_commit", p.Quote(db)));
    } else {
      out.not_waiting.push_back(fmt::format("every role (ALTER ROLE ALL): {}", value));
      out.fixes.push_back("ALTER ROLE ALL RESET synchronous_commit");
    }
  }
  return out;
}

void CheckPostgresPrimary(Connection& p, bool logical, int64_t need, bool sync, ReplicationReadiness& out) {
  ResultSet r = p.Query(
      "SELECT current_setting('wal_level') AS wal_level, current_setting('max_replication_slots')::int AS slots, "
      "current_setting('max_wal_senders')::int AS senders, (SELECT count(*) FROM pg_replication_slots) AS slots_used, "
      "(SELECT count(*) FROM pg_stat_replication) AS senders_used, (SELECT rolreplication OR rolsuper FROM pg_roles "
      "WHERE rolname = current_user) AS can_replicate");
  const std::string wal_level = r.Text(0, "wal_level");
  if (logical && wal_level != "logical") {
    out.problems.push_back(fmt::format("wal_level is '{}': logical replication needs 'logical'", wal_level));
    out.fixes.push_back("ALTER SYSTEM SET wal_level = 'logical'");
    out.restart = true;
  } else if (wal_level == "minimal") {
    out.problems.push_back("wal_level is 'minimal': a standby needs 'replica'");
    out.fixes.push_back("ALTER SYSTEM SET wal_level = 'replica'");
    out.restart = true;
  }
  // A replica holds a slot and a WAL sender each (a logical one more while it copies).
  for (const auto& [setting, limit, used] : {std::tuple{"max_replication_slots", "slots", "slots_used"},
                                             std::tuple{"max_wal_senders", "senders", "senders_used"}}) {
    const int64_t total = std::stoll(r.Text(0, limit));
    const int64_t in_use = std::stoll(r.Text(0, used));
    if (total - in_use < need) {
      out.problems.push_back(fmt::format("{} is {} with {} in use: these replicas need {} free", setting, total, in_use,
                                         need));
      out.fixes.push_back(fmt::format("ALTER SYSTEM SET {} = {}", setting, in_use + need + 2));
      out.restart = true;
    }
  }
  if (r.Text(0, "can_replicate") != "t") {
    out.problems.push_back("the configured user has neither REPLICATION nor SUPERUSER");
    out.fixes.push_back("ALTER ROLE " + p.url().user + " REPLICATION");
  }
  if (sync) {
    // The application's choice per role or database, not the server's: shardshift does not
    // override it, the DBA removes it (the server-wide value is the plan's to set, see the planner).
    SyncCommitSettings c = ReadSyncCommit(p);
    if (!c.not_waiting.empty()) {
      out.problems.push_back(fmt::format("commits would not wait for the synchronous replica under synchronous_commit "
                                         "set per role or database ({})", fmt::join(c.not_waiting, "; ")));
      out.fixes.insert(out.fixes.end(), c.fixes.begin(), c.fixes.end());
    }
  }
}

bool SlotExists(Connection& c, const std::string& slot) {
  return !c.Query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {slot}).rows.empty();
}

ReplicaIdentity ReadReplicaIdentity(Connection& p, const TableName& table) {
  ResultSet r = p.Query(
      "SELECT c.relreplident::text AS ident, COALESCE((SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM "
      "pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = c.oid "
      "AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident))), '') AS cols "
      "FROM pg_class c WHERE c.oid = to_regclass($1)",
      {QuoteTable(Engine::kPostgres, table)});
  ReplicaIdentity out;
  if (r.rows.empty() || r.Text(0, "ident").empty()) return out;
  out.kind = r.Text(0, "ident")[0];
  std::stringstream cols(r.Text(0, "cols"));
  for (std::string c; std::getline(cols, c, ',');) out.columns.push_back(c);
  return out;
}

void CheckLogCapture(Connection& p, const TableName& table, const std::vector<std::string>& key, bool slot_exists,
                     ReplicationReadiness& out) {
  // One slot and one WAL sender: resumed, the slot is there; its sender is not counted as free
  // only while a killed run's session lingers, which the run ends.
  ReplicationReadiness server;
  CheckPostgresPrimary(p, true, slot_exists ? 0 : 1, false, server);
  if (slot_exists) {
    // Still check a sender is free (CheckPostgresPrimary with need 0 checks none).
    ResultSet s = p.Query("SELECT current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_stat_replication) "
                          "AS free");
    if (std::stoll(s.Text(0, "free")) < 1) {
      server.problems.push_back("max_wal_senders has no WAL sender free for the change stream");
      server.fixes.push_back("ALTER SYSTEM SET max_wal_senders = <more>");
      server.restart = true;
    }
  }
  out.problems.insert(out.problems.end(), server.problems.begin(), server.problems.end());
  out.fixes.insert(out.fixes.end(), server.fixes.begin(), server.fixes.end());
  out.restart = out.restart || server.restart;
  const std::string quoted = QuoteTable(Engine::kPostgres, table);
  const ReplicaIdentity identity = ReadReplicaIdentity(p, table);
  if (identity.kind == '\0') return;  // no such table: the planner says so
  if (identity.kind == 'f') return;    // FULL: the whole old row
  const std::set<std::string> have(identity.columns.begin(), identity.columns.end());
  std::vector<std::string> missing;
  for (const std::string& k : key) {
    if (!have.count(k)) missing.push_back(k);
  }
  if (identity.kind != 'n' && !have.empty() && missing.empty()) return;
  const std::string what =
      identity.kind == 'n' ? "REPLICA IDENTITY NOTHING: the server would refuse its UPDATEs and DELETEs once published"
      : have.empty()       ? "no primary key (REPLICA IDENTITY DEFAULT): the server would refuse its UPDATEs and "
                             "DELETEs once published"
                           : fmt::format("a REPLICA IDENTITY of ({}), which lacks key column(s) {}: the old key of a "
                                         "deleted or re-keyed row would not be in the log",
                                         fmt::join(identity.columns, ","), fmt::join(missing, ", "));
  out.problems.push_back(fmt::format("table {} has {}", table.ToString(), what));
  // A unique index on exactly the key, every column NOT NULL, can be the identity; else FULL.
  std::string index;
  ResultSet u = p.Query(
      "SELECT i.indexrelid::regclass::text AS name, array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) k "
      "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k ORDER BY a.attname), ',') AS cols, "
      "bool_and(a2.attnotnull) AS notnull FROM pg_index i JOIN pg_attribute a2 ON a2.attrelid = i.indrelid AND "
      "a2.attnum = ANY (i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND "
      "i.indexprs IS NULL GROUP BY i.indexrelid, i.indkey, i.indrelid",
      {quoted});
  std::vector<std::string> sorted = key;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < u.rows.size(); ++i) {
    if (u.Text(i, "cols") == fmt::format("{}", fmt::join(sorted, ",")) && u.Text(i, "notnull") == "t") {
      index = u.Text(i, "name");
      break;
    }
  }
  out.fixes.push_back(index.empty() ? "ALTER TABLE " + quoted + " REPLICA IDENTITY FULL"
                                    : "ALTER TABLE " + quoted + " REPLICA IDENTITY USING INDEX " + index);
}

void CheckMariadbPrimary(Connection& p, ReplicationReadiness& out) {
  ResultSet r = p.Query("SELECT @@log_bin AS log_bin, @@binlog_format AS fmt, @@server_id AS id");
  if (r.Text(0, "log_bin") != "1") {
    out.problems.push_back("the binary log is off (log_bin): a replica reads it");
    out.fixes.push_back("set log_bin = mariadb-bin in the server's configuration (my.cnf)");
    out.restart = true;
  }
  if (r.Text(0, "fmt") != "ROW") {
    out.problems.push_back("binlog_format is " + r.Text(0, "fmt") + ": ROW replicates every change exactly");
    out.fixes.push_back("SET GLOBAL binlog_format = 'ROW' (and in my.cnf)");
  }
  if (r.Text(0, "id") == "0") {
    out.problems.push_back("server_id is 0: a primary needs a non-zero server_id");
    out.fixes.push_back("SET GLOBAL server_id = 1 (and in my.cnf)");
  }
}

// What the configured users lack on the primary and the replica for a GTID replica.
void CheckMariadbPrivileges(Connection& primary, Connection& replica, ReplicationReadiness& out) {
  auto lacking = [](const std::set<std::string>& have, std::vector<std::string> need) {
    std::vector<std::string> missing;
    if (have.count("ALL PRIVILEGES")) return missing;
    for (const std::string& n : need) {
      if (!have.count(n)) missing.push_back(n);
    }
    return missing;
  };
  const auto on_primary = lacking(MariadbGlobalPrivileges(primary),
                                  {"CREATE USER", "REPLICATION SLAVE", "GRANT OPTION", "RELOAD", "SELECT"});
  if (!on_primary.empty()) {
    out.problems.push_back(fmt::format("the primary's configured user lacks {} (for the replication user and the "
                                       "consistent dump)", fmt::join(on_primary, ", ")));
    std::vector<std::string> grant;
    for (const std::string& g : on_primary) {
      if (g != "GRANT OPTION") grant.push_back(g);
    }
    out.fixes.push_back(fmt::format("GRANT {} ON *.* TO {} WITH GRANT OPTION", fmt::join(grant, ", "),
                                    primary.url().user));
  }
  std::set<std::string> r = MariadbGlobalPrivileges(replica);
  std::vector<std::string> on_replica = lacking(r, {"CREATE", "INSERT", "DROP"});
  if (!r.count("ALL PRIVILEGES") && !r.count("SUPER") && !r.count("REPLICATION SLAVE ADMIN")) {
    on_replica.push_back("REPLICATION SLAVE ADMIN");
  }
  if (!on_replica.empty()) {
    out.problems.push_back(fmt::format("the replica's configured user lacks {} (to load the copy and CHANGE MASTER)",
                                       fmt::join(on_replica, ", ")));
    out.fixes.push_back(fmt::format("GRANT {} ON *.* TO {} (on the replica)", fmt::join(on_replica, ", "),
                                    replica.url().user));
  }
}


void CheckBinlogCapture(Connection& source, const TableName& table, const std::vector<std::string>& key,
                        ReplicationReadiness& out) {
  ResultSet r = source.Query(
      "SELECT @@log_bin AS log_bin, @@binlog_format AS fmt, @@binlog_row_image AS image, @@log_bin_compress AS "
      "compress");
  if (r.Text(0, "log_bin") != "1") {
    out.problems.push_back("the binary log is off (log_bin)");
    out.fixes.push_back("set log_bin = mariadb-bin and binlog_format = ROW in the server's configuration (my.cnf)");
    out.restart = true;
    return;
  }
  if (r.Text(0, "fmt") != "ROW") {
    out.problems.push_back("binlog_format is " + r.Text(0, "fmt") + ": only ROW logs each row's key");
    out.fixes.push_back("SET GLOBAL binlog_format = 'ROW' (and in my.cnf; sessions started before keep theirs)");
  }
  if (r.Text(0, "compress") == "1") {
    out.problems.push_back("log_bin_compress is ON: compressed row events are not read");
    out.fixes.push_back("SET GLOBAL log_bin_compress = OFF (and in my.cnf)");
  }
  const std::string schema = table.schema.empty() ? source.url().database : table.schema;
  ResultSet cols = source.Query(
      "SELECT COLUMN_NAME AS name, DATA_TYPE AS type, COLUMN_KEY AS k FROM information_schema.COLUMNS WHERE "
      "TABLE_SCHEMA = ? AND TABLE_NAME = ?",
      {schema, table.name});
  std::set<std::string> primary;
  std::map<std::string, std::string> types;
  for (size_t i = 0; i < cols.rows.size(); ++i) {
    types[cols.Text(i, "name")] = cols.Text(i, "type");
    if (cols.Text(i, "k") == "PRI") primary.insert(cols.Text(i, "name"));
  }
  if (types.empty()) return;  // no such table: the planner says so
  if (r.Text(0, "image") != "FULL" && primary != std::set<std::string>(key.begin(), key.end())) {
    out.problems.push_back(fmt::format("binlog_row_image is {} and the key ({}) is not {}'s primary key: a row's "
                                       "before image would lack it",
                                       r.Text(0, "image"), fmt::join(key, ", "), table.ToString()));
    out.fixes.push_back("SET GLOBAL binlog_row_image = 'FULL' (and in my.cnf)");
  }
  static const std::set<std::string> kDecoded = {"tinyint", "smallint", "mediumint", "int", "bigint", "char",
                                                 "varchar", "binary", "varbinary", "date", "datetime", "timestamp"};
  for (const std::string& k : key) {
    auto t = types.find(k);
    if (t != types.end() && !kDecoded.count(t->second)) {
      out.problems.push_back(fmt::format("key column {} is {}, which the binary log reader does not decode (integers, "
                                         "strings, DATE, DATETIME and TIMESTAMP)",
                                         k, t->second));
      out.fixes.push_back("capture this table by triggers: [options] capture = \"trigger\"");
    }
  }
  std::set<std::string> have = MariadbGlobalPrivileges(source);
  std::vector<std::string> lacking;
  if (!have.count("ALL PRIVILEGES")) {
    if (!have.count("REPLICATION SLAVE")) lacking.push_back("REPLICATION SLAVE");
    if (!have.count("BINLOG MONITOR") && !have.count("REPLICATION CLIENT") && !have.count("SUPER")) {
      lacking.push_back("BINLOG MONITOR");
    }
  }
  if (!lacking.empty()) {
    out.problems.push_back(fmt::format("the configured user lacks {} (to read the binary log and its position)",
                                       fmt::join(lacking, ", ")));
    out.fixes.push_back(fmt::format("GRANT {} ON *.* TO {}", fmt::join(lacking, ", "), source.url().user));
  }
}

}  // namespace shardshift::db
