#include "planner/shadow_planner.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <xxhash.h>

#include "db/row_sql.h"
#include "planner/capture_sql.h"
#include "planner/copy_steps.h"
#include "planner/index_planner.h"
#include "planner/target_ddl.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {

std::string Tag(const db::TableInfo& table) {
  const std::string ident = table.schema + "\n" + table.name;
  return fmt::format("{:08x}", static_cast<uint32_t>(XXH64(ident.data(), ident.size(), 0)));
}

std::string NewIndexParts(db::Engine engine, const plans::IndexSpec& idx) {
  std::vector<std::string> parts;
  for (const auto& col : idx.columns) parts.push_back(IndexPartSql(engine, col));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// The sequence of a serial column's default: nextval('name'::regclass) -> name.
std::string SequenceOf(const std::string& default_value) {
  const std::string open = "nextval('";
  const size_t from = default_value.find(open);
  if (from == std::string::npos) return "";
  const size_t to = default_value.find("'::regclass", from);
  if (to == std::string::npos) return "";
  return default_value.substr(from + open.size(), to - from - open.size());
}

}  // namespace

ShadowNames ShadowNamesFor(const db::TableInfo& table) {
  const std::string base = table.name.substr(0, 52);
  return {{table.schema, "_ss_new_" + base}, {table.schema, "_ss_old_" + base}};
}

