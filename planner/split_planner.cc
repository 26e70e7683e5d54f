#include "planner/split_planner.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "db/row_sql.h"
#include "planner/capture_sql.h"
#include "planner/copy_steps.h"
#include "planner/fence_sql.h"
#include "planner/source_check.h"
#include "planner/target_ddl.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {

// A new table as the planner builds it: the key, then the moved columns under their new names.
struct NewTable {
  const plans::SplitTable* spec;
  db::TableName name;
  db::TableInfo shape;
  std::vector<std::string> source_columns;  // key first
  std::vector<std::string> target_columns;
};

bool Overlaps(const std::vector<std::string>& a, const std::set<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& c) { return b.count(c) > 0; });
}

}  // namespace

plans::Plan PlanVerticalSplit(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader) {
  const plans::VerticalSplitSpec& v = *spec.vertical_split;
  std::vector<plans::DatabaseRef> all = {v.database};
  for (const plans::SplitTable& t : v.tables) all.push_back(t.database);
  const db::Engine engine = CheckDatabases(catalog, all, "");
  const db::TableName source_name = db::TableName::Parse(v.table);
  db::SchemaInfo whole = reader.Read(v.database.name, {source_name.schema, "", false});
  const db::TableInfo* found = whole.FindTable(source_name.schema, source_name.name);
  if (!found) {
    throw plans::InputError(v.database.pos, "vertical_split.table",
                            fmt::format("table {} does not exist on database '{}'", v.table, v.database.name));
  }
  const db::TableInfo table = *found;
  auto missing = [&](const std::string& col) { return table.FindColumn(col) == nullptr; };
  for (const std::string& col : v.key) {
    if (missing(col)) {
      throw plans::InputError(v.key_pos, "vertical_split.key", fmt::format("table {} has no column '{}'", v.table, col));
    }
  }
  const std::set<std::string> key_set(v.key.begin(), v.key.end());
  const bool unique = std::any_of(table.unique_keys.begin(), table.unique_keys.end(), [&](const auto& k) {
    return std::set<std::string>(k.begin(), k.end()) == key_set;
  });
  if (!unique) {
    std::vector<std::string> keys;
    for (const auto& k : table.unique_keys) keys.push_back(KeyText(k));
    throw plans::InputError(v.key_pos, "vertical_split.key",
                            fmt::format("{} is not the primary key or a unique key of NOT NULL columns of {} (its keys: "
                                        "{})", KeyText(v.key), v.table,
                                        keys.empty() ? "none" : fmt::format("{}", fmt::join(keys, ", "))));
  }
  std::set<std::string> moved;
  for (const plans::SplitTable& t : v.tables) {
    for (const std::string& col : t.columns) {
      if (missing(col)) {
        throw plans::InputError(t.columns_pos, "vertical_split.tables.columns",
                                fmt::format("table {} has no column '{}'", v.table, col));
      }
      if (!table.FindColumn(col)->generated.empty()) {
        throw plans::InputError(t.columns_pos, "vertical_split.tables.columns",
                                fmt::format("column '{}' is generated: moving generated columns is not supported", col));
      }
      moved.insert(col);
    }
  }
  std::vector<std::string> kept;  // in the table's order
  if (v.keep) {
    for (const std::string& col : *v.keep) {
      if (missing(col)) {
        throw plans::InputError(v.keep_pos, "vertical_split.keep", fmt::format("table {} has no column '{}'", v.table, col));
      }
    }
    std::vector<std::string> unnamed;
    for (const db::ColumnInfo& c : table.columns) {
      const bool named = key_set.count(c.name) || moved.count(c.name) ||
                         std::find(v.keep->begin(), v.keep->end(), c.name) != v.keep->end();
      if (!named) unnamed.push_back(c.name);
    }
    if (!unnamed.empty()) {
      throw plans::InputError(v.keep_pos, "vertical_split.keep",
                              fmt::format("column(s) {} of {} are neither kept nor moved: name each once",
                                          fmt::join(unnamed, ", "), v.table));
    }
  }
  for (const db::ColumnInfo& c : table.columns) {
    if (!key_set.count(c.name) && !moved.count(c.name)) kept.push_back(c.name);
  }

  // Foreign keys involving moved columns: on the table itself, or pointing at it from elsewhere.
  std::vector<std::string> fk_lines;
  std::vector<std::pair<db::TableName, std::string>> fk_drops;  // (table holding it, constraint)
  for (const db::ForeignKeyInfo& fk : table.foreign_keys) {
    if (Overlaps(fk.columns, moved)) {
      fk_lines.push_back(fmt::format("{} on {} ({}) -> {}", fk.name, v.table, fmt::join(fk.columns, ", "), fk.ref_table));
      fk_drops.emplace_back(source_name, fk.name);
    }
  }
  for (const db::TableInfo& other : whole.tables) {
    for (const db::ForeignKeyInfo& fk : other.foreign_keys) {
      // MySQL names the referenced database as the schema, where the table's own schema is empty.
      const bool same_schema = fk.ref_schema.empty() || table.schema.empty() || fk.ref_schema == table.schema;
      if (fk.ref_table == table.name && same_schema &&
          Overlaps(fk.ref_columns, moved)) {
        fk_lines.push_back(fmt::format("{} on {} ({}) -> {} ({})", fk.name, other.name, fmt::join(fk.columns, ", "),
                                       v.table, fmt::join(fk.ref_columns, ", ")));
        fk_drops.emplace_back(db::TableName{other.schema, other.name}, fk.name);
      }
    }
  }
  if (!fk_lines.empty() && v.foreign_keys == plans::SplitForeignKeys::kRefuse) {
    throw plans::InputError(v.key_pos, "vertical_split.foreign_keys",
                            fmt::format("foreign keys involve moved columns: {}; set foreign_keys = "
                                        "\"drop_at_contract\" to drop them with the columns (the new tables do not "
                                        "get them), or move other columns", fmt::join(fk_lines, "; ")));
  }

  // The new tables, and whether they exist already in exactly that shape.
  std::vector<NewTable> outputs;
  std::vector<std::string> shape_notes;  // for the plan's warnings
  for (const plans::SplitTable& t : v.tables) {
    NewTable n;
    n.spec = &t;
    n.name = db::TableName::Parse(t.name);
    if (engine == db::Engine::kPostgres && n.name.schema.empty()) n.name.schema = source_name.schema;
    n.shape.schema = n.name.schema;
    n.shape.name = n.name.name;
    for (const std::string& k : v.key) {
      db::ColumnInfo c = *table.FindColumn(k);
      c.identity = false;
      c.default_value.reset();  // values come from the source
      n.shape.columns.push_back(c);
      n.source_columns.push_back(k);
      n.target_columns.push_back(k);
    }
    for (const std::string& col : t.columns) {
      db::ColumnInfo c = *table.FindColumn(col);
      c.name = t.NewName(col);
      c.identity = false;
      n.shape.columns.push_back(c);
      n.source_columns.push_back(col);
      n.target_columns.push_back(c.name);
    }
    n.shape.primary_key = v.key;
    // The table's options (engine, default character set and collation, row format, storage
    // parameters) and the checks that read only columns it holds under their own names.
    n.shape.storage_engine = table.storage_engine;
    n.shape.charset = table.charset;
    n.shape.collation = table.collation;
    n.shape.options = table.options;
    n.shape.types = table.types;
    auto kept_as_is = [&](const std::string& col) {
      return key_set.count(col) > 0 ||
             (std::find(t.columns.begin(), t.columns.end(), col) != t.columns.end() && t.NewName(col) == col);
    };
    for (db::ColumnInfo& c : n.shape.columns) {
      // A MariaDB column-level check (a json column's json_valid) names its column.
      const db::ColumnInfo* from = table.FindColumn(n.source_columns[&c - n.shape.columns.data()]);
      if (!c.check.empty() && from->name != c.name) {
        const std::string old_ref = db::QuoteIdentifier(engine, from->name);
        for (size_t at = c.check.find(old_ref); at != std::string::npos; at = c.check.find(old_ref, at)) {
          c.check.replace(at, old_ref.size(), db::QuoteIdentifier(engine, c.name));
          at += c.name.size() + 2;
        }
      }
    }
    for (const db::CheckInfo& check : table.checks) {
      std::vector<std::string> reads = check.columns;
      if (engine == db::Engine::kMySQL) {  // MariaDB prints the clause with quoted column names
        for (size_t at = check.expression.find('`'); at != std::string::npos;) {
          const size_t end = check.expression.find('`', at + 1);
          if (end == std::string::npos) break;
          reads.push_back(check.expression.substr(at + 1, end - at - 1));
          at = check.expression.find('`', end + 1);
        }
      }
      const bool ours = std::any_of(reads.begin(), reads.end(), [&](const std::string& c) {
        return std::find(t.columns.begin(), t.columns.end(), c) != t.columns.end();
      });
      if (!ours) continue;
      if (std::all_of(reads.begin(), reads.end(), kept_as_is)) {
        n.shape.checks.push_back(check);
      } else {
        shape_notes.push_back(fmt::format("check constraint {} reads columns that {} renames or leaves on {}: it "
                                          "is not created on {}", check.name, t.name, v.table, t.name));
      }
    }
    // The source's indexes that only use the key and this table's columns come along, renamed.
    for (const db::IndexInfo& idx : table.indexes) {
      if (idx.primary || !idx.PlainColumns() || !idx.predicate.empty()) continue;
      bool fits = true;
      bool uses_moved = false;
      db::IndexInfo copy = idx;
      for (db::IndexColumn& c : copy.columns) {
        const bool ours = std::find(t.columns.begin(), t.columns.end(), c.name) != t.columns.end();
        fits = fits && (ours || key_set.count(c.name));
        uses_moved = uses_moved || ours;
        c.name = t.NewName(c.name);
      }
      for (std::string& c : copy.include) {
        fits = fits && (std::find(t.columns.begin(), t.columns.end(), c) != t.columns.end() || key_set.count(c));
        c = t.NewName(c);
      }
      if (!fits || !uses_moved) continue;
      copy.name = (n.name.name + "_" + idx.name).substr(0, 63);
      copy.constraint.clear();
      n.shape.indexes.push_back(copy);
    }
    for (const auto& cols : t.indexes) {
      db::IndexInfo idx;
      idx.name = fmt::format("{}_{}_idx", n.name.name, fmt::join(cols, "_")).substr(0, 63);
      idx.method = "btree";
      for (const std::string& c : cols) idx.columns.push_back(db::IndexColumn{c, "", false, "", 0});
      n.shape.indexes.push_back(idx);
    }
    db::SchemaInfo there = reader.Read(t.database.name, {n.name.schema, n.name.name, false});
    if (const db::TableInfo* existing = there.FindTable(n.name.schema, n.name.name)) {
      std::string diff = ShapeDifference(n.shape, "the planned table", *existing, "'" + t.database.name + "'");
      if (!diff.empty()) {
        throw plans::InputError(t.pos, "vertical_split.tables",
                                fmt::format("table {} already exists on '{}' in another shape: {}; drop it or choose "
                                            "another name", t.name, t.database.name, diff));
      }
    }
    outputs.push_back(std::move(n));
  }
  if (!v.compat_view.empty()) {
    if (engine != db::Engine::kPostgres) {
      throw plans::InputError(v.compat_view_pos, "vertical_split.compat_view",
                              "a compatibility view is offered on PostgreSQL only (a MariaDB view over the join is "
                              "not updatable the way the table was)");
    }
    const db::TableName view = db::TableName::Parse(v.compat_view);
    if (whole.FindTable(view.schema.empty() ? source_name.schema : view.schema, view.name)) {
      throw plans::InputError(v.compat_view_pos, "vertical_split.compat_view",
                              "a table named " + v.compat_view + " already exists on '" + v.database.name + "'");
    }
  }

  // Estimates: rows of the table, bytes in proportion to the columns each new table takes.
  const int64_t rows = std::max<int64_t>(0, table.row_estimate);
  const double bytes_per_row = table.row_estimate > 0 && table.data_bytes > 0
                                   ? static_cast<double>(table.data_bytes) / static_cast<double>(table.row_estimate)
                                   : 100.0;

  plans::Plan plan;
  plans::PlanHeader& h = plan.header;
  h = HeaderFor(spec);
  h.warnings.insert(h.warnings.end(), shape_notes.begin(), shape_notes.end());
  db::SchemaInfo just_table = reader.Read(v.database.name, {source_name.schema, source_name.name, false});
  h.schema_fingerprints[v.database.name] = db::Fingerprint(just_table);
  for (const std::string& line : fk_lines) {
    h.warnings.push_back("foreign key " + line + " is dropped at contract and not created on the new table");
  }

  std::vector<std::string> read_columns = v.key;
  std::vector<std::string> targets;
  nlohmann::json outs = nlohmann::json::array();
  for (const NewTable& n : outputs) {
    for (size_t i = v.key.size(); i < n.source_columns.size(); ++i) read_columns.push_back(n.source_columns[i]);
    if (std::find(targets.begin(), targets.end(), n.spec->database.name) == targets.end()) {
      targets.push_back(n.spec->database.name);
    }
    outs.push_back({{"database", n.spec->database.name}, {"table", n.name.ToString()},
                    {"columns", n.source_columns}, {"target_columns", n.target_columns}});
  }
  std::map<std::string, std::string> common = {
      {"table", v.table}, {"key", JsonList(v.key)}, {"columns", JsonList(read_columns)}, {"sources", JsonList({v.database.name})},
      {"targets", JsonList(targets)}, {"outputs", outs.dump()},
      {"chunk_rows", std::to_string(spec.options.chunk_rows)},
      {"lock_timeout_ms", std::to_string(spec.options.lock_timeout_ms)}, {"retries", std::to_string(spec.options.retries)},
      {"target_chunk_ms", std::to_string(spec.options.target_chunk_ms)},
      {"max_rows_per_second", std::to_string(spec.options.max_rows_per_second)},
      {"parallel_sources", "1"},
  };
  if (!spec.options.check_command.empty()) common["check_command"] = spec.options.check_command;

  // The way back (DESIGN.md rule 5), as for a reshard: capture on each new table from its creation,
  // so that after the switch the moved columns' changes flow back to the source until cleanup, and
  // a fence that refuses the application's writes there until the switch (and again after a
  // revert). Neither records nor refuses shardshift's own writes.
  const bool fence = spec.options.fence;
  std::vector<CaptureSql> reverses;
  std::vector<FenceSql> new_fences;
  for (const NewTable& n : outputs) {
    reverses.push_back(BuildCapture(engine, n.shape, v.key, spec.name, "reverse"));
    new_fences.push_back(BuildFence(
        engine, n.name, spec.name,
        fmt::format("shardshift migration '{}': {} on this database takes writes only after the migration "
                    "switches to it; write these columns to {} on {} meanwhile",
                    spec.name, n.name.ToString(), v.table, v.database.name)));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const NewTable& n = outputs[i];
    TargetDdl ddl = BuildTargetDdl(engine, n.shape, n.name);
    for (const std::string& note : ddl.notes) h.warnings.push_back(note);
    const double share = static_cast<double>(n.source_columns.size()) / static_cast<double>(table.columns.size());
    const int64_t bytes = static_cast<int64_t>(static_cast<double>(rows) * bytes_per_row * share);
    plans::Step s;
    s.id = "create_table." + n.spec->database.name + "." + n.name.name;
    s.kind = plans::StepKind::kSql;
    s.database = n.spec->database.name;
    s.description = fmt::format("create {} ({}) with the key of {}, with capture of its changes for the way "
                                "back{}; the backfill moves about {} rows, {} bytes into it",
                                n.name.ToString(), fmt::join(n.target_columns, ", "), v.table,
                                fence ? " and a fence until the switch" : "", rows, bytes);
    s.sql = ddl.create;
    s.sql.insert(s.sql.end(), reverses[i].install.begin(), reverses[i].install.end());
    if (fence) s.sql.insert(s.sql.end(), new_fences[i].fence.begin(), new_fences[i].fence.end());
    s.undo = reverses[i].remove;
    s.undo.insert(s.undo.end(), ddl.drop.begin(), ddl.drop.end());
    s.estimate = {rows, bytes, 0.1};
    plan.steps.push_back(s);
  }
  const std::string src = v.database.name;
  // The log's stream ends at the switch (the moved columns are fenced there): a split without the
  // fence finds its late writes through a capture that stays, its triggers.
  const CaptureChoice choice = ChooseCapture(
      spec, catalog, engine, {src}, table, v.key,
      fence ? "" : "fence = false: writes to the moved columns after the switch are found by their capture, "
                   "which log capture ends at the switch",
      h.warnings);
  const CaptureSql capture = SourceCapture(choice, engine, table, v.key, spec.name, src);
  AddCaptureParams(choice, capture, common);
  plan.steps.push_back(CaptureStep(engine, src, v.table, capture, common));
  db::RowSql rows_sql(engine, source_name, v.key, read_columns);
  const db::KeyValues placeholder(v.key.size(), "<cursor>");
  {
    plans::Step s;
    s.id = "backfill." + src;
    s.kind = plans::StepKind::kBackfill;
    s.database = src;
    s.description = fmt::format("copy the key and the moved columns of {} into {} new table(s) in key order, "
                                "replaying captured changes between chunks", v.table, outputs.size());
    s.sql = {rows_sql.SelectChunk(placeholder, std::nullopt, spec.options.chunk_rows).sql};
    s.lock = engine == db::Engine::kPostgres ? "ACCESS SHARE" : "none (consistent snapshot reads)";
    const double share = static_cast<double>(read_columns.size()) / static_cast<double>(table.columns.size());
    s.estimate = {rows, static_cast<int64_t>(static_cast<double>(rows) * bytes_per_row * share),
                  Seconds(static_cast<double>(rows), kCopyRowsPerSecond)};
    s.undo = {"drop the new tables (the create_table steps' undo)"};
    s.params = common;
    s.params["source"] = src;
    plan.steps.push_back(s);
  }
  plan.steps.push_back(ReplayStep(src, common));
  {
    plans::Step s;
    s.id = "verify";
    s.kind = plans::StepKind::kVerify;
    s.database = src;
    s.description = "compare, chunk by chunk, the source's key and moved columns with each new table by checksum; "
                    "name any differing key";
    s.sql = {rows_sql.Checksum(placeholder, placeholder).sql};
    s.params = common;
    s.estimate = {rows, 0, Seconds(static_cast<double>(rows) * static_cast<double>(outputs.size()), kVerifyRowsPerSecond)};
    plan.steps.push_back(s);
  }
  {
    plans::Step s;
    s.id = "expand_complete";
    s.kind = plans::StepKind::kExpandComplete;
    s.database = src;
    s.description = "the new tables are complete and kept current: the application may read them now (writes still "
                    "go to " + v.table + ")";
    if (!v.compat_view.empty()) {
      const db::TableName view = db::TableName::Parse(v.compat_view);
      std::string select;
      std::string joins;
      for (const db::ColumnInfo& c : table.columns) {
        std::string from = "s." + db::QuoteIdentifier(engine, c.name);
        for (size_t i = 0; i < outputs.size(); ++i) {
          const auto& cols = outputs[i].spec->columns;
          if (std::find(cols.begin(), cols.end(), c.name) != cols.end()) {
            from = fmt::format("t{}.{}", i, db::QuoteIdentifier(engine, outputs[i].spec->NewName(c.name)));
          }
        }
        select += (select.empty() ? "" : ", ") + from + " AS " + db::QuoteIdentifier(engine, c.name);
      }
      for (size_t i = 0; i < outputs.size(); ++i) {
        std::string on;
        for (const std::string& k : v.key) {
          on += (on.empty() ? "" : " AND ") + fmt::format("t{}.{} = s.{}", i, db::QuoteIdentifier(engine, k),
                                                          db::QuoteIdentifier(engine, k));
        }
        joins += fmt::format(" LEFT JOIN {} t{} ON {}", db::QuoteTable(engine, outputs[i].name), i, on);
      }
      s.sql = {"CREATE OR REPLACE VIEW " + db::QuoteTable(engine, view) + " AS SELECT " + select + " FROM " +
               db::QuoteTable(engine, source_name) + " s" + joins};
      s.undo = {"DROP VIEW IF EXISTS " + db::QuoteTable(engine, view)};
      s.description += "; create the view " + v.compat_view + ", which joins them back";
    }
    s.params = common;
    s.estimate = {0, 0, 0.1};
    plan.steps.push_back(s);
  }
  std::vector<std::string> unfence_source;  // the moved columns' fence, dropped before a contract
  {
    plans::Step s;
    s.id = "switch";
    s.kind = plans::StepKind::kCutover;
    s.database = src;
    s.online = false;
    s.description = "block writes to " + v.table + " briefly, drain and check the changelog, stop replaying" +
                    std::string(fence ? ", fence the moved columns (a write that changes one fails), lift the new "
                                        "tables' fence"
                                      : "") +
                    ": the application writes the moved columns to the new tables from here on";
    s.sql = {SourceBlockSql(engine, source_name, choice, capture)};
    s.lock = WriteBlockLock(engine);
    s.params = common;
    // The new tables, database by database: what blocks them (one statement for all of a
    // database's tables), fences and unfences them, and their way back.
    nlohmann::json sides = nlohmann::json::array();
    nlohmann::json way_back = nlohmann::json::array();
    for (const std::string& db : targets) {
      std::vector<std::pair<db::TableName, db::TableName>> blocked;
      std::vector<std::string> fence_sql, unfence_sql;
      nlohmann::json triggers = nlohmann::json::array();
      for (size_t i = 0; i < outputs.size(); ++i) {
        if (outputs[i].spec->database.name != db) continue;
        blocked.emplace_back(outputs[i].name, reverses[i].changelog);
        if (fence) {
          fence_sql.insert(fence_sql.end(), new_fences[i].fence.begin(), new_fences[i].fence.end());
          unfence_sql.insert(unfence_sql.end(), new_fences[i].unfence.begin(), new_fences[i].unfence.end());
          for (const std::string& t : new_fences[i].triggers) triggers.push_back({outputs[i].name.ToString(), t});
        }
      }
      sides.push_back({{"database", db}, {"block_sql", WriteBlockSql(engine, blocked)}, {"fence", fence_sql},
                       {"unfence", unfence_sql}, {"triggers", triggers}});
      if (fence) s.sql.insert(s.sql.end(), unfence_sql.begin(), unfence_sql.end());
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      way_back.push_back({{"database", outputs[i].spec->database.name}, {"table", outputs[i].name.ToString()},
                          {"changelog", reverses[i].changelog.ToString()}});
    }
    s.params["target_sides"] = sides.dump();
    s.params["way_back"] = way_back.dump();
    s.params["fence"] = fence ? "true" : "false";
    if (fence) {
      std::vector<std::pair<std::string, bool>> moved_columns;
      std::vector<std::string> not_null;
      for (const db::ColumnInfo& c : table.columns) {
        if (!moved.count(c.name)) continue;
        moved_columns.emplace_back(c.name, c.nullable);
        if (!c.nullable) not_null.push_back(c.name);
      }
      std::vector<std::string> new_tables;
      for (const NewTable& n : outputs) new_tables.push_back(n.spec->database.name + ":" + n.name.ToString());
      const FenceSql column_fence = BuildColumnFence(
          engine, source_name, spec.name, moved_columns,
          fmt::format("shardshift migration '{}' moved these columns of {} to {} at its switch: write them there; "
                      "this table keeps only its other columns",
                      spec.name, v.table, fmt::join(new_tables, ", ")));
      s.sql.insert(s.sql.begin() + 1, column_fence.fence.begin(), column_fence.fence.end());
      s.params["fence_sources"] = JsonList(column_fence.fence);
      s.params["unfence_sources"] = JsonList(column_fence.unfence);
      s.params["source_fence_triggers"] = JsonList(column_fence.triggers);
      unfence_source = column_fence.unfence;
      if (!not_null.empty()) {
        h.warnings.push_back(fmt::format(
            "moved column(s) {} are NOT NULL: after the switch the fence refuses an UPDATE that changes them but "
            "cannot refuse an INSERT that gives them a value (every writer must); make them nullable before the "
            "switch to have late inserts refused too",
            fmt::join(not_null, ", ")));
      }
    }
    s.undo = {"shardshift apply --revert PLAN until cleanup: writes blocked on the new tables, their changes "
              "drained back into the source's columns, the new tables fenced and the moved columns unfenced"};
    const plans::Hooks& hooks = spec.hooks;
    AddHookParams(hooks, s);
    s.estimate = {0, 0, 0.2};
    plan.steps.push_back(s);
  }
  plan.steps.push_back(CaptureRemovalStep(
      engine, "stop_capture." + src, src, v.table, capture,
      "remove capture on " + v.table + " (run with apply --cleanup, once the application uses the new tables)",
      common));
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& db = outputs[i].spec->database.name;
    plan.steps.push_back(CaptureRemovalStep(
        engine, "cleanup." + db + "." + outputs[i].name.name, db, outputs[i].name.ToString(), reverses[i],
        "remove the capture of the way back on " + outputs[i].name.ToString() +
            " (ends the window in which apply --revert can switch back)",
        common));
  }
  if (v.contract) {
    plans::Step s;
    s.id = "contract." + src;
    s.kind = plans::StepKind::kCleanup;
    s.database = src;
    std::vector<std::string> moved_in_order;
    for (const db::ColumnInfo& c : table.columns) {
      if (moved.count(c.name)) moved_in_order.push_back(c.name);
    }
    s.description = fmt::format("drop the moved columns ({}) from {}{}; with apply --cleanup, after the switch",
                                fmt::join(moved_in_order, ", "), v.table,
                                unfence_source.empty() ? "" : " and their fence");
    // The fence's triggers name the moved columns: they go first.
    s.sql = unfence_source;
    for (const auto& [holder, name] : fk_drops) {
      s.sql.push_back(fmt::format("ALTER TABLE {} {} {}", db::QuoteTable(engine, holder),
                                  engine == db::Engine::kPostgres ? "DROP CONSTRAINT IF EXISTS" : "DROP FOREIGN KEY IF EXISTS",
                                  db::QuoteIdentifier(engine, name)));
    }
    std::string drops;
    for (const std::string& c : moved_in_order) {
      drops += (drops.empty() ? "" : ", ") + std::string("DROP COLUMN IF EXISTS ") + db::QuoteIdentifier(engine, c);
    }
    if (engine == db::Engine::kPostgres) {
      s.sql.push_back("ALTER TABLE " + db::QuoteTable(engine, source_name) + " " + drops);
      s.lock = "ACCESS EXCLUSIVE, briefly (the columns are dropped from the catalog; space is reclaimed later)";
    } else {
      s.sql.push_back("ALTER TABLE " + db::QuoteTable(engine, source_name) + " " + drops + ", ALGORITHM=INPLACE, LOCK=NONE");
      s.lock = "none while the table is rebuilt online (ALGORITHM=INPLACE, LOCK=NONE); a metadata lock at its ends";
    }
    s.online = true;
    s.undo = {"none: the dropped columns' data lives on in the new tables only"};
    s.params = common;
    s.estimate = {rows, 0, Seconds(static_cast<double>(rows), kCopyRowsPerSecond * 4)};
    plan.steps.push_back(s);
  }
  return plan;
}

}  // namespace shardshift::planner
