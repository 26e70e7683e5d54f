#include "planner/move_keys_planner.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "db/replication_check.h"
#include "planner/capture_sql.h"
#include "planner/copy_steps.h"
#include "planner/directory_sql.h"
#include "planner/fence_sql.h"
#include "planner/key_gate_sql.h"
#include "planner/move_tables_planner.h"
#include "planner/target_ddl.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {

// How a table is named in the plan: as written when found so, else schema.name.
std::string NameInPlan(db::Engine engine, const db::TableInfo& t) {
  return engine == db::Engine::kPostgres && !t.schema.empty() && t.schema != "public" ? t.schema + "." + t.name
                                                                                      : t.name;
}

// Why a log stream could not tell which rows of t hold the moved keys, and the statement that would
// let it ("" when it can). Each change must show the shard_by column's old value (an UPDATE that
// moves a row off the keys, a DELETE) as well as its new one, and the stream must give it as the
// spec writes the keys.
struct FilterProblem {
  std::string what;
  std::string fix;
};
FilterProblem LogFilterProblem(db::Connection& c, const db::TableInfo& t, const std::string& column) {
  const db::ColumnInfo* col = t.FindColumn(column);
  std::string type = col->type;
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::tolower(ch); });
  const bool pg = c.engine() == db::Engine::kPostgres;
  static const std::vector<std::string> kPg = {"smallint", "integer", "bigint", "text", "character varying"};
  static const std::vector<std::string> kMy = {"tinyint", "smallint", "mediumint", "int", "bigint", "varchar"};
  const std::vector<std::string>& types = pg ? kPg : kMy;
  if (std::none_of(types.begin(), types.end(), [&](const std::string& k) {
        return type.starts_with(k) && (type.size() == k.size() || type[k.size()] == '(' || type[k.size()] == ' ');
      })) {
    return {fmt::format("{}.{} is {}: the stream compares integers and strings only", t.name, column, col->type),
            "capture = \"trigger\""};
  }
  // The stream compares the text it decodes with the keys, byte for byte, where SQL (the copy, the
  // key gates) compares in the column's collation: a collation under which other spellings are
  // equal ('ACME', 'acme ' for 'acme') would have the copy move rows whose changes the stream
  // passes over. PostgreSQL: a nondeterministic collation; MariaDB: any but a NO PAD binary one
  // (even utf8mb4_bin ignores trailing spaces).
  const bool text = pg ? type.starts_with("text") || type.starts_with("character varying") : type.starts_with("varchar");
  const std::string quoted = c.Quote(db::TableName{t.schema, t.name});
  if (text && pg && !col->collation.empty()) {  // the database's default collation is deterministic
    const std::string deterministic =
        c.Query("SELECT COALESCE((SELECT co.collisdeterministic::text FROM pg_attribute a JOIN pg_collation co ON "
                "co.oid = a.attcollation WHERE a.attrelid = to_regclass($1) AND a.attname = $2), 'true') AS d",
                {quoted, column})
            .Text(0, "d");
    if (deterministic != "true") {
      return {fmt::format("{}.{} has the nondeterministic collation {}, under which other spellings of a key are "
                          "equal to it: the stream compares text byte for byte",
                          t.name, column, col->collation),
              "capture = \"trigger\""};
    }
  }
  if (text && !pg && !col->collation.ends_with("_nopad_bin")) {
    return {fmt::format("{}.{} has the collation {}, under which other spellings of a key (case, accents or "
                        "trailing spaces) are equal to it: the stream compares text byte for byte",
                        t.name, column, col->collation.empty() ? "of its table" : col->collation),
            "ALTER TABLE " + quoted + " MODIFY " + c.Quote(column) + " " +
                col->type + (col->charset.empty() ? "" : " CHARACTER SET " + col->charset) + " COLLATE " +
                (col->charset.empty() ? std::string("utf8mb4") : col->charset) + "_nopad_bin" +
                (col->nullable ? "" : " NOT NULL")};
  }
  if (pg) {
    const db::ReplicaIdentity identity = db::ReadReplicaIdentity(c, {t.schema, t.name});
    if (identity.kind == '\0' || identity.kind == 'f') return {};
    if (std::find(identity.columns.begin(), identity.columns.end(), column) != identity.columns.end()) return {};
    return {fmt::format("{} is not in the replica identity of {} ({}): the WAL would not say which {} an updated or "
                        "deleted row had",
                        column, t.name,
                        identity.columns.empty() ? "none" : fmt::format("{}", fmt::join(identity.columns, ", ")), column),
            "ALTER TABLE " + quoted + " REPLICA IDENTITY FULL"};
  }
  const std::string image = c.Query("SELECT @@binlog_row_image AS image").Text(0, "image");
  if (image != "MINIMAL" || std::find(t.primary_key.begin(), t.primary_key.end(), column) != t.primary_key.end()) {
    return {};
  }
  return {fmt::format("binlog_row_image is MINIMAL and {} is not in the primary key of {}: an updated or deleted "
                      "row's before image would not say which {} it had",
                      column, t.name, column),
          "SET GLOBAL binlog_row_image = 'FULL' (and in my.cnf)"};
}

}  // namespace

