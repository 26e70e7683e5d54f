#include "planner/preflight.h"

#include "planner/ascii.h"
#include "db/binlog_stream.h"
#include "db/replication_check.h"

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
#include "plans/copy_params.h"
#include "planner/source_check.h"

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

// MariaDB has no parser here: the leading keywords say what a statement is.
void MariadbNeeds(const std::string& sql, const std::string& step, std::set<std::string>& created,
                  std::vector<Need>& out) {
  std::stringstream words(AsciiUpper(sql.substr(0, 200)));
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
    if (AsciiUpper(sql).find(" INDEX ") != std::string::npos ||
        AsciiUpper(sql).find(" KEY ") != std::string::npos)
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
    if (c.Query("SELECT to_regclass('_shardshift_state') IS NULL AS absent").Text(0, "absent") ==
        "t") {
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
  // "state": the run state table, whether or not the user can see that it exists
  // (information_schema hides tables the user may not use), is read and written by every run.
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

// What the steps still to run ask of each database, read from their statements and parameters.
struct Demands {
  std::vector<std::string> order;  // the databases, in plan order
  std::map<std::string, std::vector<Need>> needs;
  std::map<std::string, int64_t> bytes_in;                      // estimated bytes each receives
  std::map<std::string, std::set<std::string>> written_tables;  // tables a backfill writes into
  std::set<std::string> capturing;                              // databases given capture triggers
  std::map<std::string, std::string> replica_method;            // a replica plan's replicas
  std::vector<std::string> unread;                              // steps whose SQL did not parse
  std::vector<std::string> standbys;                            // physical standbys the plan makes
  // Capture that the run state says is in place (its step done, the run not over): the triggers
  // that must still be there, per database, with the step that made them.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> live_triggers;
  // Log capture: the slots that must be there (slot, step), and the capture steps still to run,
  // whose server must allow them.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> live_slots;
  // MariaDB's log capture in place: (position table, capture step).
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> live_positions;
  std::map<std::string, std::vector<const plans::Step*>> log_capture;
};

// The triggers a capture step's statements create.
std::vector<std::string> TriggerNames(const plans::Step& step, db::Engine engine) {
  std::vector<std::string> out;
  for (const std::string& sql : step.sql) {
    if (engine == db::Engine::kPostgres) {
      PgQueryParseResult parsed = pg_query_parse(sql.c_str());
      if (!parsed.error) {
        const json tree = json::parse(parsed.parse_tree);
        for (const json& entry : tree.value("stmts", json::array())) {
          if (entry["stmt"].contains("CreateTrigStmt")) {
            out.push_back(entry["stmt"]["CreateTrigStmt"].value("trigname", ""));
          }
        }
      }
      pg_query_free_parse_result(parsed);
      continue;
    }
    std::stringstream words(sql);
    std::string a, b, name;
    words >> a >> b;
    if (AsciiUpper(a) != "CREATE" || AsciiUpper(b) != "TRIGGER") continue;
    words >> name;
    if (AsciiUpper(name) == "IF") words >> name >> name >> name;  // IF NOT EXISTS name
    std::erase(name, '`');
    out.push_back(name);
  }
  return out;
}

// The run state table's home: the first source, the first shard of an index build, or a replica
// plan's primary.
std::string StateHome(const plans::Plan& plan) {
  for (const char* param : {"sources", "databases"}) {
    for (const plans::Step& s : plan.steps) {
      const std::vector<std::string> list = plans::StepParamList(s, param);
      if (!list.empty()) return list.front();
    }
  }
  for (const plans::Step& s : plan.steps) {
    if (!plans::StepParam(s, "primary").empty()) return plans::StepParam(s, "primary");
  }
  return "";
}

Demands CollectDemands(const plans::Plan& plan, const std::vector<const plans::Step*>& steps,
                       const db::Catalog& catalog) {
  Demands d;
  std::map<std::string, std::set<std::string>> created;  // tables the plan makes, per database
  auto touch = [&](const std::string& db) {
    if (std::find(d.order.begin(), d.order.end(), db) == d.order.end()) d.order.push_back(db);
  };
  auto read_sql = [&](const plans::Step& s, std::vector<Need>& out,
                      std::vector<std::string>& unread) {
    for (const std::string& sql : s.sql) {
      if (catalog.Url(s.database).engine == db::Engine::kPostgres) {
        PostgresNeeds(sql, s.id, created[s.database], out, unread);
      } else {
        MariadbNeeds(sql, s.id, created[s.database], out);
      }
    }
  };
  // Tables made by steps already done count as the plan's too.
  for (const plans::Step& s : plan.steps) {
    const bool pending = std::any_of(steps.begin(), steps.end(),
                                     [&](const plans::Step* p) { return p->id == s.id; });
    if (pending || s.database.empty() || !catalog.Has(s.database)) continue;
    std::vector<Need> ignored;
    std::vector<std::string> ignored_unread;
    read_sql(s, ignored, ignored_unread);
  }
  // Capture recorded as done while steps that rely on it (copy, replay, verify, cutover) are still
  // to run: its triggers must be there. (A table dropped and created again loses them, and the run
  // state cannot tell.) Every plan removes capture only after those steps.
  auto is_pending = [&](const plans::Step& s) {
    return std::any_of(steps.begin(), steps.end(),
                       [&](const plans::Step* p) { return p->id == s.id; });
  };
  const bool capture_needed = std::any_of(steps.begin(), steps.end(), [](const plans::Step* p) {
    return p->kind == plans::StepKind::kBackfill || p->kind == plans::StepKind::kReplay ||
           p->kind == plans::StepKind::kVerify || p->kind == plans::StepKind::kCutover ||
           p->kind == plans::StepKind::kExpandComplete;
  });
  for (const plans::Step& s : plan.steps) {
    if (!capture_needed || s.kind != plans::StepKind::kCapture || s.database.empty() ||
        !catalog.Has(s.database) || is_pending(s)) {
      continue;
    }
    for (const std::string& t : TriggerNames(s, catalog.Url(s.database).engine)) {
      d.live_triggers[s.database].push_back({t, s.id});
    }
    if (const std::string slot = plans::StepParam(s, "slot"); !slot.empty()) {
      d.live_slots[s.database].push_back({slot, s.id});
    }
    if (const std::string position = plans::StepParam(s, "position"); !position.empty()) {
      d.live_positions[s.database].push_back({position, s.id});
    }
  }
  // A physical standby does not exist until the plan makes it; a replica need not be writable by
  // the application (it may well be read_only).
  for (const plans::Step& s : plan.steps) {
    if (plans::StepParam(s, "action") != "check_primary") continue;
    for (const json& r : json::parse(plans::StepParam(s, "replicas", "[]"))) {
      d.replica_method[r.value("database", "")] = r.value("method", "");
    }
  }
  for (const plans::Step* s : steps) {
    if (s->database.empty() || !catalog.Has(s->database)) continue;
    auto replica = d.replica_method.find(s->database);
    if (replica != d.replica_method.end() && replica->second == "physical") {
      if (std::find(d.standbys.begin(), d.standbys.end(), s->database) == d.standbys.end()) {
        d.standbys.push_back(s->database);
      }
      continue;
    }
    touch(s->database);
    read_sql(*s, d.needs[s->database], d.unread);
    if (s->kind == plans::StepKind::kCapture) {
      if (plans::StepParam(*s, "slot").empty() && plans::StepParam(*s, "server_id").empty()) {
        d.capturing.insert(s->database);
      } else {
        d.log_capture[s->database].push_back(s);
      }
    }
    if (s->kind == plans::StepKind::kBackfill) {
      // Named as the statements' parser names them, so that a table the plan makes is known.
      std::string written_target = plans::StepParam(*s, "target_table");
      if (written_target.empty()) written_target = plans::StepParam(*s, "table");
      auto name = [&](const std::string& written) {
        if (written.empty() || catalog.Url(s->database).engine != db::Engine::kPostgres) {
          return written;
        }
        const db::TableName t = db::TableName::Parse(written);
        return PgTable(t.schema, t.name);
      };
      const std::string table = name(plans::StepParam(*s, "table"));
      const std::string target_table = name(written_target);
      if (!table.empty()) d.needs[s->database].push_back({"table", table, "SELECT", s->id});
      std::vector<std::string> targets = plans::StepParamList(*s, "targets");
      if (targets.empty() && !plans::StepParam(*s, "target").empty()) {
        targets.push_back(plans::StepParam(*s, "target"));
      }
      for (const std::string& t : targets) {
        if (!catalog.Has(t)) continue;
        touch(t);
        for (const char* p : {"INSERT", "UPDATE", "DELETE"}) {
          if (!created[t].count(target_table))
            d.needs[t].push_back({"table", target_table, p, s->id});
        }
        d.written_tables[t].insert(written_target);
        d.bytes_in[t] += s->estimate.bytes / static_cast<int64_t>(targets.size());
      }
    } else if (s->kind == plans::StepKind::kBuildIndex) {
      // (A step that creates a table estimates the bytes its backfill will copy: counted there.)
      d.bytes_in[s->database] += s->estimate.bytes;
    }
  }
  const std::string home = StateHome(plan);
  if (!steps.empty() && catalog.Has(home)) {
    touch(home);
    for (const char* p : {"SELECT", "INSERT", "UPDATE", "DELETE"}) {
      d.needs[home].push_back({"state", "_shardshift_state", p, "run state"});
    }
  }
  return d;
}

// A primary the application writes to, with nothing set that would silently lose captured changes.
void CheckWritable(db::Connection& c, const std::string& name, bool capturing,
                   PreflightReport& report) {
  if (c.engine() == db::Engine::kPostgres) {
    db::ResultSet r = c.Query(
        "SELECT pg_is_in_recovery() AS standby, current_setting('default_transaction_read_only') "
        "AS ro, current_setting('session_replication_role') AS srr, current_user AS who");
    if (r.Text(0, "standby") == "t") {
      report.Add(name, "writable", "failed",
                 "the server is a standby (in recovery): it takes no writes",
                 "point the config at the primary");
    } else if (r.Text(0, "ro") == "on") {
      report.Add(name, "writable", "failed",
                 "default_transaction_read_only is on for " + r.Text(0, "who"),
                 "ALTER ROLE " + r.Text(0, "who") + " SET default_transaction_read_only = off");
    } else {
      report.Add(name, "writable", "ok", "a primary, writable by " + r.Text(0, "who"));
    }
    if (capturing && r.Text(0, "srr") != "origin") {
      report.Add(
          name, "capture", "failed",
          "session_replication_role is '" + r.Text(0, "srr") +
              "': the capture triggers would not fire for these sessions' writes, and their "
              "changes would be lost",
          "ALTER ROLE ... SET session_replication_role = origin (for the application's roles)");
    }
    return;
  }
  db::ResultSet r = c.Query(
      "SELECT @@read_only AS ro, @@binlog_format AS fmt, @@log_bin AS log_bin, CURRENT_USER() AS "
      "who");
  if (r.Text(0, "ro") == "1") {
    report.Add(name, "writable", "failed",
               "read_only is ON: the server takes no writes from a user without SUPER",
               "point the config at the primary");
  } else {
    report.Add(name, "writable", "ok", "writable by " + r.Text(0, "who"));
  }
  if (capturing && r.Text(0, "log_bin") == "1" && r.Text(0, "fmt") != "ROW") {
    report.Add(name, "capture", "warning",
               "binlog_format is " + r.Text(0, "fmt") +
                   ": replicas run the capture triggers again instead of receiving their rows",
               "SET GLOBAL binlog_format = 'ROW'");
  }
}

// The table a step creates (the planners' CREATE TABLE IF NOT EXISTS, planner/target_ddl.cc), as
// quoted there: "" when the step creates none.
std::string CreatedTable(const std::string& sql) {
  static const std::string kPrefix = "CREATE TABLE IF NOT EXISTS ";
  if (!sql.starts_with(kPrefix)) return "";
  const size_t end = sql.find(" (\n", kPrefix.size());
  return end == std::string::npos ? "" : sql.substr(kPrefix.size(), end - kPrefix.size());
}

// A step that creates a target table is rehearsed where it will run, so that a definition the
// server refuses (a character set or collation it lacks, an engine it lacks, a type of the same
// name that differs) fails the dry-run instead of the run. PostgreSQL: the step's statements in a
// transaction that is rolled back (nothing of it stays, and it creates only new objects);
// MariaDB, whose DDL commits: the table's CREATE as a TEMPORARY table of this session, dropped.
void CheckTargetDefinition(db::Connection& c, const std::string& name, const plans::Step& step,
                           const plans::Plan& plan, const db::Catalog& catalog, PreflightReport& report) {
  std::string quoted;
  const std::string* create = nullptr;
  for (const std::string& sql : step.sql) {
    if (quoted.empty() && !(quoted = CreatedTable(sql)).empty()) create = &sql;
  }
  if (create == nullptr) return;
  const bool pg = c.engine() == db::Engine::kPostgres;
  bool exists = false;
  if (pg) {
    exists = c.Query("SELECT to_regclass($1) IS NOT NULL AS e", {quoted}).Text(0, "e") == "t";
  } else {
    std::string plain = quoted.substr(1, quoted.size() - 2);
    for (size_t at = plain.find("``"); at != std::string::npos; at = plain.find("``", at + 1)) plain.erase(at, 1);
    exists = c.Query("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
                     "TABLE_NAME = ?", {plain}).Text(0, "n") != "0";
  }
  if (exists) {
    // A reshard's target made since the plan was written (the plan checked those there then): it
    // must have the source's shape, or the copy would fail on it or write what the source lacks.
    if (step.id.starts_with("create_target.") && plan.header.kind == "reshard") {
      const plans::CopyParams copy = plans::ReadCopyParams(plan);
      const db::TableName source_name = db::TableName::Parse(copy.table);
      const db::TableName target_name = db::TableName::Parse(copy.target_table);
      auto src = catalog.Connect(copy.sources.front());
      const db::SchemaInfo a = src->Introspect({source_name.schema, source_name.name, false});
      const db::SchemaInfo b = c.Introspect({target_name.schema, target_name.name, false});
      const db::TableInfo* source_table = a.FindTable(source_name.schema, source_name.name);
      const db::TableInfo* target_table = b.FindTable(target_name.schema, target_name.name);
      if (source_table && target_table) {
        const std::string diff = ShapeDifference(*source_table, "the source", *target_table, "this target");
        if (!diff.empty()) {
          report.Add(name, "target table", "failed",
                     fmt::format("step {}: {} exists here in another shape: {}", step.id, quoted, diff),
                     "drop it here (the step creates it as the source has it) or make it the source's shape");
          return;
        }
      }
    }
    report.Add(name, "target table", "ok", quoted + " exists already in the source's shape (the step keeps it)");
    return;
  }
  try {
    if (pg) {
      db::Transaction tx(c);
      c.Execute("SET LOCAL lock_timeout = '2s'");
      for (const std::string& sql : step.sql) c.Execute(sql);
      tx.Rollback();
    } else {
      // The definition's lines are ",\n  "-separated; FULLTEXT and SPATIAL keys cannot be built on a
      // temporary InnoDB table and are left out of the rehearsal.
      std::string body = create->substr(create->find(" (\n"));
      for (const char* kind : {",\n  FULLTEXT KEY ", ",\n  SPATIAL KEY "}) {
        for (size_t at = body.find(kind); at != std::string::npos; at = body.find(kind)) {
          size_t next = body.find(",\n  ", at + 1);
          if (next == std::string::npos) next = body.find("\n)", at + 1);
          body.erase(at, next - at);
        }
      }
      c.Execute("DROP TEMPORARY TABLE IF EXISTS `_shardshift_probe`");
      c.Execute("CREATE TEMPORARY TABLE `_shardshift_probe`" + body);
      c.Execute("DROP TEMPORARY TABLE `_shardshift_probe`");
    }
  } catch (const db::Error& e) {
    // A refusal of the statement (MariaDB classes access denied with lost connections): the
    // connection still answers.
    if (!c.Usable()) throw;
    const std::string what = e.what();
    if (what.find("denied") != std::string::npos) {
      report.Add(name, "target table", "warning",
                 fmt::format("step {}: could not rehearse the definition of {} here: {}", step.id, quoted, what));
      return;
    }
    report.Add(name, "target table", "failed",
               fmt::format("step {}: this server refuses the definition of {}: {}", step.id, quoted, what),
               "make the target server able to hold the source's table (its character sets, collations, "
               "engine and types), or drop what differs there");
    return;
  }
  report.Add(name, "target table", "ok", "the definition of " + quoted + " is accepted here (rehearsed)");
}

// The capture triggers that the run state says are in place.
void CheckLiveCapture(db::Connection& c, const std::string& name,
                      const std::vector<std::pair<std::string, std::string>>& triggers,
                      PreflightReport& report) {
  std::vector<std::string> missing;
  std::string step;
  for (const auto& [trigger, made_by] : triggers) {
    const bool there =
        !c.Query(c.engine() == db::Engine::kPostgres ? "SELECT 1 FROM pg_trigger WHERE tgname = $1"
                                                     : "SELECT 1 FROM information_schema.TRIGGERS "
                                                       "WHERE TRIGGER_SCHEMA = DATABASE() AND "
                                                       "TRIGGER_NAME = ?",
                 {trigger})
             .rows.empty();
    if (!there) {
      missing.push_back(trigger);
      step = made_by;
    }
  }
  if (missing.empty()) {
    report.Add(name, "capture", "ok",
               fmt::format("{} trigger(s) of the run in progress in place", triggers.size()));
    return;
  }
  report.Add(
      name, "capture", "failed",
      fmt::format(
          "step {} is recorded as done but its trigger(s) {} are gone (was the table dropped "
          "and created again?): writes since then were not captured, and continuing would lose "
          "them",
          step, fmt::join(missing, ", ")),
      "start this plan over: remove its rows from _shardshift_state and the copies from the "
      "targets, then "
      "apply again");
}

// Log capture that the run state says is in place: its slot must be there (a slot dropped by
// hand lost the changes made since).
void CheckLiveSlots(db::Connection& c, const std::string& name,
                    const std::vector<std::pair<std::string, std::string>>& slots, PreflightReport& report) {
  for (const auto& [slot, step] : slots) {
    if (!db::SlotExists(c, slot)) {
      report.Add(name, "capture", "failed",
                 fmt::format("step {} is recorded as done but its replication slot {} is gone (dropped by hand?): "
                             "writes since then were not captured, and continuing would lose them",
                             step, slot),
                 "start this plan over: remove its rows from _shardshift_state and the copies from the targets, "
                 "then apply again");
      return;
    }
  }
  report.Add(name, "capture", "ok", fmt::format("{} replication slot(s) of the run in progress in place", slots.size()));
}

// MariaDB's log capture that the run state says is in place: its position must be there, and the
// binary log it continues in still on the server (a purged one lost the changes in it).
void CheckLivePositions(db::Connection& c, const std::string& name,
                        const std::vector<std::pair<std::string, std::string>>& positions, PreflightReport& report) {
  for (const auto& [position, step] : positions) {
    std::string lost;
    try {
      db::ResultSet r = c.Query("SELECT at FROM " + c.Quote(db::TableName::Parse(position)) + " WHERE id = 1");
      if (r.rows.empty()) {
        lost = fmt::format("its position table {} is empty", position);
      } else if (const std::string at = r.Text(0, "at"); !at.empty()) {
        const db::BinlogPosition p = db::BinlogPosition::Parse(at);
        if (!db::BinlogStream::BytesAfter(c, p)) {
          lost = fmt::format("the binary log {} it continues in was purged from the server", p.file);
        }
      }
    } catch (const db::Error& e) {
      if (e.errnum() != 1146) throw;
      lost = fmt::format("its position table {} is gone (dropped by hand?)", position);
    }
    if (!lost.empty()) {
      report.Add(name, "capture", "failed",
                 fmt::format("step {} is recorded as done but {}: writes since then cannot be read, and continuing "
                             "would lose them",
                             step, lost),
                 "start this plan over: remove its rows from _shardshift_state and the copies from the targets, "
                 "then apply again");
      return;
    }
  }
  report.Add(name, "capture", "ok",
             fmt::format("{} binary log position(s) of the run in progress in place", positions.size()));
}

// A log capture step still to run: what the server must allow (db::CheckLogCapture,
// db::CheckBinlogCapture).
void CheckLogReady(db::Connection& c, const std::string& name, const std::vector<const plans::Step*>& steps,
                   PreflightReport& report) {
  for (const plans::Step* s : steps) {
    if (c.engine() != db::Engine::kPostgres) {
      db::ReplicationReadiness ready;
      db::CheckBinlogCapture(c, db::TableName::Parse(plans::StepParam(*s, "table")), plans::StepParamList(*s, "key"),
                             ready);
      if (ready.ready()) {
        report.Add(name, "log capture", "ok",
                   "the binary log is on in ROW format, its row images hold the key, and the user may read it");
      } else {
        report.Add(name, "log capture", "failed", fmt::format("step {}: {}", s->id, fmt::join(ready.problems, "; ")),
                   fmt::format("{}{} (or plan again with [options] capture = \"trigger\")",
                               fmt::join(ready.fixes, "; "), ready.restart ? ", then restart the server" : ""));
      }
      continue;
    }
    const std::string slot = plans::StepParam(*s, "slot");
    const bool exists = db::SlotExists(c, slot);
    db::ReplicationReadiness ready;
    db::CheckLogCapture(c, db::TableName::Parse(plans::StepParam(*s, "table")), plans::StepParamList(*s, "key"),
                        exists, ready);
    if (ready.ready()) {
      report.Add(name, "log capture", "ok",
                 exists ? "slot " + slot + " is there (a resumed run); a WAL sender is free"
                        : "wal_level is logical, a slot and a WAL sender are free, the user may replicate, and the "
                          "table's replica identity holds its key");
    } else {
      report.Add(name, "log capture", "failed", fmt::format("step {}: {}", s->id, fmt::join(ready.problems, "; ")),
                 fmt::format("{}{} (or plan again with [options] capture = \"trigger\")",
                             fmt::join(ready.fixes, "; "), ready.restart ? ", then restart the server" : ""));
    }
  }
}

// Every privilege the steps need of this database; each one missing named with the step that
// needs it and the GRANT that gives it.
void CheckPrivileges(db::Connection& c, const std::string& name, std::vector<Need> list,
                     PreflightReport& report) {
  const db::ConnectionUrl& url = c.url();
  const bool pg = c.engine() == db::Engine::kPostgres;
  std::stable_sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end(),
                         [](const Need& a, const Need& b) { return !(a < b) && !(b < a); }),
             list.end());
  std::string grantee = url.user;
  if (!pg) {
    const std::string who = c.Query("SELECT CURRENT_USER() AS who").Text(0, "who");
    grantee = "'" + who.substr(0, who.rfind('@')) + "'@'" + who.substr(who.rfind('@') + 1) + "'";
  }
  std::vector<std::string> lacking;
  std::set<std::string> held;
  std::vector<std::string> grants;
  for (const Need& n : list) {
    std::string what;
    std::string grant;
    const bool has =
        pg ? PostgresHas(c, n, what, grant) : MariadbHas(c, url.database, n, what, grant);
    if (has) {
      if (!what.empty()) held.insert(what.substr(0, std::min(what.find(" ("), what.find(":"))));
      continue;
    }
    lacking.push_back(what + " (step " + n.step + ")");
    const size_t at = grant.find("CURRENT_USER_NAME");
    if (at != std::string::npos)
      grant.replace(at, std::string("CURRENT_USER_NAME").size(), grantee);
    if (std::find(grants.begin(), grants.end(), grant) == grants.end()) grants.push_back(grant);
  }
  if (lacking.empty()) {
    report.Add(name, "privileges", "ok",
               held.empty() ? "nothing beyond connecting"
                            : fmt::format("held: {}", fmt::join(held, ", ")));
  } else {
    report.Add(name, "privileges", "failed",
               fmt::format("{} lacks {}", url.user, fmt::join(lacking, "; ")),
               fmt::format("{}", fmt::join(grants, "; ")));
  }
}

