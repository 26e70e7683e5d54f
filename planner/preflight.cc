#include "planner/preflight.h"

#include <fmt/format.h>
#include <pg_query.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "db/connection.h"
#include "db/error.h"
#include "planner/lint.h"

namespace shardshift::planner {

bool PreflightReport::failed() const {
  return std::any_of(checks.begin(), checks.end(),
                     [](const PreflightCheck& c) { return c.status == "failed"; });
}

namespace {

using nlohmann::json;

// One privilege a step needs: on a table, a schema, the database, or the server.
struct Need {
  std::string scope;   // "table", "owner" (of a table), "schema", "database", "superuser", "global"
  std::string object;  // table "schema.name" or "name", schema name, "" for database/superuser
  std::string privilege;  // "SELECT", "INSERT", "CREATE", "TRIGGER", ...
  std::string step;       // the step that needs it
  bool operator<(const Need& o) const {
    return std::tie(scope, object, privilege) < std::tie(o.scope, o.object, o.privilege);
  }
};

// A PostgreSQL name as to_regclass reads it: plain lower-case names as they are, others quoted.
std::string PgIdent(const std::string& name) {
  const bool plain = !name.empty() &&
                     (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return std::islower(static_cast<unsigned char>(c)) ||
                              std::isdigit(static_cast<unsigned char>(c)) || c == '_';
                     });
  return plain ? name : db::QuoteIdentifier(db::Engine::kPostgres, name);
}

std::string PgTable(const std::string& schema, const std::string& name) {
  return schema.empty() ? PgIdent(name) : PgIdent(schema) + "." + PgIdent(name);
}

std::string RangeVar(const json& node) {
  const json& rv = node.contains("RangeVar") ? node["RangeVar"] : node;
  return PgTable(rv.value("schemaname", ""), rv.value("relname", ""));
}

// The schema of a RangeVar, as written ("" = the current schema).
std::string RangeVarSchema(const json& node) {
  const json& rv = node.contains("RangeVar") ? node["RangeVar"] : node;
  return rv.value("schemaname", "");
}

// The privileges a PostgreSQL statement needs, read from its parse tree. Tables that earlier steps
// of the plan create are added to created: shardshift will own them.
void PostgresNeeds(const std::string& sql, const std::string& step, std::set<std::string>& created,
                   std::vector<Need>& out, std::vector<std::string>& unread) {
  PgQueryParseResult parsed = pg_query_parse(sql.c_str());
  if (parsed.error) {
    unread.push_back(step);
    pg_query_free_parse_result(parsed);
    return;
  }
  const json tree = json::parse(parsed.parse_tree);
  pg_query_free_parse_result(parsed);
  for (const json& entry : tree.value("stmts", json::array())) {
    const json& stmt = entry["stmt"];
    const std::string kind = stmt.begin().key();
    const json& n = stmt.begin().value();
    auto on_existing = [&](const std::string& table, const std::string& scope,
                           const std::string& privilege) {
      if (!created.count(table)) out.push_back({scope, table, privilege, step});
    };
    if (kind == "CreateStmt") {
      out.push_back({"schema", RangeVarSchema(n["relation"]), "CREATE", step});
      created.insert(RangeVar(n["relation"]));
    } else if (kind == "ViewStmt") {
      out.push_back({"schema", RangeVarSchema(n["view"]), "CREATE", step});
    } else if (kind == "CreateFunctionStmt") {
      const json& parts = n["funcname"];
      out.push_back(
          {"schema", parts.size() > 1 ? parts[0]["String"].value("sval", "") : "", "CREATE", step});
    } else if (kind == "IndexStmt" || kind == "AlterTableStmt" || kind == "RenameStmt") {
      if (n.contains("relation")) on_existing(RangeVar(n["relation"]), "owner", "OWNER");
    } else if (kind == "CreateTrigStmt") {
      on_existing(RangeVar(n["relation"]), "table", "TRIGGER");
    } else if (kind == "DropStmt" && n.value("removeType", "") == "OBJECT_TABLE") {
      for (const json& obj : n.value("objects", json::array())) {
        std::string name;
        for (const json& part : obj["List"]["items"])
          name += (name.empty() ? "" : ".") + PgIdent(part["String"].value("sval", ""));
        on_existing(name, "owner", "OWNER");
      }
    } else if (kind == "LockStmt") {
      for (const json& rel : n.value("relations", json::array()))
        on_existing(RangeVar(rel), "table", "UPDATE");
    } else if (kind == "InsertStmt" || kind == "UpdateStmt" || kind == "DeleteStmt") {
      const std::string privilege = kind == "InsertStmt"   ? "INSERT"
                                    : kind == "UpdateStmt" ? "UPDATE"
                                                           : "DELETE";
      on_existing(RangeVar(n["relation"]), "table", privilege);
    } else if (kind == "CreatePublicationStmt") {
      out.push_back({"database", "", "CREATE", step});
    } else if (kind == "CreateSubscriptionStmt" || kind == "AlterSystemStmt") {
      out.push_back({"superuser", "", "SUPERUSER", step});
    }
  }
}

// The database part of a MariaDB "db.table" ("" = the connection's).
std::string SchemaOf(const std::string& table) {
  const size_t dot = table.find('.');
  return dot == std::string::npos ? "" : table.substr(0, dot);
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// MariaDB has no parser here: the leading keywords say what a statement is.
void MariadbNeeds(const std::string& sql, const std::string& step, std::set<std::string>& created,
                  std::vector<Need>& out) {
  std::stringstream words(Upper(sql.substr(0, 200)));
  std::string a, b;
  words >> a >> b;
  if (b == "OR") words >> b >> b;  // CREATE OR REPLACE X
  const std::string table = MariadbStatementTable(sql);
  auto on_existing = [&](const std::string& privilege) {
    if (!table.empty() && !created.count(table)) out.push_back({"table", table, privilege, step});
  };
  if (a == "CREATE" && b == "TABLE") {
    out.push_back({"schema", SchemaOf(table), "CREATE", step});
    created.insert(table);
  } else if (a == "CREATE" && b == "TRIGGER") {
    on_existing("TRIGGER");
    out.push_back({"trigger-binlog", "", "SUPER", step});
  } else if (a == "CREATE" && (b == "INDEX" || b == "UNIQUE")) {
    on_existing("INDEX");
  } else if (a == "ALTER" && b == "TABLE") {
    on_existing("ALTER");
    if (Upper(sql).find(" INDEX ") != std::string::npos ||
        Upper(sql).find(" KEY ") != std::string::npos)
      on_existing("INDEX");
  } else if (a == "DROP" && b == "TABLE") {
    on_existing("DROP");
  } else if (a == "LOCK") {
    on_existing("LOCK TABLES");
  } else if (a == "RENAME") {
    on_existing("ALTER");
    on_existing("DROP");
    out.push_back({"schema", SchemaOf(table), "CREATE", step});
  } else if (a == "INSERT" || a == "REPLACE" || a == "UPDATE" || a == "DELETE") {
    on_existing(a == "REPLACE" ? "INSERT" : a);
  }
}

// Does the configured user have this privilege?
bool PostgresHas(db::Connection& c, const Need& n, std::string& missing, std::string& grant) {
  if (n.scope == "state") {
    // The run state table: made by this run (CREATE on the schema) or by an earlier one (its rows).
    if (c.Query("SELECT to_regclass('_shardshift_state') IS NULL AS absent").Text(0, "absent") == "t") {
      return PostgresHas(c, {"schema", "", "CREATE", n.step}, missing, grant);
    }
    return PostgresHas(c, {"table", "_shardshift_state", n.privilege, n.step}, missing, grant);
  }
  if (n.scope == "schema") {
    db::ResultSet r = c.Query(
        "SELECT has_schema_privilege(COALESCE(NULLIF($1, ''), current_schema()), 'CREATE') AS ok, "
        "COALESCE(NULLIF($1, ''), current_schema()) AS s",
        {n.object});
    missing = "CREATE on schema " + r.Text(0, "s");
    grant = "GRANT CREATE ON SCHEMA " + r.Text(0, "s") + " TO CURRENT_USER_NAME";
    return r.Text(0, "ok") == "t";
  }
  if (n.scope == "database") {
    missing = "CREATE on the database";
    grant = "GRANT CREATE ON DATABASE " + c.url().database + " TO CURRENT_USER_NAME";
    return c.Query("SELECT has_database_privilege(current_database(), 'CREATE') AS ok")
               .Text(0, "ok") == "t";
  }
  if (n.scope == "superuser") {
    missing = "SUPERUSER";
    grant = "ALTER ROLE CURRENT_USER_NAME SUPERUSER";
    return c.Query("SELECT rolsuper AS ok FROM pg_roles WHERE rolname = current_user")
               .Text(0, "ok") == "t";
  }
  db::ResultSet r = c.Query(
      "SELECT to_regclass($1) IS NULL AS absent, "
      "COALESCE(pg_has_role((SELECT relowner FROM pg_class WHERE oid = to_regclass($1)), 'USAGE'), "
      "false) AS owner, "
      "CASE WHEN to_regclass($1) IS NULL THEN false ELSE has_table_privilege(to_regclass($1), $2) "
      "END AS ok",
      {n.object, n.scope == "owner" ? std::string("SELECT") : n.privilege});
  if (r.Text(0, "absent") == "t") return true;  // the run creates it, or refuses at its own step
  if (n.scope == "owner") {
    missing = "ownership of " + n.object;
    if (r.Text(0, "owner") == "t") return true;
    missing += " (ALTER, CREATE INDEX and DROP need it)";
    grant = "ALTER TABLE " + n.object + " OWNER TO CURRENT_USER_NAME (or run as its owner)";
    return false;
  }
  missing = n.privilege + " on " + n.object;
  grant = "GRANT " + n.privilege + " ON " + n.object + " TO CURRENT_USER_NAME";
  return r.Text(0, "ok") == "t";
}

// The user as information_schema's GRANTEE column writes it: 'user'@'host'.
constexpr const char* kGrantee =
    "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
    "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";

bool MariadbHas(db::Connection& c, const std::string& database, const Need& n, std::string& missing,
                std::string& grant) {
  if (n.scope == "trigger-binlog") {
    db::ResultSet r =
        c.Query("SELECT @@log_bin AS log_bin, @@log_bin_trust_function_creators AS trust");
    if (r.Text(0, "log_bin") != "1" || r.Text(0, "trust") == "1") return true;
    missing =
        "SUPER or BINLOG ADMIN: the binary log is on and log_bin_trust_function_creators is off, "
        "so CREATE TRIGGER needs one";
    grant =
        "GRANT BINLOG ADMIN ON *.* TO CURRENT_USER_NAME (or SET GLOBAL "
        "log_bin_trust_function_creators = 1)";
    return !c.Query(fmt::format(
                        "SELECT 1 FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = {} AND "
                        "PRIVILEGE_TYPE IN ('SUPER', 'BINLOG ADMIN')",
                        kGrantee))
                .rows.empty();
  }
  const db::TableName t = db::TableName::Parse(n.object);
  const std::string schema = t.schema.empty() ? database : t.schema;
  if (n.scope == "table") {
    db::ResultSet exists =
        c.Query("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                {schema, t.name});
    if (exists.rows.empty()) return true;  // the run creates it, or refuses at its own step
  }
  // "state": the run state table, whether or not the user can see that it exists (information_schema
  // hides tables the user may not use), is read and written by every run.
  missing = n.privilege +
            (n.scope == "schema" ? " on database " + schema : " on " + schema + "." + t.name) +
            (n.scope == "state" ? " (the run state table)" : "");
  grant = "GRANT " + n.privilege + " ON " + schema + "." + (n.scope == "schema" ? "*" : t.name) +
          " TO CURRENT_USER_NAME";
  const std::string sql = fmt::format(
      "SELECT 1 FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = {0} AND PRIVILEGE_TYPE = ? "
      "UNION ALL SELECT 1 FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = {0} "
      "AND ? LIKE TABLE_SCHEMA AND PRIVILEGE_TYPE = ? "
      "UNION ALL SELECT 1 FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = {0} "
      "AND TABLE_SCHEMA = ? AND TABLE_NAME = ? AND PRIVILEGE_TYPE = ?",
      kGrantee);
  return !c.Query(sql, {n.privilege, schema, n.privilege, schema, t.name, n.privilege})
              .rows.empty();
}

bool LocalHost(const db::ConnectionUrl& url) {
  return url.host.empty() || url.host == "127.0.0.1" || url.host == "localhost" ||
         url.host == "::1" || url.host.starts_with("/");
}

}  // namespace

PreflightReport Preflight(const plans::Plan& plan, const std::vector<const plans::Step*>& steps,
                          const db::Catalog& catalog) {
  PreflightReport report;
  auto add = [&](std::string database, std::string what, std::string status, std::string detail,
                 std::string fix = "") {
    report.checks.push_back({std::move(database), std::move(what), std::move(status),
                             std::move(detail), std::move(fix)});
  };
  // What each database is asked for, in plan order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<Need>> needs;
  std::map<std::string, std::set<std::string>> created;
  std::map<std::string, int64_t> bytes_in;  // estimated bytes each database receives
  std::map<std::string, std::set<std::string>> written_tables;  // tables a backfill writes into
  std::set<std::string> capturing;  // databases that get capture triggers
  std::vector<std::string> unread;
  auto touch = [&](const std::string& db) {
    if (std::find(order.begin(), order.end(), db) == order.end()) order.push_back(db);
  };
  // Tables created by steps already done count as created (the plan made them).
  for (const plans::Step& s : plan.steps) {
    const bool pending = std::any_of(steps.begin(), steps.end(),
                                     [&](const plans::Step* p) { return p->id == s.id; });
    if (pending || s.database.empty() || !catalog.Has(s.database)) continue;
    std::vector<Need> ignored;
    std::vector<std::string> ignored_unread;
    for (const std::string& sql : s.sql) {
      if (catalog.Url(s.database).engine == db::Engine::kPostgres) {
        PostgresNeeds(sql, s.id, created[s.database], ignored, ignored_unread);
      } else {
        MariadbNeeds(sql, s.id, created[s.database], ignored);
      }
    }
  }
  // A replica plan's replicas: a physical standby does not exist until the plan makes it, and a
  // replica need not be writable by the application (it may well be read_only).
  std::map<std::string, std::string> replica_method;
  for (const plans::Step& s : plan.steps) {
    if (plans::StepParam(s, "action") != "check_primary" || plans::StepParam(s, "replicas").empty())
      continue;
    for (const json& r : json::parse(plans::StepParam(s, "replicas"))) {
      replica_method[r.value("database", "")] = r.value("method", "");
    }
  }
  std::set<std::string> standbys_noted;
  for (const plans::Step* s : steps) {
    if (s->database.empty() || !catalog.Has(s->database)) continue;
    if (replica_method.count(s->database) && replica_method.at(s->database) == "physical") {
      if (standbys_noted.insert(s->database).second) {
        add(s->database, "standby", "ok",
            "made by the plan (pg_basebackup); the primary's readiness is checked by "
            "the plan's first step");
      }
      continue;
    }
    touch(s->database);
    const bool pg = catalog.Url(s->database).engine == db::Engine::kPostgres;
    for (const std::string& sql : s->sql) {
      if (pg) {
        PostgresNeeds(sql, s->id, created[s->database], needs[s->database], unread);
      } else {
        MariadbNeeds(sql, s->id, created[s->database], needs[s->database]);
      }
    }
    if (s->kind == plans::StepKind::kCapture) capturing.insert(s->database);
    if (s->kind == plans::StepKind::kBackfill) {
      // Tables as the statements' parser names them, so that a table created by the plan is known.
      auto name = [&](const std::string& written, const std::string& db) {
        if (written.empty() || catalog.Url(db).engine != db::Engine::kPostgres) return written;
        const db::TableName t = db::TableName::Parse(written);
        return PgTable(t.schema, t.name);
      };
      std::string written_target = plans::StepParam(*s, "target_table");
      if (written_target.empty()) written_target = plans::StepParam(*s, "table");
      const std::string table = name(plans::StepParam(*s, "table"), s->database);
      const std::string target_table = name(written_target, s->database);
      std::vector<std::string> targets = plans::StepParamList(*s, "targets");
      if (targets.empty() && !plans::StepParam(*s, "target").empty())
        targets.push_back(plans::StepParam(*s, "target"));
      for (const std::string& t : targets) {
        if (!catalog.Has(t)) continue;
        touch(t);
        for (const char* p : {"INSERT", "UPDATE", "DELETE"}) {
          if (!created[t].count(target_table))
            needs[t].push_back({"table", target_table, p, s->id});
        }
        written_tables[t].insert(written_target);
        bytes_in[t] += s->estimate.bytes / static_cast<int64_t>(targets.size());
      }
    } else if (s->kind == plans::StepKind::kBuildIndex ||
               (s->kind == plans::StepKind::kSql && s->estimate.bytes > 0)) {
      bytes_in[s->database] += s->estimate.bytes;
    }
  }
  // Every run reads and writes the run state table on one database: the first source, the first
  // shard of an index build, or a replica plan's primary.
  std::string home;
  for (const char* param : {"sources", "databases", "primary"}) {
    for (const plans::Step& s : plan.steps) {
      if (!home.empty()) break;
      const std::vector<std::string> list = std::string(param) == "primary"
                                                ? std::vector<std::string>{plans::StepParam(s, param)}
                                                : plans::StepParamList(s, param);
      if (!list.empty() && !list.front().empty()) home = list.front();
    }
  }
  if (!steps.empty() && catalog.Has(home)) {
    touch(home);
    for (const char* p : {"SELECT", "INSERT", "UPDATE", "DELETE"}) {
      needs[home].push_back({"state", "_shardshift_state", p, "run state"});
    }
  }
  if (!unread.empty()) {
    add("", "statements", "warning",
        fmt::format("could not read the SQL of step(s) {} to check its privileges",
                    fmt::join(unread, ", ")));
  }
  // Per database: writable, settings, privileges, triggers in the way.
  std::map<std::string, std::pair<std::string, int64_t>>
      servers;  // host:port -> (a database on it, bytes needed)
  std::set<std::string> lag_checked;
  for (const std::string& name : order) {
    auto c = catalog.Connect(name);
    const db::ConnectionUrl& url = catalog.Url(name);
    const bool pg = url.engine == db::Engine::kPostgres;
    const std::string server = fmt::format("{}:{}", url.host, url.PortOrDefault());
    auto& [first_db, need_bytes] = servers[server];
    if (first_db.empty()) first_db = name;
    need_bytes += bytes_in[name];
    const bool replica = replica_method.count(name) > 0;
    // Writable?
    if (replica) {
      add(name, "writable", "ok", "a replica: the plan loads it, the application only reads it");
    } else if (pg) {
      db::ResultSet r = c->Query(
          "SELECT pg_is_in_recovery() AS standby, current_setting('default_transaction_read_only') "
          "AS ro, current_setting('session_replication_role') AS srr, current_user AS who");
      if (r.Text(0, "standby") == "t") {
        add(name, "writable", "failed", "the server is a standby (in recovery): it takes no writes",
            "point the config at the primary");
      } else if (r.Text(0, "ro") == "on") {
        add(name, "writable", "failed",
            "default_transaction_read_only is on for " + r.Text(0, "who"),
            "ALTER ROLE " + r.Text(0, "who") + " SET default_transaction_read_only = off");
      } else {
        add(name, "writable", "ok", "a primary, writable by " + r.Text(0, "who"));
      }
      if (capturing.count(name) && r.Text(0, "srr") != "origin") {
        add(name, "capture", "failed",
            "session_replication_role is '" + r.Text(0, "srr") +
                "': the capture triggers would not fire for these "
                "sessions' writes, and their changes would be lost",
            "ALTER ROLE ... SET session_replication_role = origin (for the application's roles)");
      }
    } else {
      db::ResultSet r = c->Query(
          "SELECT @@read_only AS ro, @@binlog_format AS fmt, @@log_bin AS log_bin, CURRENT_USER() "
          "AS who");
      if (r.Text(0, "ro") == "1") {
        add(name, "writable", "failed",
            "read_only is ON: the server takes no writes from a user without SUPER",
            "point the config at the primary");
      } else {
        add(name, "writable", "ok", "writable by " + r.Text(0, "who"));
      }
      if (capturing.count(name) && r.Text(0, "log_bin") == "1" && r.Text(0, "fmt") != "ROW") {
        add(name, "capture", "warning",
            "binlog_format is " + r.Text(0, "fmt") +
                ": replicas run the capture triggers again instead of receiving "
                "their rows",
            "SET GLOBAL binlog_format = 'ROW'");
      }
    }
    // Privileges, each missing one named with the step that needs it.
    std::vector<Need> list = needs[name];
    std::stable_sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end(),
                           [](const Need& a, const Need& b) { return !(a < b) && !(b < a); }),
               list.end());
    std::vector<std::string> lacking;
    std::set<std::string> held;
    std::vector<std::string> grants;
    std::string grantee = url.user;
    if (!pg) {
      const std::string who = c->Query("SELECT CURRENT_USER() AS who").Text(0, "who");
      grantee = "'" + who.substr(0, who.rfind('@')) + "'@'" + who.substr(who.rfind('@') + 1) + "'";
    }
    for (const Need& n : list) {
      std::string what;
      std::string grant;
      const bool has =
          pg ? PostgresHas(*c, n, what, grant) : MariadbHas(*c, url.database, n, what, grant);
      if (!has) {
        lacking.push_back(what + " (step " + n.step + ")");
        const size_t at = grant.find("CURRENT_USER_NAME");
        if (at != std::string::npos) grant.replace(at, 17, grantee);
        if (std::find(grants.begin(), grants.end(), grant) == grants.end()) grants.push_back(grant);
      }
      if (has && !what.empty())
        held.insert(what.substr(0, std::min(what.find(" ("), what.find(":"))));
    }
    if (lacking.empty()) {
      add(name, "privileges", "ok",
          held.empty() ? "nothing beyond connecting"
                       : "held: " + fmt::format("{}", fmt::join(held, ", ")));
    } else {
      add(name, "privileges", "failed",
          fmt::format("{} lacks {}", url.user, fmt::join(lacking, "; ")),
          fmt::format("{}", fmt::join(grants, "; ")));
    }
    // User triggers on tables a backfill writes into fire for every copied row.
    for (const std::string& table : written_tables[name]) {
      db::IntrospectOptions io;
      const db::TableName t = db::TableName::Parse(table);
      io.schema = pg ? t.schema : "";
      io.table = t.name;
      io.statistics = false;
      db::SchemaInfo s = c->Introspect(io);
      const db::TableInfo* info = s.FindWritten(table);
      if (info && !info->triggers.empty()) {
        add(name, "triggers", "warning",
            fmt::format("{} has trigger(s) {}: they fire for every row the backfill copies in",
                        table, fmt::join(info->triggers, ", ")),
            "drop or disable them on the target until the cutover, if they must not see copied "
            "rows");
      }
    }
    // Replica lag of the servers the steps write to.
    if (!replica && lag_checked.insert(server).second) {
      if (pg) {
        db::ResultSet r = c->Query(
            "SELECT application_name AS name, state, COALESCE(EXTRACT(EPOCH FROM replay_lag), "
            "0)::float8 AS lag_s, "
            "CASE WHEN pg_is_in_recovery() OR replay_lsn IS NULL THEN NULL "
            "ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint END AS lag_bytes "
            "FROM pg_stat_replication ORDER BY application_name");
        if (r.rows.empty()) {
          add(name, "replica lag", "ok", "no standby or subscriber streams from " + server);
        }
        for (size_t i = 0; i < r.rows.size(); ++i) {
          const double lag_s = std::stod(r.Text(i, "lag_s"));
          const bool bytes_known = r.At(i, "lag_bytes").has_value();
          const int64_t lag_b = bytes_known ? std::stoll(r.Text(i, "lag_bytes")) : -1;
          const bool behind = lag_s > 10 || lag_b > (int64_t{64} << 20);
          add(name, "replica lag", behind ? "warning" : "ok",
              fmt::format("{} ({}) is {:.1f} s{} behind", r.Text(i, "name"), r.Text(i, "state"),
                          lag_s, bytes_known ? ", " + plans::HumanBytes(lag_b) : std::string()),
              behind ? "let it catch up first, or set check_command/max_rows_per_second so the "
                       "copy waits for it"
                     : "");
        }
      } else {
        try {
          db::ResultSet r = c->Query("SHOW SLAVE HOSTS");
          add(name, "replica lag", "ok",
              r.rows.empty()
                  ? "no replica is connected to " + server
                  : fmt::format(
                        "{} replica(s) connected to {}; a primary cannot see their lag: use a "
                        "check_command that reads it",
                        r.rows.size(), server));
        } catch (const db::Error& e) {
          add(name, "replica lag", "warning",
              "cannot list the replicas of " + server +
                  " (SHOW SLAVE HOSTS needs REPLICATION MASTER ADMIN)",
              "check their lag on the replicas, or use a check_command that reads it");
        }
      }
    }
  }
  // Free space for the copies, per server.
  for (const auto& [server, entry] : servers) {
    const auto& [name, need] = entry;
    if (need <= 0) continue;
    const db::ConnectionUrl& url = catalog.Url(name);
    auto c = catalog.Connect(name);
    std::string dir;
    if (url.engine == db::Engine::kPostgres) {
      db::ResultSet r = c->Query("SELECT setting FROM pg_settings WHERE name = 'data_directory'");
      if (!r.rows.empty()) dir = r.Text(0, "setting");
    } else {
      dir = c->Query("SELECT @@datadir AS d").Text(0, "d");
    }
    struct statvfs fs {};
    if (!LocalHost(url) || dir.empty() || ::statvfs(dir.c_str(), &fs) != 0) {
      add(name, "free space", "warning",
          fmt::format(
              "the copies need about {} on {}; its free space is not visible from here{}",
              plans::HumanBytes(need), server,
              dir.empty() ? " (data_directory is not readable by this user)" : " (another host)"),
          "check that the server has that much free, with room for WAL/binlog and indexes");
      continue;
    }
    const int64_t free = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
    const std::string detail =
        fmt::format("the copies need about {} on {}; {} has {} free", plans::HumanBytes(need),
                    server, dir, plans::HumanBytes(free));
    if (free < need) {
      add(name, "free space", "failed", detail, "free space or add storage before the run");
    } else if (free < 2 * need) {
      add(name, "free space", "warning",
          detail + " (less than twice the copies: WAL/binlog and indexes need room)",
          "free more space before the run");
    } else {
      add(name, "free space", "ok", detail);
    }
  }
  return report;
}

}  // namespace shardshift::planner
