#include "planner/move_tables_planner.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "planner/copy_steps.h"
#include "planner/fence_sql.h"
#include "planner/move_group.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {

std::string Written(db::Engine engine, const db::TableInfo& t) {
  return engine == db::Engine::kPostgres ? t.schema + "." + t.name : t.name;
}

// FOREIGN KEY (...) REFERENCES ... as the source has it.
std::string ForeignKeyDef(db::Engine engine, const MovedForeignKey& k) {
  auto q = [&](const std::string& n) { return db::QuoteIdentifier(engine, n); };
  std::vector<std::string> cols, refs;
  for (const std::string& c : k.fk->columns) cols.push_back(q(c));
  for (const std::string& c : k.fk->ref_columns) refs.push_back(q(c));
  const std::string ref_schema =
      engine == db::Engine::kPostgres ? (k.fk->ref_schema.empty() ? k.table->schema : k.fk->ref_schema) : "";
  std::string def = fmt::format("({}) REFERENCES {} ({})", fmt::join(cols, ", "),
                                db::QuoteTable(engine, {ref_schema, k.fk->ref_table}), fmt::join(refs, ", "));
  if (!k.fk->on_update.empty() && k.fk->on_update != "NO ACTION") def += " ON UPDATE " + k.fk->on_update;
  if (!k.fk->on_delete.empty() && k.fk->on_delete != "NO ACTION") def += " ON DELETE " + k.fk->on_delete;
  return def;
}

std::string TableOf(db::Engine engine, const MovedForeignKey& k) {
  return db::QuoteTable(engine, {engine == db::Engine::kPostgres ? k.table->schema : "", k.table->name});
}

std::string DropForeignKey(db::Engine engine, const MovedForeignKey& k) {
  return fmt::format("ALTER TABLE {} {} {}", TableOf(engine, k),
                     engine == db::Engine::kPostgres ? "DROP CONSTRAINT IF EXISTS" : "DROP FOREIGN KEY IF EXISTS",
                     db::QuoteIdentifier(engine, k.fk->name));
}

// Adds the key without checking the rows there (they were checked where they came from, and
// verified equal): PostgreSQL NOT VALID (validated later, online), MariaDB with the session's
// foreign_key_checks off (an in-place change). Idempotent.
std::vector<std::string> AddForeignKey(db::Engine engine, const MovedForeignKey& k) {
  const std::string table = TableOf(engine, k);
  const std::string name = db::QuoteIdentifier(engine, k.fk->name);
  if (engine == db::Engine::kPostgres) {
    const std::string body = fmt::format(
        "BEGIN IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = {}::regclass AND conname = {}) THEN "
        "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY {} NOT VALID; END IF; END",
        SqlLiteral(engine, table), SqlLiteral(engine, k.fk->name), table, name, ForeignKeyDef(engine, k));
    return {"DO " + db::DollarQuote(body)};
  }
  return {"SET SESSION foreign_key_checks = 0",
          fmt::format("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY IF NOT EXISTS {}", table, name, ForeignKeyDef(engine, k)),
          "SET SESSION foreign_key_checks = 1"};
}

// A step on database that drops keys; its undo adds them back.
plans::Step DropForeignKeysStep(db::Engine engine, const std::string& id, const std::string& database,
                                const std::string& description, const std::vector<MovedForeignKey>& keys,
                                const std::map<std::string, std::string>& params) {
  plans::Step s;
  s.id = id;
  s.kind = plans::StepKind::kSql;
  s.database = database;
  s.description = description;
  for (const MovedForeignKey& k : keys) {
    s.sql.push_back(DropForeignKey(engine, k));
    std::vector<std::string> add = AddForeignKey(engine, k);
    s.undo.insert(s.undo.end(), add.begin(), add.end());
  }
  s.lock = engine == db::Engine::kPostgres ? "ACCESS EXCLUSIVE on both tables of each key, briefly"
                                           : "metadata lock on each table, briefly";
  s.params = params;
  s.estimate = {0, 0, 0.1};
  return s;
}

}  // namespace

std::string MoveFingerprint(db::SchemaInfo schema) {
  for (db::TableInfo& t : schema.tables) t.foreign_keys.clear();
  return db::Fingerprint(schema);
}

std::string MoveFingerprint(db::Connection& conn, const db::TableName& table) {
  return MoveFingerprint(conn.Introspect({table.schema, table.name, false}));
}