std::vector<plans::Step> PlanShadowRebuild(const plans::Spec& spec, const db::Catalog& catalog,
                                           const std::string& database, db::Engine engine,
                                           const db::SchemaInfo& schema, const db::TableInfo& table,
                                           const std::vector<const plans::IndexSpec*>& indexes,
                                           std::vector<std::string>& warnings) {
  const plans::IndexSpec& first = *indexes.front();
  const std::string shown = table.Shown();
  auto refuse = [&](const std::string& why) {
    throw plans::InputError(first.pos, "create_index.indexes.build",
                            fmt::format("{} on '{}' needs a shadow-table rebuild, which cannot carry over {}", shown,
                                        database, why));
  };
  // What a rebuild by name would lose or leave pointing at the old table.
  if (!table.foreign_keys.empty()) {
    refuse(fmt::format("its foreign key {} (the new table would not have it)", table.foreign_keys.front().name));
  }
  for (const db::TableInfo& other : schema.tables) {
    for (const db::ForeignKeyInfo& fk : other.foreign_keys) {
      const bool same_schema = fk.ref_schema.empty() || table.schema.empty() || fk.ref_schema == table.schema;
      if (fk.ref_table == table.name && same_schema && other.name != table.name) {
        refuse(fmt::format("foreign key {} of {}, which references it (it would keep referencing the old table)",
                           fk.name, other.name));
      }
    }
  }
  if (!table.triggers.empty()) {
    refuse(fmt::format("its trigger(s) {} (they stay on the old table)", fmt::join(table.triggers, ", ")));
  }
  if (!table.dependent_views.empty()) {
    refuse(fmt::format("the view(s) {} (PostgreSQL views follow the old table, not its name)",
                       fmt::join(table.dependent_views, ", ")));
  }
  if (table.partitioned) refuse("its partitions (build the index on each partition instead)");
  for (const db::ColumnInfo& c : table.columns) {
    if (engine == db::Engine::kPostgres && c.identity) {
      refuse(fmt::format("the identity column '{}' (its sequence belongs to the old table)", c.name));
    }
  }
  for (const db::IndexInfo& idx : table.indexes) {
    if (idx.constraint == "exclusion") refuse(fmt::format("the exclusion constraint {}", idx.name));
  }
  std::vector<std::string> key = table.primary_key;
  if (key.empty() && !table.unique_keys.empty()) key = table.unique_keys.front();
  if (key.empty()) refuse("rows without a key: it needs a primary key or a unique key of NOT NULL columns to copy by");

  const ShadowNames names = ShadowNamesFor(table);
  const db::TableName source{table.schema, table.name};
  for (const db::TableInfo& t : schema.tables) {
    if (t.schema == names.old.schema && t.name == names.old.name) {
      throw plans::InputError(first.pos, "create_index.indexes.build",
                              fmt::format("'{}' still has {} from an earlier rebuild of {}: finish it (apply --cleanup "
                                          "of that plan) or drop it first", database, names.old.ToString(), shown));
    }
  }
  auto q = [&](const std::string& n) { return db::QuoteIdentifier(engine, n); };
  const std::string q_source = db::QuoteTable(engine, source);
  const std::string q_shadow = db::QuoteTable(engine, names.shadow);
  const std::string q_old = db::QuoteTable(engine, names.old);
  const std::string tag = Tag(table);

  // The columns copied: every stored column (generated ones are computed again by the new table).
  std::vector<std::string> columns = key;
  for (const db::ColumnInfo& c : table.columns) {
    if (c.generated.empty() && std::find(key.begin(), key.end(), c.name) == key.end()) columns.push_back(c.name);
  }

  // The new table: the old one's definition and indexes, plus the new indexes.
  std::vector<std::string> create;
  std::vector<std::string> swap_renames;  // after the table renames
  std::vector<std::string> index_names;
  for (const plans::IndexSpec* idx : indexes) index_names.push_back(idx->name);
  if (engine == db::Engine::kPostgres) {
    // Indexes get temporary names (PostgreSQL's are unique per schema) and take the old names at
    // the swap, the old table's indexes moving aside in the same transaction.
    std::vector<std::string> constraints;
    std::vector<std::string> plain;
    int n = 0;
    for (const db::IndexInfo& idx : table.indexes) {
      if (!idx.valid) continue;
      const std::string tmp = fmt::format("_ss_{}_{}", tag, n);
      const std::string aside = fmt::format("_ss_old_{}_{}", tag, n);
      ++n;
      std::string parts;
      for (const db::IndexColumn& c : idx.columns) parts += (parts.empty() ? "" : ", ") + KeyPart(engine, c);
      std::string include;
      for (const std::string& c : idx.include) include += (include.empty() ? "" : ", ") + q(c);
      if (idx.primary || idx.constraint == "unique") {
        constraints.push_back(fmt::format("CONSTRAINT {} {} ({}){}", q(tmp), idx.primary ? "PRIMARY KEY" : "UNIQUE",
                                          parts, include.empty() ? "" : " INCLUDE (" + include + ")"));
      } else {
        std::string sql = fmt::format("CREATE {}INDEX IF NOT EXISTS {} ON {} USING {} ({})", idx.unique ? "UNIQUE " : "",
                                      q(tmp), q_shadow, idx.method, parts);
        if (!include.empty()) sql += " INCLUDE (" + include + ")";
        if (!idx.predicate.empty()) sql += " WHERE " + idx.predicate;
        plain.push_back(sql);
      }
      swap_renames.push_back(fmt::format("ALTER INDEX {} RENAME TO {}", db::QuoteTable(engine, {table.schema, idx.name}),
                                         q(aside)));
      swap_renames.push_back(fmt::format("ALTER INDEX {} RENAME TO {}", db::QuoteTable(engine, {table.schema, tmp}),
                                         q(idx.name)));
    }
    std::string def = "CREATE TABLE IF NOT EXISTS " + q_shadow + " (LIKE " + q_source +
                      " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE INCLUDING "
                      "COMMENTS INCLUDING COMPRESSION";
    for (const std::string& c : constraints) def += ", " + c;
    create.push_back(def + ")");
    create.insert(create.end(), plain.begin(), plain.end());
    for (const plans::IndexSpec* idx : indexes) {
      std::string sql = fmt::format("CREATE {}INDEX IF NOT EXISTS {} ON {} USING {} ({})", idx->unique ? "UNIQUE " : "",
                                    q(idx->name), q_shadow, idx->method, NewIndexParts(engine, *idx));
      if (!idx->include.empty()) {
        std::vector<std::string> inc;
        for (const auto& i : idx->include) inc.push_back(q(i));
        sql += fmt::format(" INCLUDE ({})", fmt::join(inc, ", "));
      }
      if (!idx->where.empty()) sql += " WHERE " + idx->where;
      create.push_back(sql);
    }
    for (const db::ColumnInfo& c : table.columns) {
      if (!c.default_value) continue;
      if (const std::string seq = SequenceOf(*c.default_value); !seq.empty()) {
        // The serial's sequence goes with the new table, or dropping the old one would take it along.
        swap_renames.push_back(fmt::format("ALTER SEQUENCE {} OWNED BY {}.{}", seq, db::QuoteTable(engine, source),
                                           q(c.name)));
      }
    }
  } else {
    create.push_back("CREATE TABLE IF NOT EXISTS " + q_shadow + " LIKE " + q_source);
    for (const plans::IndexSpec* idx : indexes) {
      create.push_back(fmt::format("ALTER TABLE {} ADD {}INDEX IF NOT EXISTS {} ({})", q_shadow,
                                   idx->unique ? "UNIQUE " : "", q(idx->name), NewIndexParts(engine, *idx)));
    }
  }

  const int64_t rows = std::max<int64_t>(0, table.row_estimate);
  const int64_t bytes = std::max<int64_t>(0, table.total_bytes);
  // The log reads the table by name (MariaDB) or by its identity (PostgreSQL's publication): the
  // swap renames it, and the stream stops there (nothing written after the swap is captured).
  const CaptureChoice choice = ChooseCapture(spec, catalog, engine, {database}, table, key, "", warnings);
  const CaptureSql capture = SourceCapture(choice, engine, table, key, spec.name, database);
  nlohmann::json outs = nlohmann::json::array();
  outs.push_back({{"database", database}, {"table", names.shadow.ToString()}, {"columns", columns},
                  {"target_columns", columns}});
  std::map<std::string, std::string> common = {
      {"table", source.ToString()}, {"key", JsonList(key)}, {"columns", JsonList(columns)},
      {"sources", JsonList({database})}, {"targets", JsonList({database})}, {"outputs", outs.dump()},
      {"changelog", capture.changelog.ToString()},
      {"chunk_rows", std::to_string(spec.options.chunk_rows)},
      {"lock_timeout_ms", std::to_string(spec.options.lock_timeout_ms)},
      {"retries", std::to_string(spec.options.retries)},
      {"target_chunk_ms", std::to_string(spec.options.target_chunk_ms)},
      {"max_rows_per_second", std::to_string(spec.options.max_rows_per_second)},
      {"parallel_sources", "1"},
      {"shadow", database + "/" + source.ToString()},
      {"shadow_table", names.shadow.ToString()},
      {"old_table", names.old.ToString()},
  };
  if (!spec.options.check_command.empty()) common["check_command"] = spec.options.check_command;
  AddCaptureParams(choice, capture, common);
  const std::string prefix = "shadow." + database + "." + table.name + ".";
  std::vector<plans::Step> steps;
  {
    plans::Step s;
    s.id = prefix + "create_table";
    s.kind = plans::StepKind::kSql;
    s.database = database;
    s.description = fmt::format("create {} like {}, with its indexes and {}", names.shadow.ToString(), shown,
                                fmt::join(index_names, ", "));
    s.sql = create;
    s.undo = {"DROP TABLE IF EXISTS " + q_shadow};
    s.lock = "none on " + shown + " (a new, empty table)";
    s.estimate = {0, 0, 0.1};
    s.params = common;
    steps.push_back(s);
  }
  plans::Step cap = CaptureStep(engine, database, shown, capture, common);
  cap.id = prefix + "capture";
  steps.push_back(cap);
  db::RowSql rows_sql(engine, source, key, columns);
  const db::KeyValues placeholder(key.size(), "<cursor>");
  {
    plans::Step s;
    s.id = prefix + "backfill";
    s.kind = plans::StepKind::kBackfill;
    s.database = database;
    s.description = fmt::format("copy {} into {} in key order, replaying captured changes between chunks", shown,
                                names.shadow.ToString());
    s.sql = {rows_sql.SelectChunk(placeholder, std::nullopt, spec.options.chunk_rows).sql};
    s.lock = engine == db::Engine::kPostgres ? "ACCESS SHARE" : "none (consistent snapshot reads)";
    s.estimate = {rows, bytes, Seconds(static_cast<double>(rows), kCopyRowsPerSecond)};
    s.undo = {"DROP TABLE IF EXISTS " + q_shadow};
    s.params = common;
    s.params["source"] = database;
    steps.push_back(s);
  }
  plans::Step replay = ReplayStep(database, common);
  replay.id = prefix + "replay";
  steps.push_back(replay);
  {
    plans::Step s;
    s.id = prefix + "verify";
    s.kind = plans::StepKind::kVerify;
    s.database = database;
    s.description = fmt::format("compare {} and {} chunk by chunk by checksum; name any differing key", shown,
                                names.shadow.ToString());
    s.sql = {rows_sql.Checksum(placeholder, placeholder).sql};
    s.params = common;
    s.estimate = {rows, 0, Seconds(static_cast<double>(rows), kVerifyRowsPerSecond)};
    steps.push_back(s);
  }
  {
    plans::Step s;
    s.id = prefix + "swap";
    s.kind = plans::StepKind::kCutover;
    s.database = database;
    s.online = false;
    if (engine == db::Engine::kPostgres) {
      s.description = fmt::format("block writes to {}, drain and check the changelog, then swap the tables by name in "
                                  "the same transaction", shown);
      s.sql = {WriteBlockSql(engine, source), fmt::format("ALTER TABLE {} RENAME TO {}", q_source, q(names.old.name)),
               fmt::format("ALTER TABLE {} RENAME TO {}", q_shadow, q(table.name))};
      s.lock = "EXCLUSIVE while the last changes drain (reads continue), then ACCESS EXCLUSIVE for the renames";
    } else {
      // The write lock on the table alone keeps every other session out at the metadata-lock
      // level; the rename, queued on another session before the lock is released, goes first
      // (gh-ost's cut-over). Locking the new table too would queue the rename behind it instead,
      // and the waiting writes would reach the old table first.
      s.description = fmt::format("drain the changelog, lock {}, apply the last changes to the new table, then swap the "
                                  "tables with one RENAME queued before the lock is released", shown);
      s.sql = {fmt::format("LOCK TABLES {} WRITE", q_source),
               fmt::format("RENAME TABLE {} TO {}, {} TO {}", q_source, q_old, q_shadow, q_source)};
      s.lock = "WRITE table lock (reads and writes wait) for the last changes and the rename";
    }
    s.sql.insert(s.sql.end(), swap_renames.begin(), swap_renames.end());
    s.undo = {fmt::format("until cleanup the old table is kept as {}: swap back the same way (writes made after the "
                          "swap are only in the new table)", names.old.ToString())};
    s.params = common;
    AddHookParams(spec.hooks, s);
    s.estimate = {0, 0, 0.2};
    steps.push_back(s);
  }
  {
    plans::Step s;
    s.id = prefix + "cleanup";
    s.kind = plans::StepKind::kCleanup;
    s.database = database;
    s.description = fmt::format("drop the old table {} and the capture (apply --cleanup, once the new one has proven "
                                "itself)", names.old.ToString());
    s.sql = {"DROP TABLE IF EXISTS " + q_old};
    s.sql.insert(s.sql.end(), capture.remove.begin(), capture.remove.end());
    s.lock = "ACCESS EXCLUSIVE on the old table only (nothing uses it)";
    s.undo = {"none: the old table is gone"};
    s.params = common;
    s.estimate = {0, 0, 0.1};
    steps.push_back(s);
  }
  warnings.push_back(fmt::format("{} on '{}' is rebuilt as a shadow table (about {} rows, {} bytes copied online) and "
                                 "swapped in by name; the old table stays as {} until apply --cleanup", shown,
                                 database, rows, bytes, names.old.ToString()));
  return steps;
}

}  // namespace shardshift::planner