// User triggers on a table a backfill writes into fire for every copied row.
void CheckTriggers(db::Connection& c, const std::string& name, const std::set<std::string>& tables,
                   PreflightReport& report) {
  for (const std::string& table : tables) {
    db::IntrospectOptions io;
    const db::TableName t = db::TableName::Parse(table);
    io.schema = c.engine() == db::Engine::kPostgres ? t.schema : "";
    io.table = t.name;
    io.statistics = false;
    db::SchemaInfo s = c.Introspect(io);
    const db::TableInfo* info = s.FindWritten(table);
    std::vector<std::string> theirs;  // shardshift's own (fence, capture) skip its sessions
    if (info) {
      for (const std::string& trigger : info->triggers) {
        if (!trigger.starts_with("_shardshift_")) theirs.push_back(trigger);
      }
    }
    if (!theirs.empty()) {
      report.Add(
          name, "triggers", "warning",
          fmt::format("{} has trigger(s) {}: they fire for every row the backfill copies in", table,
                      fmt::join(theirs, ", ")),
          "drop or disable them on the target until the cutover, if they must not see copied rows");
    }
  }
}

// The lag of the replicas streaming from the server: PostgreSQL sees it, a MariaDB primary only
// sees that they are there.
void CheckReplicaLag(db::Connection& c, const std::string& name, const std::string& server,
                     PreflightReport& report) {
  if (c.engine() != db::Engine::kPostgres) {
    try {
      db::ResultSet r = c.Query("SHOW SLAVE HOSTS");
      report.Add(name, "replica lag", "ok",
                 r.rows.empty()
                     ? "no replica is connected to " + server
                     : fmt::format("{} replica(s) connected to {}; a primary cannot see their "
                                   "lag: use a check_command that reads it",
                                   r.rows.size(), server));
    } catch (const db::Error&) {
      report.Add(name, "replica lag", "warning",
                 "cannot list the replicas of " + server +
                     " (SHOW SLAVE HOSTS needs REPLICATION MASTER ADMIN)",
                 "check their lag on the replicas, or use a check_command that reads it");
    }
    return;
  }
  db::ResultSet r = c.Query(
      "SELECT application_name AS name, state, "
      "COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::float8 AS lag_s, "
      "CASE WHEN pg_is_in_recovery() OR replay_lsn IS NULL THEN NULL "
      "ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint END AS lag_bytes "
      "FROM pg_stat_replication ORDER BY application_name");
  if (r.rows.empty())
    report.Add(name, "replica lag", "ok", "no standby or subscriber streams from " + server);
  constexpr double kBehindSeconds = 10;
  constexpr int64_t kBehindBytes = int64_t{64} << 20;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const double lag_s = std::stod(r.Text(i, "lag_s"));
    const bool bytes_known = r.At(i, "lag_bytes").has_value();
    const int64_t lag_b = bytes_known ? std::stoll(r.Text(i, "lag_bytes")) : -1;
    const bool behind = lag_s > kBehindSeconds || lag_b > kBehindBytes;
    report.Add(name, "replica lag", behind ? "warning" : "ok",
               fmt::format("{} ({}) is {:.1f} s{} behind", r.Text(i, "name"), r.Text(i, "state"),
                           lag_s, bytes_known ? ", " + plans::HumanBytes(lag_b) : std::string()),
               behind
                   ? "let it catch up first, or set check_command/max_rows_per_second so the copy "
                     "waits for it"
                   : "");
  }
}

