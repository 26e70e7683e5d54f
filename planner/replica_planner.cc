#include "planner/replica_planner.h"

#include <filesystem>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "db/replication_check.h"
#include "planner/copy_steps.h"
#include "planner/target_ddl.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {


// What verification reads of each table: its key (or, without one, every column) and columns.
nlohmann::json TablesParam(const std::vector<const db::TableInfo*>& tables) {
  nlohmann::json out = nlohmann::json::array();
  for (const db::TableInfo* t : tables) {
    std::vector<std::string> cols;
    for (const db::ColumnInfo& c : t->columns) {
      if (c.generated.empty()) cols.push_back(c.name);
    }
    std::vector<std::string> key = t->primary_key;
    if (key.empty() && !t->unique_keys.empty()) key = t->unique_keys.front();
    if (key.empty()) key = cols;
    out.push_back({{"table", t->Shown()}, {"key", key}, {"columns", cols}});
  }
  return out;
}

}  // namespace

std::string ReplicaObjectName(const std::string& migration, const std::string& replica) {
  std::string out = "shardshift_";
  for (char c : migration + "_" + replica) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  }
  return out.substr(0, 63);
}

plans::Plan PlanReplica(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader) {
  const plans::ReplicaSpec& r = *spec.replica;
  auto known = [&](const plans::DatabaseRef& ref, const std::string& field) {
    if (!catalog.Has(ref.name)) {
      throw plans::InputError(ref.pos, field, "unknown database '" + ref.name + "' (not in the config)");
    }
    return catalog.Url(ref.name);
  };
  const db::ConnectionUrl primary_url = known(r.primary, "replica.primary");
  const db::Engine engine = primary_url.engine;
  for (const plans::ReplicaTarget& t : r.replicas) {
    const db::ConnectionUrl url = known(t.database, "replica.replicas.database");
    if (url.engine != engine) {
      throw plans::InputError(t.database.pos, "replica.replicas.database",
                              fmt::format("'{}' is not the same engine as the primary '{}'", t.database.name,
                                          r.primary.name));
    }
    if ((engine == db::Engine::kPostgres) != (t.method != "gtid")) {
      throw plans::InputError(t.pos, "replica.replicas.method",
                              engine == db::Engine::kPostgres
                                  ? "a PostgreSQL replica is \"logical\" or \"physical\""
                                  : "a MariaDB replica is \"gtid\"");
    }
    if (t.method == "physical" && !t.data_dir.empty() && url.host != "127.0.0.1" && url.host != "localhost" &&
        url.host != "::1") {
      throw plans::InputError(t.pos, "replica.replicas.data_dir",
                              fmt::format("'{}' listens on {}, not on this machine: leave data_dir out and the plan "
                                          "prints the commands to run there", t.database.name, url.host));
    }
    if (t.method == "gtid" && url.database != primary_url.database) {
      throw plans::InputError(t.database.pos, "replica.replicas.database",
                              fmt::format("the replica's database '{}' must have the primary's name '{}' (MariaDB "
                                          "replicates a database under its own name)", url.database,
                                          primary_url.database));
    }
  }
  auto primary = catalog.Connect(r.primary.name);
  db::ReplicationReadiness settings;
  if (engine == db::Engine::kPostgres) {
    int64_t need = 0;
    bool logical = false;
    bool sync = false;
    for (const plans::ReplicaTarget& t : r.replicas) {
      logical = logical || t.method == "logical";
      sync = sync || t.mode == "sync";
      need += t.method == "logical" ? 3 : 1;  // a logical subscription's initial copy uses up to two more slots
    }
    db::CheckPostgresPrimary(*primary, logical, need, sync, settings);
  } else {
    db::CheckMariadbPrimary(*primary, settings);
    for (const plans::ReplicaTarget& t : r.replicas) {
      auto replica = catalog.Connect(t.database.name);
      db::CheckMariadbPrivileges(*primary, *replica, settings);
    }
  }
  db::SchemaInfo primary_schema = reader.Read(r.primary.name, {"", "", false});
  std::vector<const db::TableInfo*> all_tables;
  for (const db::TableInfo& t : primary_schema.tables) {
    if (!db::IsShardshiftTable(t.name)) all_tables.push_back(&t);
  }

  plans::Plan plan;
  plans::PlanHeader& h = plan.header;
  h = HeaderFor(spec);
  const std::string p = r.primary.name;
  std::vector<std::string> replica_names;
  nlohmann::json replicas_param = nlohmann::json::array();
  for (const plans::ReplicaTarget& t : r.replicas) {
    replica_names.push_back(t.database.name);
    replicas_param.push_back({{"database", t.database.name}, {"method", t.method}, {"mode", t.mode},
                              {"object", ReplicaObjectName(spec.name, t.database.name)},
                              {"max_lag_bytes", t.max_lag_bytes}, {"max_lag_seconds", t.max_lag_seconds}});
  }
  const std::map<std::string, std::string> common = {
      {"primary", p}, {"replicas", replicas_param.dump()},
      {"ready_timeout_seconds", std::to_string(r.ready_timeout_seconds)},
      {"lock_timeout_ms", std::to_string(spec.options.lock_timeout_ms)},
      {"retries", std::to_string(spec.options.retries)}};
  {
    plans::Step s;
    s.id = "check." + p;
    s.kind = plans::StepKind::kReplica;
    s.database = p;
    s.params = common;
    s.params["action"] = "check_primary";
    if (settings.problems.empty()) {
      s.description = "check again that the primary's settings allow these replicas (they did when planned)";
    } else {
      s.description = fmt::format("the primary is not ready: {}. Run the statements below on '{}'{}, then apply; "
                                  "apply refuses to start until then", fmt::join(settings.problems, "; "), p,
                                  settings.restart ? " and restart the server" : "");
      s.sql = settings.fixes;
      s.params["blocked"] = fmt::format("{}", fmt::join(settings.problems, "; "));
      h.warnings.push_back(fmt::format("primary '{}' is not ready for these replicas: {}; fix: {}{}", p,
                                       fmt::join(settings.problems, "; "), fmt::join(settings.fixes, "; "),
                                       settings.restart ? " (needs a restart)" : ""));
    }
    s.estimate = {0, 0, 0.1};
    plan.steps.push_back(s);
  }

  std::vector<std::string> sync_names;
  for (const plans::ReplicaTarget& t : r.replicas) {
    const std::string rep = t.database.name;
    const std::string object = ReplicaObjectName(spec.name, rep);
    const db::ConnectionUrl url = catalog.Url(rep);
    std::vector<const db::TableInfo*> tables = all_tables;
    if (t.method == "logical" && !t.tables.empty()) {
      tables.clear();
      for (const std::string& name : t.tables) {
        const db::TableInfo* found = primary_schema.FindWritten(name);
        if (!found) {
          throw plans::InputError(t.pos, "replica.replicas.tables",
                                  fmt::format("table {} does not exist on the primary '{}'", name, p));
        }
        tables.push_back(found);
      }
    }
    std::map<std::string, std::string> params = common;
    params["replica"] = rep;
    params["method"] = t.method;
    params["mode"] = t.mode;
    params["object"] = object;
    params["max_lag_bytes"] = std::to_string(t.max_lag_bytes);
    params["max_lag_seconds"] = fmt::format("{}", t.max_lag_seconds);
    params["tables"] = TablesParam(tables).dump();
    auto step = [&](const std::string& name, plans::StepKind kind, const std::string& database,
                    const std::string& action, const std::string& description) {
      plans::Step s;
      s.id = rep + "." + name;
      s.kind = kind;
      s.database = database;
      s.description = description;
      s.params = params;
      if (!action.empty()) s.params["action"] = action;
      s.estimate = {0, 0, 0.1};
      return s;
    };
    int64_t rows = 0;
    int64_t bytes = 0;
    for (const db::TableInfo* tb : tables) {
      rows += std::max<int64_t>(0, tb->row_estimate);
      bytes += std::max<int64_t>(0, tb->total_bytes);
    }
    if (t.method == "logical") {
      if (tables.empty()) {
        throw plans::InputError(t.pos, "replica.replicas.tables", "the primary '" + p + "' has no tables to replicate");
      }
      db::SchemaInfo there = reader.Read(rep, {"", "", false});
      // Planned again once subscribed: the replica's rows are the subscription's own.
      const bool subscribed =
          !catalog.Connect(rep)->Query("SELECT 1 FROM pg_subscription WHERE subname = $1", {object}).rows.empty();
      std::vector<std::string> names;
      plans::Step schema = step("schema", plans::StepKind::kSql, rep, "", "");
      for (const db::TableInfo* tb : tables) {
        names.push_back(db::QuoteTable(engine, {tb->schema, tb->name}));
        if (const db::TableInfo* have = there.FindWritten(tb->Shown())) {
          // The subscription's initial copy inserts every row: the table must be empty there.
          auto c = catalog.Connect(rep);
          if (!subscribed && !c->Query("SELECT 1 FROM " + db::QuoteTable(engine, {have->schema, have->name}) + " LIMIT 1").rows.empty()) {
            throw plans::InputError(t.pos, "replica.replicas.database",
                                    fmt::format("table {} on the replica '{}' is not empty: the initial copy would "
                                                "collide with its rows; empty it or drop it", tb->Shown(), rep));
          }
          continue;
        }
        TargetDdl ddl = BuildTargetDdl(engine, *tb, {tb->schema, tb->name});
        schema.sql.insert(schema.sql.end(), ddl.create.begin(), ddl.create.end());
      }
      plans::Step pub = step("publication", plans::StepKind::kSql, p, "",
                             fmt::format("publish {} table(s) for the replica '{}'", tables.size(), rep));
      pub.sql = {"DO " + db::DollarQuote(fmt::format("BEGIN IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE "
                                                     "pubname = '{}') THEN CREATE PUBLICATION {} FOR TABLE {}; END IF; END",
                                                     object, db::QuoteIdentifier(engine, object),
                                                     fmt::join(names, ", ")))};
      pub.lock = "SHARE UPDATE EXCLUSIVE on each table, briefly";
      pub.undo = {"DROP PUBLICATION IF EXISTS " + db::QuoteIdentifier(engine, object)};
      plan.steps.push_back(pub);
      schema.description = schema.sql.empty() ? "the tables exist on the replica already (empty, same names)"
                                               : fmt::format("create the {} table(s) on the replica", tables.size());
      schema.undo = {"drop the tables created on the replica"};
      plan.steps.push_back(schema);
      plans::Step sub = step("subscribe", plans::StepKind::kReplica, rep, "subscribe",
                             fmt::format("subscribe '{}' to the publication; the initial copy moves about {} rows, {} "
                                         "bytes", rep, rows, bytes));
      sub.sql = {fmt::format("CREATE SUBSCRIPTION {} CONNECTION 'host={} port={} dbname={} user={} password=***' "
                             "PUBLICATION {} WITH (copy_data = true)", db::QuoteIdentifier(engine, object),
                             primary_url.host, primary_url.PortOrDefault(), primary_url.database, primary_url.user,
                             db::QuoteIdentifier(engine, object))};
      sub.undo = {"DROP SUBSCRIPTION IF EXISTS " + db::QuoteIdentifier(engine, object) +
                  " (also drops its slot on the primary)"};
      sub.estimate = {rows, bytes, Seconds(static_cast<double>(rows), kCopyRowsPerSecond)};
      plan.steps.push_back(sub);
    } else if (t.method == "physical") {
      plans::Step slot = step("slot", plans::StepKind::kSql, p, "",
                              "create the physical replication slot that keeps the WAL the standby still needs");
      slot.sql = {fmt::format("SELECT pg_create_physical_replication_slot('{}') WHERE NOT EXISTS (SELECT 1 FROM "
                              "pg_replication_slots WHERE slot_name = '{}')", object, object)};
      slot.undo = {fmt::format("SELECT pg_drop_replication_slot('{}')", object)};
      plan.steps.push_back(slot);
      const std::string basebackup =
          fmt::format("pg_basebackup -h {} -p {} -U {} -D {} -X stream -S {} -R -c fast", primary_url.host,
                      primary_url.PortOrDefault(), primary_url.user, t.data_dir.empty() ? "DATA_DIR" : t.data_dir,
                      object);
      const std::string settings_text = fmt::format("port = {}, listen_addresses = '{}', cluster_name = '{}'",
                                                    url.PortOrDefault(), url.host, object);
      if (t.data_dir.empty()) {
        plans::Step manual = step("standby", plans::StepKind::kReplica, rep, "manual",
                                  fmt::format("on the replica's host ({}), as the postgres user: `PGPASSWORD=… {}`; add "
                                              "to DATA_DIR/postgresql.auto.conf: {}; start the server. apply waits "
                                              "for it to answer in recovery", url.host, basebackup, settings_text));
        plan.steps.push_back(manual);
      } else {
        if (std::filesystem::exists(t.data_dir) && !std::filesystem::is_empty(t.data_dir) &&
            !std::filesystem::exists(std::filesystem::path(t.data_dir) / "standby.signal")) {
          throw plans::InputError(t.pos, "replica.replicas.data_dir",
                                  t.data_dir + " exists and is not empty: give an empty or new folder for the standby");
        }
        plans::Step base = step("basebackup", plans::StepKind::kReplica, rep, "basebackup",
                                fmt::format("copy the primary into {} with pg_basebackup (as the folder's owner), "
                                            "streaming the WAL through the slot: about {} bytes", t.data_dir,
                                            primary->Query("SELECT pg_database_size(current_database()) AS b").Text(0, "b")));
        base.sql = {basebackup};
        base.undo = {"remove " + t.data_dir};
        base.params["data_dir"] = t.data_dir;
        base.params["port"] = std::to_string(url.PortOrDefault());
        base.params["host"] = url.host;
        plan.steps.push_back(base);
        plans::Step start = step("start", plans::StepKind::kReplica, rep, "start_standby",
                                 "set the standby's own " + settings_text + " and start it (pg_ctl, as the folder's owner)");
        start.sql = {fmt::format("pg_ctl -D {} -l {}/../standby.log -w start", t.data_dir, t.data_dir)};
        start.undo = {fmt::format("pg_ctl -D {} -m fast stop", t.data_dir)};
        start.params = base.params;
        start.params["action"] = "start_standby";
        plan.steps.push_back(start);
      }
    } else {
      db::SchemaInfo there = reader.Read(rep, {"", "", false});
      for (const db::TableInfo& tb : there.tables) {
        if (!db::IsShardshiftTable(tb.name)) {
          throw plans::InputError(t.database.pos, "replica.replicas.database",
                                  fmt::format("the replica's database '{}' already has table {}: a GTID replica starts "
                                              "from an empty database", rep, tb.name));
        }
      }
      auto rc = catalog.Connect(rep);
      if (rc->Query("SELECT @@server_id AS id").Text(0, "id") == primary->Query("SELECT @@server_id AS id").Text(0, "id")) {
        throw plans::InputError(t.database.pos, "replica.replicas.database",
                                fmt::format("the replica '{}' has the primary's server_id: give it another one", rep));
      }
      plans::Step copy = step("copy", plans::StepKind::kReplica, rep, "dump_copy",
                              fmt::format("copy database {} consistently (about {} rows, {} bytes) and remember the "
                                          "GTID position it was taken at", primary_url.database, rows, bytes));
      copy.sql = {fmt::format("mariadb-dump -h {} -P {} -u {} --single-transaction --gtid --master-data=2 "
                              "--routines --triggers --databases {} | mariadb -h {} -P {} -u {}",
                              primary_url.host, primary_url.PortOrDefault(), primary_url.user, primary_url.database,
                              url.host, url.PortOrDefault(), url.user),
                  "SET GLOBAL gtid_slave_pos = '<the position the dump was taken at>'"};
      copy.lock = "a global read lock for a moment (FLUSH TABLES WITH READ LOCK, to read the GTID position), then one consistent snapshot (InnoDB tables)";
      copy.estimate = {rows, bytes, Seconds(static_cast<double>(rows), kCopyRowsPerSecond)};
      plan.steps.push_back(copy);
      plans::Step change = step("change_master", plans::StepKind::kReplica, rep, "change_master",
                                fmt::format("create the replication user on the primary (a new password each time, "
                                            "never written down) and start replicating {} from the dump's position",
                                            primary_url.database));
      change.sql = {
          fmt::format("CREATE USER IF NOT EXISTS '{}'@'%' IDENTIFIED BY '***'; GRANT REPLICATION SLAVE ON *.* TO "
                      "'{}'@'%'  -- on the primary", object.substr(0, 32), object.substr(0, 32)),
          "STOP SLAVE",
          fmt::format("SET GLOBAL replicate_do_db = '{}'", primary_url.database),
          fmt::format("CHANGE MASTER TO MASTER_HOST = '{}', MASTER_PORT = {}, MASTER_USER = '{}', MASTER_PASSWORD = "
                      "'***', MASTER_USE_GTID = slave_pos", primary_url.host, primary_url.PortOrDefault(),
                      object.substr(0, 32)),
          "START SLAVE"};
      if (t.mode == "semi-sync") {
        change.sql.insert(change.sql.begin() + 1, "SET GLOBAL rpl_semi_sync_master_enabled = ON  -- on the primary");
        change.sql.insert(change.sql.end() - 1, "SET GLOBAL rpl_semi_sync_slave_enabled = ON");
      }
      // MariaDB has no SET PERSIST: a restart forgets SET GLOBAL. The DBA puts these in the
      // configuration files; `replicas status` says when one was lost.
      h.warnings.push_back(fmt::format(
          "SET GLOBAL does not survive a restart: put replicate_do_db = {}{} in the [mariadb] section of the replica "
          "'{}''s configuration{}; `replicas status` exits 1 when one is lost", primary_url.database,
          t.mode == "semi-sync" ? " and rpl_semi_sync_slave_enabled = ON" : "", rep,
          t.mode == "semi-sync" ? ", and rpl_semi_sync_master_enabled = ON in the primary's" : ""));
      change.undo = {"STOP SLAVE; RESET SLAVE ALL", "DROP USER IF EXISTS '" + object.substr(0, 32) + "'@'%'  -- on the primary"};
      plan.steps.push_back(change);
    }
    plans::Step wait = step("wait", plans::StepKind::kReplica, rep, "wait_lag",
                            fmt::format("wait until '{}' has its initial copy and is behind by at most {} s{}, at most "
                                        "{} s", rep, t.max_lag_seconds,
                                        engine == db::Engine::kPostgres ? fmt::format(" and {} bytes", t.max_lag_bytes)
                                                                        : "",
                                        r.ready_timeout_seconds));
    plan.steps.push_back(wait);
    if (t.mode == "sync") sync_names.push_back(object);
    plans::Step verify = step("verify", plans::StepKind::kVerify, rep, "",
                              fmt::format("compare {} table(s) with the primary chunk by chunk by checksum, each chunk "
                                          "once the replica has caught up with the moment it was read on the primary",
                                          tables.size()));
    verify.estimate = {rows, 0, Seconds(static_cast<double>(rows), kVerifyRowsPerSecond)};
    plan.steps.push_back(verify);
  }
  if (!sync_names.empty()) {
    plans::Step s;
    s.id = "sync." + p;
    s.kind = plans::StepKind::kSql;
    s.database = p;
    s.description = "make commits on the primary wait for the synchronous replica(s) (after they caught up, so that "
                    "the initial copy never holds commits back)";
    std::vector<std::string> quoted;
    for (const std::string& n : sync_names) quoted.push_back("\"" + n + "\"");
    s.sql = {fmt::format("ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 ({})'", fmt::join(quoted, ", "))};
    s.undo = {"ALTER SYSTEM RESET synchronous_standby_names"};
    // Without synchronous_commit, synchronous_standby_names holds no commit back: the server-wide
    // value is turned on with it (per-role and per-database values are the DBA's, checked above).
    const db::SyncCommitSettings commit = db::ReadSyncCommit(*primary);
    if (!commit.server.empty() && !db::SyncCommitWaits(commit.server)) {
      s.sql.push_back("ALTER SYSTEM SET synchronous_commit = 'on'");
      s.undo.push_back(fmt::format("ALTER SYSTEM SET synchronous_commit = '{}'", commit.server));
      s.description += fmt::format("; and turn synchronous_commit on server-wide (it is '{}': no commit would wait)",
                                   commit.server);
      h.warnings.push_back(fmt::format("primary '{}' runs with synchronous_commit = '{}', under which no commit waits for "
                                       "a synchronous replica: step {} sets it to 'on' server-wide, so every commit "
                                       "there then waits for a local flush and for the replica", p, commit.server,
                                       s.id));
    }
    s.sql.push_back("SELECT pg_reload_conf()");
    s.undo.push_back("SELECT pg_reload_conf()");
    s.params = common;
    s.params["sync_names"] = nlohmann::json(sync_names).dump();
    plan.steps.push_back(s);
  }
  {
    plans::Step s;
    s.id = "router";
    s.kind = plans::StepKind::kReplica;
    s.database = p;
    s.description = "write the router file: the primary for writes, the ready replicas for reads, with the "
                    "consistency each gives";
    s.params = common;
    s.params["action"] = "router";
    plan.steps.push_back(s);
  }
  return plan;
}

}  // namespace shardshift::planner