plans::Plan PlanMoveKeys(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader,
                         const PlanOptions& options) {
  const plans::MoveKeysSpec& m = *spec.move_keys;
  const db::Engine engine = CheckDatabases(catalog, {m.directory.database, m.to}, "move_keys");
  if (!spec.options.fence) {
    throw plans::InputError(spec.options.fence_pos, "options.fence",
                            "a move_keys migration blocks and fences the moved keys with its key gates: fence = false "
                            "cannot apply to it");
  }
  // Where the keys are now: one shard, by the directory.
  plans::Directory directory;
  {
    auto conn = catalog.Connect(m.directory.database.name);
    try {
      directory = ReadDirectory(*conn, db::TableName::Parse(m.directory.table), m.directory.database.name);
    } catch (const db::Error& e) {
      if (e.kind() != db::ErrorKind::kBadInput) throw;
      throw plans::InputError(m.directory.pos, "move_keys.directory", e.what());
    }
  }
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const std::string& k : m.keys) {
    const std::optional<std::string> at = directory.ShardOf(k);
    if (!at) {
      throw plans::InputError(m.keys_pos, "move_keys.keys",
                              fmt::format("the directory routes key {} nowhere ({}, no entry for it)", k,
                                          directory.layout.Describe()));
    }
    by_shard[*at].push_back(k);
  }
  if (by_shard.size() > 1) {
    std::vector<std::string> where;
    for (const auto& [shard, keys] : by_shard) where.push_back(fmt::format("{} on {}", fmt::join(keys, ", "), shard));
    throw plans::InputError(m.keys_pos, "move_keys.keys",
                            fmt::format("the keys are on more than one shard ({}); a move_keys plan moves keys from one "
                                        "shard: write one spec per shard",
                                        fmt::join(where, "; ")));
  }
  const std::string from = by_shard.begin()->first;
  if (from == m.to.name) {
    throw plans::InputError(m.to.pos, "move_keys.to",
                            fmt::format("the directory already routes {} to '{}'", fmt::join(m.keys, ", "), from));
  }
  const plans::DatabaseRef source{from, m.directory.pos};
  if (!catalog.Has(from)) {
    throw plans::InputError(m.directory.pos, "move_keys.directory",
                            "the directory routes the keys to database '" + from + "', which the config does not define");
  }
  if (CheckDatabases(catalog, {source}, "move_keys.directory") != engine) {
    throw plans::InputError(m.to.pos, "move_keys.to", "database '" + from + "' (the keys' shard) is of another engine");
  }
  const std::string column = directory.layout.shard_by;
  std::string in;
  for (const std::string& k : m.keys) in += (in.empty() ? "" : ", ") + SqlLiteral(engine, k);
  const std::string filter = db::QuoteIdentifier(engine, column) + " IN (" + in + ")";
  const std::vector<std::string> wanted = m.tables.empty() ? directory.layout.tables : m.tables;
  const db::SchemaInfo schema = reader.Read(from, {"", "", false});
  const db::SchemaInfo target_schema = reader.Read(m.to.name, {"", "", false});

  plans::Plan plan;
  plan.header = HeaderFor(spec);
  plan.header.warnings.push_back(fmt::format("moves {} {} from {} to {}: {} table(s); only these keys' writes wait at "
                                             "the cutover",
                                             column, fmt::join(m.keys, ", "), from, m.to.name, wanted.size()));
  std::vector<plans::Step> copy, parts, cleanups;
  nlohmann::json fingerprints = nlohmann::json::object();
  std::vector<std::string> names;
  for (const std::string& written : wanted) {
    const db::TableInfo* t = schema.FindWritten(written);
    if (t == nullptr) {
      throw plans::InputError(m.tables.empty() ? m.directory.pos : m.tables_pos, "move_keys.tables",
                              "table '" + written + "' does not exist on database '" + from + "'");
    }
    const std::string name = NameInPlan(engine, *t);
    if (t->FindColumn(column) == nullptr) {
      throw plans::InputError(m.tables_pos, "move_keys.tables",
                              fmt::format("table '{}' has no column {} (the directory's shard_by): only tables that "
                                          "carry it move with the keys",
                                          name, column));
    }
    if (t->primary_key.empty() && t->unique_keys.empty()) {
      throw plans::InputError(m.tables_pos, "move_keys.tables",
                              "table '" + name + "' has no primary key or unique NOT NULL key to copy by");
    }
    const db::TableName table{t->schema, t->name};
    const db::TableInfo* existing = target_schema.FindTable(t->schema, t->name);
    if (existing != nullptr) {
      auto conn = catalog.Connect(m.to.name);
      const std::string n =
          conn->Query("SELECT COUNT(*) AS n FROM " + conn->Quote(table) + " WHERE " + filter).Text(0, "n");
      if (n != "0") {
        throw plans::InputError(m.to.pos, "move_keys.to",
                                fmt::format("database '{}' already holds {} row(s) of these keys in {}: rows left by "
                                            "an earlier move? delete them there first (nothing was planned)",
                                            m.to.name, n, name));
      }
    }
    names.push_back(name);
    plans::Spec sub = spec;
    sub.kind = plans::MigrationKind::kReshard;
    sub.move_keys.reset();
    sub.hooks = {};  // the group runs the hooks, once
    // The log, when it can tell the moved keys' rows (else triggers restricted to them).
    sub.options.capture = spec.options.capture;
    if (sub.options.capture != "trigger") {
      auto conn = catalog.Connect(from);
      const FilterProblem problem = LogFilterProblem(*conn, *t, column);
      if (!problem.what.empty() && spec.options.capture == "log") {
        throw plans::InputError(spec.options.capture_pos, "options.capture",
                                fmt::format("log capture cannot pick out the moved keys' changes: {}; fix: {} — or "
                                            "set capture = \"trigger\" (nothing was changed)",
                                            problem.what, problem.fix));
      }
      if (!problem.what.empty()) {
        plan.header.warnings.push_back(fmt::format(
            "{}: capture by triggers restricted to the moved keys (their writes also write their key to a changelog "
            "in the same transaction), because {}; to capture from the log instead: {}, then plan again",
            name, problem.what, problem.fix));
        sub.options.capture = "trigger";
      }
    }
    plans::ReshardSpec r;
    r.table = name;
    r.target_table = name;
    r.key = !t->primary_key.empty() ? t->primary_key : t->unique_keys.front();
    r.shard_by = r.key;
    r.key_pos = m.tables_pos;
    r.source_layout = plans::SourceLayout::kSingle;
    r.sources.push_back({source, std::nullopt, std::nullopt});
    r.targets.push_back(m.to);
    sub.reshard = r;
    plans::Plan p = PlanReshard(sub, catalog, reader, options);
    for (const std::string& w : p.header.warnings) {
      if (w.starts_with("predicted rows per target shard") || w.starts_with("skew ")) continue;  // the whole table's
      plan.header.warnings.push_back(name + ": " + w);
    }
    fingerprints[name] = MoveFingerprint(reader.Read(from, {t->schema, t->name, false}));

    // Narrowed to the keys: the triggers fire for them only; a stream passes over other rows.
    const bool log = std::any_of(p.steps.begin(), p.steps.end(), [](const plans::Step& s) {
      return s.kind == plans::StepKind::kCapture && (s.params.count("slot") || s.params.count("server_id"));
    });
    const CaptureFilter only{column, m.keys};
    const CaptureSql capture = log ? SourceCapture({true, ""}, engine, *t, r.key, spec.name, from)
                                   : BuildCapture(engine, *t, r.key, spec.name, "", only);
    db::TableInfo target_info = *t;
    const CaptureSql reverse = BuildCapture(engine, target_info, r.key, spec.name, "reverse", only);
    const KeyGateSql source_gate =
        BuildKeyGate(engine, table, spec.name, column, m.keys, "open",
                     fmt::format("shardshift migration '{}' moved {} {} to {}: write them there (the directory "
                                 "routes them there)",
                                 spec.name, column, fmt::join(m.keys, ", "), m.to.name));
    const KeyGateSql target_gate =
        BuildKeyGate(engine, table, spec.name, column, m.keys, "fenced",
                     fmt::format("shardshift migration '{}' is moving {} {} here: write them to {} until its "
                                 "cutover",
                                 spec.name, column, fmt::join(m.keys, ", "), from));
    const TargetDdl ddl = BuildTargetDdl(engine, *t, table);
    const std::string delete_rows = "DELETE FROM " + db::QuoteTable(engine, table) + " WHERE " + filter;
    for (plans::Step& s : p.steps) {
      s.params["row_filter"] = filter;
      s.params["move_table"] = name;
      if (s.id.starts_with("create_target.")) {
        s.description = fmt::format("{} {} on {}, with capture of the moved keys' changes there for the way back and "
                                    "their gate fenced until the cutover",
                                    existing ? "use the existing" : "create", name, m.to.name);
        s.sql = existing ? std::vector<std::string>{} : ddl.create;
        s.sql.insert(s.sql.end(), reverse.install.begin(), reverse.install.end());
        s.sql.insert(s.sql.end(), target_gate.create.begin(), target_gate.create.end());
        s.undo = reverse.remove;
        s.undo.insert(s.undo.end(), target_gate.remove.begin(), target_gate.remove.end());
        s.undo.insert(s.undo.end(), target_gate.remove_row.begin(), target_gate.remove_row.end());
        if (existing) {
          s.undo.push_back(delete_rows);  // the table holds other keys: only the copied rows go
        } else {
          s.undo.insert(s.undo.end(), ddl.drop.begin(), ddl.drop.end());
        }
      } else if (s.kind == plans::StepKind::kCapture) {
        s.description =
            log ? fmt::format("read every write of {} {} to {} from the {} into {}, outside the application's "
                              "transactions (apply streams it while it runs), and gate those keys' writes (open until "
                              "the cutover)",
                              column, fmt::join(m.keys, ", "), name,
                              engine == db::Engine::kPostgres ? "WAL (slot " + capture.slot + ")" : "binary log",
                              capture.changelog.ToString())
                : fmt::format("record the key of every write of {} {} to {} in {}, and gate those keys' writes "
                              "(open until the cutover)",
                              column, fmt::join(m.keys, ", "), name, capture.changelog.ToString());
        if (log) {
          s.lock = TriggerLock(engine, name) + " (the gate's triggers); " + s.lock;
          s.params["capture_only_column"] = column;
          s.params["capture_only_values"] = JsonList(m.keys);
        }
        s.sql = capture.install;
        s.sql.insert(s.sql.end(), source_gate.create.begin(), source_gate.create.end());
        s.undo = source_gate.remove;
        s.undo.insert(s.undo.end(), source_gate.remove_row.begin(), source_gate.remove_row.end());
        s.undo.insert(s.undo.end(), capture.remove.begin(), capture.remove.end());
      } else if (s.kind == plans::StepKind::kBackfill) {
        s.description = fmt::format("copy the rows of {} {} in {} to {} in key order, replaying their captured "
                                    "changes between chunks",
                                    column, fmt::join(m.keys, ", "), name, m.to.name);
        s.sql = {s.sql.front() + " -- with " + filter};
      } else if (s.kind == plans::StepKind::kCutover) {
        s.description = "its part of the group's cutover (step cutover): hold the keys' gates on both sides, drain, "
                        "fence the source gate, open the target's";
        s.sql = source_gate.hold;
        s.sql.insert(s.sql.end(), source_gate.fence.begin(), source_gate.fence.end());
        s.sql.insert(s.sql.end(), target_gate.open.begin(), target_gate.open.end());
        s.lock = engine == db::Engine::kPostgres ? "the moved keys' advisory lock (their writers only)"
                                                 : "the moved keys' gate row, FOR UPDATE (their writers only)";
        s.params["fence"] = "true";
        s.params["fence_sources"] = JsonList(source_gate.fence);
        s.params["unfence_sources"] = JsonList(source_gate.open);
        s.params["source_fence_triggers"] = JsonList(source_gate.triggers);
        s.params["fence_targets"] = JsonList(target_gate.fence);
        s.params["unfence_targets"] = JsonList(target_gate.open);
        s.params["target_fence_triggers"] = JsonList(target_gate.triggers);
        s.params["target_block_sql"] = target_gate.hold.front();
        s.params["reverse_changelog"] = reverse.changelog.ToString();
        s.params["source_gate_state"] = source_gate.state_sql;
        s.params["target_gate_state"] = target_gate.state_sql;
        s.undo = {"apply --revert (until cleanup), with the group: hold the keys' gate on " + m.to.name +
                  ", drain the way back, fence it there and open it on " + from};
      } else if (s.kind == plans::StepKind::kCleanup && s.database == from) {
        s.description = fmt::format("remove capture; delete the moved rows of {} from {} in throttled chunks (the "
                                    "source gate stays: late writers of these keys keep failing)",
                                    name, from);
        s.sql = capture.remove;
        s.params["delete_where"] = filter;
        s.undo = {"none: the rows are deleted (they are on " + m.to.name + ")"};
      } else if (s.kind == plans::StepKind::kCleanup) {
        s.description = "remove the way back's capture and the target's gate (ends the window in which a revert "
                        "could switch back)";
        s.sql = reverse.remove;
        s.sql.insert(s.sql.end(), target_gate.remove.begin(), target_gate.remove.end());
        s.sql.insert(s.sql.end(), target_gate.remove_row.begin(), target_gate.remove_row.end());
      }
      s.id = name + "/" + s.id;
      if (s.kind == plans::StepKind::kCutover) {
        parts.push_back(std::move(s));
      } else if (s.kind == plans::StepKind::kCleanup) {
        cleanups.push_back(std::move(s));
      } else {
        copy.push_back(std::move(s));
      }
    }
  }
  plan.steps = copy;
  {
    plans::Step s;
    s.id = "cutover";
    s.kind = plans::StepKind::kCutover;
    s.database = from;
    s.online = true;  // only the moved keys' writes wait
    s.description = fmt::format(
        "catch up every table, hold the writes of {} {} on {} (theirs only: other keys write on), drain, check the "
        "last changes, fence them on {} and open them on {}, point their directory entries at {}",
        column, fmt::join(m.keys, ", "), from, from, m.to.name, m.to.name);
    s.sql = DirectoryUpsertSql(engine, db::TableName::Parse(m.directory.table), m.keys, m.to.name, spec.name);
    s.lock = engine == db::Engine::kPostgres ? "the moved keys' advisory lock on both databases"
                                             : "the moved keys' gate rows, FOR UPDATE, on both databases";
    s.undo = {fmt::format("apply --revert (until cleanup): every table's way back drained in one window, the keys "
                          "fenced on {} and opened on {}, their directory entries pointed at {}",
                          m.to.name, from, from)};
    s.params = {{"source", from},
                {"target", m.to.name},
                {"tables", JsonList(names)},
                {"keys", JsonList(m.keys)},
                {"shard_by", column},
                {"directory_database", m.directory.database.name},
                {"directory_table", m.directory.table},
                {"lock_timeout_ms", std::to_string(spec.options.lock_timeout_ms)},
                {"retries", std::to_string(spec.options.retries)},
                {"parallel_sources", std::to_string(spec.options.parallel_sources)},
                {"fingerprints", fingerprints.dump()}};
    AddHookParams(spec.hooks, s);
    s.estimate = {0, 0, 0.3};
    plan.steps.push_back(s);
  }
  plan.steps.insert(plan.steps.end(), parts.begin(), parts.end());
  plan.steps.insert(plan.steps.end(), cleanups.begin(), cleanups.end());
  return plan;
}

}  // namespace shardshift::planner