// The copies' bytes against the free space of the server's data folder, where this machine can
// see it.
void CheckFreeSpace(const db::Catalog& catalog, const std::string& name, const std::string& server,
                    int64_t need, PreflightReport& report) {
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
    report.Add(
        name, "free space", "warning",
        fmt::format(
            "the copies need about {} on {}; its free space is not visible from here{}",
            plans::HumanBytes(need), server,
            dir.empty() ? " (data_directory is not readable by this user)" : " (another host)"),
        "check that the server has that much free, with room for WAL/binlog and indexes");
    return;
  }
  const int64_t free = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  const std::string detail =
      fmt::format("the copies need about {} on {}; {} has {} free", plans::HumanBytes(need), server,
                  dir, plans::HumanBytes(free));
  if (free < need) {
    report.Add(name, "free space", "failed", detail, "free space or add storage before the run");
  } else if (free < 2 * need) {
    report.Add(name, "free space", "warning",
               detail + " (less than twice the copies: WAL/binlog and indexes need room)",
               "free more space before the run");
  } else {
    report.Add(name, "free space", "ok", detail);
  }
}

}  // namespace

void PreflightReport::Add(std::string database, std::string what, std::string status,
                          std::string detail, std::string fix) {
  checks.push_back(
      {std::move(database), std::move(what), std::move(status), std::move(detail), std::move(fix)});
}