plans::Plan PlanMoveTables(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader,
                           const PlanOptions& options) {
  const plans::MoveTablesSpec& m = *spec.move_tables;
  const db::Engine engine = CheckDatabases(catalog, {m.source, m.target}, "move_tables");
  const bool pg = engine == db::Engine::kPostgres;
  const db::SchemaInfo schema = reader.Read(m.source.name, {"", "", false});
  const db::SchemaInfo target_schema = reader.Read(m.target.name, {"", "", false});
  // The tables, "schema.*" expanded, in the order written.
  std::vector<const db::TableInfo*> tables;
  for (const std::string& written : m.tables) {
    std::vector<const db::TableInfo*> found;
    if (written.size() > 2 && written.ends_with(".*")) {
      if (!pg) {
        throw plans::InputError(m.tables_pos, "move_tables.tables",
                                "'" + written + "': a MariaDB database is one schema; name its tables");
      }
      const std::string s = written.substr(0, written.size() - 2);
      for (const db::TableInfo& t : schema.tables) {
        if (t.schema == s && !t.name.starts_with("_shardshift")) found.push_back(&t);
      }
      if (found.empty()) {
        throw plans::InputError(m.tables_pos, "move_tables.tables",
                                "schema '" + s + "' has no tables on database '" + m.source.name + "'");
      }
    } else if (const db::TableInfo* t = schema.FindWritten(written)) {
      found.push_back(t);
    } else {
      throw plans::InputError(m.tables_pos, "move_tables.tables",
                              "table '" + written + "' does not exist on database '" + m.source.name + "'");
    }
    for (const db::TableInfo* t : found) {
      if (std::find(tables.begin(), tables.end(), t) == tables.end()) tables.push_back(t);
    }
  }
  std::vector<std::string> names;
  for (const db::TableInfo* t : tables) {
    names.push_back(Written(engine, *t));
    if (t->primary_key.empty() && t->unique_keys.empty()) {
      throw plans::InputError(m.tables_pos, "move_tables.tables",
                              "table '" + names.back() + "' has no primary key or unique NOT NULL key to copy by");
    }
    if (target_schema.FindTable(t->schema, t->name) != nullptr) {
      throw plans::InputError(m.target.pos, "move_tables.target",
                              fmt::format("database '{}' already has a table {}: a move creates it there",
                                          m.target.name, names.back()));
    }
  }
  auto conn = catalog.Connect(m.source.name);
  const MoveGroupCheck check = CheckMoveGroup(*conn, schema, names);
  if (!check.cut.empty() && m.foreign_keys == plans::MoveForeignKeys::kRefuse) {
    throw plans::InputError(
        m.tables_pos, "move_tables.tables",
        fmt::format("{} foreign key(s) between a moved and a staying table cannot cross databases: {}; move "
                    "those tables too, or set foreign_keys = \"drop_at_cutover\" to drop them on the source just "
                    "before the cutover",
                    check.cut.size(), fmt::join(check.cut_foreign_keys, "; ")));
  }

  plans::Plan plan;
  plan.header = HeaderFor(spec);
  std::vector<plans::Step> copy, parts, cleanups;
  nlohmann::json fingerprints = nlohmann::json::object();
  PlanOptions sub_options = options;
  sub_options.keep_counters = true;
  for (size_t i = 0; i < tables.size(); ++i) {
    const db::TableInfo& t = *tables[i];
    plans::Spec sub = spec;
    sub.kind = plans::MigrationKind::kReshard;
    sub.move_tables.reset();
    sub.hooks = {};  // the group runs the hooks, once
    plans::ReshardSpec r;
    r.table = names[i];
    r.target_table = names[i];
    r.key = !t.primary_key.empty() ? t.primary_key : t.unique_keys.front();
    r.shard_by = r.key;
    r.key_pos = m.tables_pos;
    r.source_layout = plans::SourceLayout::kSingle;
    r.sources.push_back({m.source, std::nullopt, std::nullopt});
    r.targets.push_back(m.target);
    sub.reshard = r;
    plans::Plan p = PlanReshard(sub, catalog, reader, sub_options);
    for (const std::string& w : p.header.warnings) {
      if (w.starts_with("predicted rows per target shard")) continue;  // one target: no skew to speak of
      if (w.starts_with("foreign key ")) continue;  // the group carries or drops them (below), not the reshard
      plan.header.warnings.push_back(names[i] + ": " + w);
    }
    fingerprints[names[i]] = MoveFingerprint(reader.Read(m.source.name, {t.schema, t.name, false}));
    for (plans::Step& s : p.steps) {
      s.id = names[i] + "/" + s.id;
      s.params["move_table"] = names[i];
      if (s.kind == plans::StepKind::kCutover) {
        s.description = "its part of the group's cutover (step cutover): " + s.description;
        parts.push_back(std::move(s));
      } else if (s.kind == plans::StepKind::kCleanup) {
        cleanups.push_back(std::move(s));
      } else {
        copy.push_back(std::move(s));
      }
    }
  }
  plan.steps = copy;
  std::map<std::string, std::string> common = {{"source", m.source.name}, {"target", m.target.name},
                                               {"tables", JsonList(names)},
                                               {"lock_timeout_ms", std::to_string(spec.options.lock_timeout_ms)},
                                               {"retries", std::to_string(spec.options.retries)},
                                               {"parallel_sources", std::to_string(spec.options.parallel_sources)}};
  if (!check.cut.empty()) {
    plan.steps.push_back(DropForeignKeysStep(
        engine, "drop_foreign_keys", m.source.name,
        "drop the foreign keys between moved and staying tables on the source (they cannot cross databases), just "
        "before the cutover",
        check.cut, common));
    plan.header.warnings.push_back(fmt::format("foreign_keys = \"drop_at_cutover\": dropped on the source before the "
                                               "cutover, not created anywhere: {}",
                                               fmt::join(check.cut_foreign_keys, "; ")));
  }
  {
    plans::Step s;
    s.id = "cutover";
    s.kind = plans::StepKind::kCutover;
    s.database = m.source.name;
    s.online = false;
    s.description = fmt::format(
        "catch up every table, block writes to all {} tables together, drain each changelog, check the last "
        "changes, fence the sources, open the targets{}{}, publish the routing file naming where each table is",
        tables.size(), check.carried.empty() ? "" : " with the foreign keys among them",
        check.counter_columns.empty() ? "" : " and their counters set past the source's");
    nlohmann::json counters = nlohmann::json::array();
    for (const auto& [t, column] : check.counter_columns) counters.push_back({Written(engine, *t), column});
    std::vector<std::string> target_fks, target_fks_undo;
    for (const MovedForeignKey& k : check.carried) {
      std::vector<std::string> add = AddForeignKey(engine, k);
      target_fks.insert(target_fks.end(), add.begin(), add.end());
      target_fks_undo.push_back(DropForeignKey(engine, k));
    }
    s.sql = target_fks;
    s.lock = WriteBlockLock(engine) + ", on every moved table at once";
    s.undo = {"shardshift apply --revert PLAN until cleanup: each table switched back to the source"};
    s.params = common;
    s.params["counters"] = counters.dump();
    s.params["target_foreign_keys"] = JsonList(target_fks);
    s.params["target_foreign_keys_undo"] = JsonList(target_fks_undo);
    s.params["fingerprints"] = fingerprints.dump();
    AddHookParams(spec.hooks, s);
    s.estimate = {0, 0, 0.3};
    plan.steps.push_back(s);
  }
  plan.steps.insert(plan.steps.end(), parts.begin(), parts.end());
  if (!check.carried.empty()) {
    if (pg) {
      plans::Step s;
      s.id = "validate_foreign_keys";
      s.kind = plans::StepKind::kSql;
      s.database = m.target.name;
      s.description = "validate the foreign keys the cutover created NOT VALID on the target (reads each table; "
                      "writes continue)";
      for (const MovedForeignKey& k : check.carried) {
        s.sql.push_back(fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {}", TableOf(engine, k),
                                    db::QuoteIdentifier(engine, k.fk->name)));
      }
      s.lock = "SHARE UPDATE EXCLUSIVE on each referencing table, ROW SHARE on each referenced one";
      s.undo = {"nothing to undo: validation reads the rows and changes none (apply --revert takes the keys off the "
                "target)"};
      s.params = common;
      s.estimate = {0, 0, 1};
      plan.steps.push_back(s);
    } else {
      plan.header.warnings.push_back(
          "MariaDB: the foreign keys among the moved tables are created on the target with foreign_key_checks off "
          "(rows there were verified equal to the source's, where the keys held)");
    }
    plan.steps.push_back(DropForeignKeysStep(
        engine, "release_source_foreign_keys", m.source.name,
        "drop the foreign keys among the moved tables from their fenced copies on the source: the way back copies "
        "each table's changes on its own, in no order the keys would accept",
        check.carried, common));
  }
  plan.steps.insert(plan.steps.end(), cleanups.begin(), cleanups.end());
  for (const std::string& d : check.dependents) {
    plan.header.warnings.push_back("uses a moved table and stays on the source: " + d);
  }
  for (const std::string& k : check.carried_foreign_keys) {
    plan.header.warnings.push_back("foreign key carried, created on the target at the cutover: " + k);
  }
  for (const std::string& c : check.counters) {
    plan.header.warnings.push_back("counter carried, set past the source's at the cutover: " + c);
  }
  return plan;
}

}  // namespace shardshift::planner