PreflightReport Preflight(const plans::Plan& plan, const std::vector<const plans::Step*>& steps,
                          const db::Catalog& catalog) {
  PreflightReport report;
  const Demands d = CollectDemands(plan, steps, catalog);
  for (const std::string& standby : d.standbys) {
    report.Add(standby, "standby", "ok",
               "made by the plan (pg_basebackup); the primary's readiness is checked by the plan's "
               "first step");
  }
  if (!d.unread.empty()) {
    report.Add("", "statements", "warning",
               fmt::format("could not read the SQL of step(s) {} to check its privileges",
                           fmt::join(d.unread, ", ")));
  }
  std::map<std::string, std::pair<std::string, int64_t>>
      servers;  // host:port -> (a database, bytes)
  std::set<std::string> lag_checked;
  for (const std::string& name : d.order) {
    auto c = catalog.Connect(name);
    const std::string server = fmt::format("{}:{}", c->url().host, c->url().PortOrDefault());
    auto& [first_db, need_bytes] = servers[server];
    if (first_db.empty()) first_db = name;
    auto bytes = d.bytes_in.find(name);
    if (bytes != d.bytes_in.end()) need_bytes += bytes->second;
    const bool replica = d.replica_method.count(name) > 0;
    if (replica) {
      report.Add(name, "writable", "ok",
                 "a replica: the plan loads it, the application only reads it");
    } else {
      CheckWritable(*c, name, d.capturing.count(name) > 0, report);
    }
    auto live = d.live_triggers.find(name);
    if (live != d.live_triggers.end() && !live->second.empty()) CheckLiveCapture(*c, name, live->second, report);
    if (auto slots = d.live_slots.find(name); slots != d.live_slots.end()) CheckLiveSlots(*c, name, slots->second, report);
    if (auto positions = d.live_positions.find(name); positions != d.live_positions.end()) {
      CheckLivePositions(*c, name, positions->second, report);
    }
    if (auto log = d.log_capture.find(name); log != d.log_capture.end()) CheckLogReady(*c, name, log->second, report);
    auto needs = d.needs.find(name);
    CheckPrivileges(*c, name, needs == d.needs.end() ? std::vector<Need>{} : needs->second, report);
    auto written = d.written_tables.find(name);
    if (written != d.written_tables.end()) CheckTriggers(*c, name, written->second, report);
    if (!replica && lag_checked.insert(server).second) CheckReplicaLag(*c, name, server, report);
    for (const plans::Step* step : steps) {
      if (step->database == name && step->kind == plans::StepKind::kSql) CheckTargetDefinition(*c, name, *step, plan, catalog, report);
    }
  }
  for (const auto& [server, entry] : servers) {
    if (entry.second > 0) CheckFreeSpace(catalog, entry.first, server, entry.second, report);
  }
  return report;
}

}  // namespace shardshift::planner
