#include "planner/index_planner.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "planner/copy_steps.h"
#include "planner/query_shape.h"
#include "plans/index_params.h"
#include "planner/shadow_planner.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {

constexpr double kIndexRowsPerSecond = 300'000;  // an assumption for estimates; bench/ measures

// The index as introspection would show it, to compare with one that exists already.
bool SameIndex(const db::IndexInfo& have, const plans::IndexSpec& want) {
  if (have.unique != want.unique || have.columns.size() != want.columns.size()) return false;
  if (have.include != want.include) return false;
  if (have.predicate.empty() != want.where.empty()) return false;
  for (size_t i = 0; i < have.columns.size(); ++i) {
    const bool same_key = want.columns[i].expression ? plans::SameExpression(have.columns[i].expression, want.columns[i].name)
                                                     : have.columns[i].name == want.columns[i].name;
    if (!same_key || have.columns[i].descending != want.columns[i].descending) return false;
  }
  return true;
}

std::string Describe(const plans::IndexSpec& idx) {
  std::vector<std::string> cols;
  for (const auto& c : idx.columns) cols.push_back((c.expression ? "(" + c.name + ")" : c.name) + (c.descending ? " DESC" : ""));
  std::string out = fmt::format("{}index {} on {} ({})", idx.unique ? "unique " : "", idx.name, idx.table,
                                fmt::join(cols, ", "));
  if (!idx.include.empty()) out += fmt::format(" INCLUDE ({})", fmt::join(idx.include, ", "));
  if (!idx.where.empty()) out += " WHERE " + idx.where;
  return out;
}

}  // namespace

std::string IndexPartSql(db::Engine engine, const plans::IndexColumnSpec& column) {
  std::string part = column.expression ? "(" + column.name + ")" : db::QuoteIdentifier(engine, column.name);
  if (!column.opclass.empty()) part += " " + column.opclass;
  if (column.descending) part += " DESC";
  return part;
}

plans::Plan PlanCreateIndex(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader) {
  const plans::CreateIndexSpec& c = *spec.create_index;
  const db::Engine engine = CheckDatabases(catalog, c.databases, "create_index.databases");
  // What MariaDB cannot build, refused with what it can.
  for (const plans::IndexSpec& idx : c.indexes) {
    if (engine != db::Engine::kMySQL) break;
    auto refuse = [&](const std::string& field, const std::string& why) {
      throw plans::InputError(idx.pos, "create_index.indexes." + field, why);
    };
    if (!idx.where.empty()) {
      refuse("where", fmt::format("MariaDB has no partial indexes: drop `where` for a full index on the same columns, "
                                  "or index a generated column that is NULL where `{}` is false", idx.where));
    }
    if (!idx.include.empty()) {
      std::vector<std::string> cols;
      for (const auto& col : idx.columns) cols.push_back("\"" + col.name + (col.descending ? " DESC" : "") + "\"");
      for (const auto& inc : idx.include) cols.push_back("\"" + inc + "\"");
      refuse("include", fmt::format("MariaDB has no INCLUDE columns: to cover the query, append them as key columns, "
                                    "columns = [{}]", fmt::join(cols, ", ")));
    }
    for (const auto& col : idx.columns) {
      if (!col.opclass.empty()) refuse("columns", "MariaDB has no operator classes ('" + col.opclass + "')");
      if (col.expression) {
        refuse("columns", "MariaDB 10.11 cannot index an expression ('" + col.name + "'): add a virtual column "
                          "computed by it (ADD COLUMN name type AS (" + col.name + ") VIRTUAL) and index that column");
      }
    }
    if (idx.method != "btree") refuse("method", "MariaDB builds btree indexes here, not '" + idx.method + "'");
  }

  plans::Plan plan;
  plans::PlanHeader& h = plan.header;
  h = HeaderFor(spec);
  std::vector<std::string> databases;
  for (const auto& d : c.databases) databases.push_back(d.name);
  for (const plans::DatabaseRef& ref : c.databases) {
    // Tables of this database rebuilt as shadow tables, with the indexes each gets; their steps come
    // before this database's builds, which then only check the catalog.
    std::vector<std::pair<db::TableInfo, std::vector<const plans::IndexSpec*>>> rebuilds;
    std::vector<plans::Step> builds;
    for (const plans::IndexSpec& idx : c.indexes) {
      const db::TableName table = db::TableName::Parse(idx.table);
      db::SchemaInfo schema = reader.Read(ref.name, {table.schema, table.name, false});
      const db::TableInfo* t = schema.FindTable(table.schema, table.name);
      if (!t) {
        throw plans::InputError(idx.pos, "create_index.indexes.table",
                                fmt::format("table {} does not exist on database '{}'", idx.table, ref.name));
      }
      auto need = [&](const std::string& col, const char* field) {
        if (!t->FindColumn(col)) {
          throw plans::InputError(idx.pos, std::string("create_index.indexes.") + field,
                                  fmt::format("table {} on '{}' has no column '{}'", idx.table, ref.name, col));
        }
      };
      for (const auto& col : idx.columns) {
        if (!col.expression) {
          need(col.name, "columns");
          continue;
        }
        std::string error;
        const std::optional<std::vector<std::string>> used = ExpressionColumns(col.name, error);
        if (!used) {
          throw plans::InputError(idx.pos, "create_index.indexes.columns",
                                  fmt::format("the expression ({}) does not parse: {}", col.name, error));
        }
        if (used->empty()) {
          throw plans::InputError(idx.pos, "create_index.indexes.columns",
                                  fmt::format("the expression ({}) names no column of {}", col.name, idx.table));
        }
        for (const std::string& u : *used) need(u, "columns");
      }
      for (const auto& col : idx.include) need(col, "include");
      std::string leftover;
      for (const db::IndexInfo& have : t->indexes) {
        if (have.name != idx.name) continue;
        if (!have.valid) {
          leftover = have.name;
        } else if (SameIndex(have, idx)) {
          leftover = "ready";
        } else {
          throw plans::InputError(idx.pos, "create_index.indexes.name",
                                  fmt::format("database '{}' already has an index {} on {} that differs from the one "
                                              "asked for; choose another name or drop it first", ref.name, idx.name,
                                              idx.table));
        }
      }
      if (leftover == "ready") {
        h.warnings.push_back(fmt::format("'{}' already has {}: nothing to build there", ref.name, Describe(idx)));
        continue;
      }
      // Whether the engine can build it online; if not, a shadow-table rebuild can.
      bool rebuild = idx.build == "shadow";
      std::string lower_engine = t->storage_engine;
      for (char& ch : lower_engine) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (engine == db::Engine::kMySQL && !lower_engine.empty() && lower_engine != "innodb" && !rebuild) {
        if (idx.build == "online") {
          throw plans::InputError(idx.pos, "create_index.indexes.build",
                                  fmt::format("table {} on '{}' uses the {} engine, which cannot add an index with "
                                              "LOCK=NONE (writes would wait for the whole build); build = \"shadow\" "
                                              "rebuilds it online as a shadow table", idx.table, ref.name,
                                              t->storage_engine));
        }
        rebuild = true;
        h.warnings.push_back(fmt::format("table {} on '{}' uses the {} engine, which has no online ADD INDEX: {} is "
                                         "built by a shadow-table rebuild", idx.table, ref.name, t->storage_engine,
                                         idx.name));
      }
      if (t->partitioned && !rebuild) {
        throw plans::InputError(idx.pos, "create_index.indexes.table",
                                fmt::format("{} on '{}' is a partitioned table: PostgreSQL cannot build an index on it "
                                            "CONCURRENTLY; build the index on each partition", idx.table, ref.name));
      }
      if (rebuild) {
        auto it = std::find_if(rebuilds.begin(), rebuilds.end(), [&](const auto& r) {
          return r.first.schema == t->schema && r.first.name == t->name;
        });
        if (it == rebuilds.end()) {
          rebuilds.push_back({*t, {}});
          it = rebuilds.end() - 1;
        }
        it->second.push_back(&idx);
      }
      const std::string q_table = db::QuoteTable(engine, table);
      std::vector<std::string> parts;
      nlohmann::json cols = nlohmann::json::array();
      for (const auto& col : idx.columns) {
        parts.push_back(IndexPartSql(engine, col));
        nlohmann::json c = {col.name, col.descending ? "desc" : "asc"};
        if (col.expression) c.push_back("expression");
        cols.push_back(c);
      }
      plans::Step s;
      s.id = "build_index." + ref.name + "." + idx.name;
      s.kind = plans::StepKind::kBuildIndex;
      s.database = ref.name;
      if (engine == db::Engine::kPostgres) {
        std::string sql = fmt::format("CREATE {}INDEX CONCURRENTLY IF NOT EXISTS {} ON {} USING {} ({})",
                                      idx.unique ? "UNIQUE " : "", db::QuoteIdentifier(engine, idx.name), q_table,
                                      idx.method, fmt::join(parts, ", "));
        if (!idx.include.empty()) {
          std::vector<std::string> inc;
          for (const auto& i : idx.include) inc.push_back(db::QuoteIdentifier(engine, i));
          sql += fmt::format(" INCLUDE ({})", fmt::join(inc, ", "));
        }
        if (!idx.where.empty()) sql += " WHERE " + idx.where;
        s.sql = {sql};
        s.lock = "SHARE UPDATE EXCLUSIVE (reads and writes continue; waits for transactions older than the build)";
        s.undo = {"DROP INDEX CONCURRENTLY IF EXISTS " + db::QuoteTable(engine, {table.schema, idx.name})};
        s.description = "build " + Describe(idx) + " concurrently, watching pg_stat_progress_create_index; an "
                        "invalid leftover of a failed build is dropped (DROP INDEX CONCURRENTLY) and built again";
        if (!leftover.empty()) {
          h.warnings.push_back(fmt::format("'{}' has an invalid index {} left by a failed build: it is dropped and "
                                           "built again", ref.name, leftover));
        }
      } else {
        s.sql = {fmt::format("ALTER TABLE {} ADD {}INDEX IF NOT EXISTS {} ({}), ALGORITHM=INPLACE, LOCK=NONE", q_table,
                             idx.unique ? "UNIQUE " : "", db::QuoteIdentifier(engine, idx.name), fmt::join(parts, ", "))};
        s.lock = "none while it builds (ALGORITHM=INPLACE, LOCK=NONE); a metadata lock at its start and end";
        s.undo = {fmt::format("ALTER TABLE {} DROP INDEX IF EXISTS {}", q_table, db::QuoteIdentifier(engine, idx.name))};
        s.description = "build " + Describe(idx) + " online, watching the server's progress report";
      }
      const int64_t rows = std::max<int64_t>(0, t->row_estimate);
      s.estimate = {rows, 0, std::round(static_cast<double>(rows) / kIndexRowsPerSecond * 10.0) / 10.0};
      s.params = {{"table", idx.table}, {"index", idx.name}, {"unique", idx.unique ? "true" : "false"},
                  {"where", idx.where}, {"columns", cols.dump()}, {"include", nlohmann::json(idx.include).dump()},
                  {"parallel", std::to_string(c.parallel)}, {"databases", nlohmann::json(databases).dump()},
                  {"lock_timeout_ms", std::to_string(spec.options.lock_timeout_ms)},
                  {"retries", std::to_string(spec.options.retries)}};
      if (rebuild) {
        s.sql.clear();
        s.lock = "none (a catalog check)";
        s.description = "check that the shadow-table rebuild left " + Describe(idx) + " valid";
        s.undo = {"see the shadow rebuild's swap step"};
        s.params["built_by"] = "shadow";
      }
      builds.push_back(s);
    }
    for (const auto& [table, indexes] : rebuilds) {
      db::SchemaInfo whole = reader.Read(ref.name, {table.schema, "", false});
      std::vector<plans::Step> steps = PlanShadowRebuild(spec, catalog, ref.name, engine, whole, table, indexes,
                                                           h.warnings);
      db::SchemaInfo just_table;
      just_table.engine = engine;
      just_table.tables = {table};
      for (plans::Step& s : steps) {
        s.params["databases"] = nlohmann::json(databases).dump();
        s.params["parallel"] = std::to_string(c.parallel);
        s.params["fingerprint"] = db::Fingerprint(just_table);
      }
      plan.steps.insert(plan.steps.end(), steps.begin(), steps.end());
    }
    plan.steps.insert(plan.steps.end(), builds.begin(), builds.end());
  }
  for (const plans::DatabaseRef& ref : c.databases) {
    for (const plans::DropIndexSpec& d : c.drops) {
      const db::TableName table = db::TableName::Parse(d.table);
      db::SchemaInfo schema = reader.Read(ref.name, {table.schema, table.name, false});
      const db::TableInfo* t = schema.FindTable(table.schema, table.name);
      if (!t) {
        throw plans::InputError(d.pos, "create_index.drops.table",
                                fmt::format("table {} does not exist on database '{}'", d.table, ref.name));
      }
      const db::IndexInfo* idx = nullptr;
      for (const db::IndexInfo& i : t->indexes) {
        if (i.name == d.name) idx = &i;
      }
      if (!idx) {
        h.warnings.push_back(fmt::format("'{}' has no index {} on {}: nothing to drop there", ref.name, d.name, d.table));
        continue;
      }
      if (idx->primary || !idx->constraint.empty()) {
        throw plans::InputError(d.pos, "create_index.drops.name",
                                fmt::format("index {} on '{}' backs a {} constraint: it is not dropped as an index",
                                            d.name, ref.name, idx->primary ? "primary key" : idx->constraint));
      }
      for (const db::ForeignKeyInfo& fk : t->foreign_keys) {
        auto leads = [&](const db::IndexInfo& i) {
          if (i.columns.size() < fk.columns.size()) return false;
          std::set<std::string> lead;
          for (size_t k = 0; k < fk.columns.size(); ++k) lead.insert(i.columns[k].name);
          return lead == std::set<std::string>(fk.columns.begin(), fk.columns.end());
        };
        int others = 0;
        for (const db::IndexInfo& i : t->indexes) others += (&i != idx && i.valid && leads(i));
        if (leads(*idx) && others == 0) {
          throw plans::InputError(d.pos, "create_index.drops.name",
                                  fmt::format("index {} on '{}' is the only one serving foreign key {}", d.name,
                                              ref.name, fk.name));
        }
      }
      const std::string q_table = db::QuoteTable(engine, table);
      const std::string q_index = db::QuoteIdentifier(engine, d.name);
      std::map<std::string, std::string> params = {
          {"table", d.table}, {"index", d.name}, {"databases", nlohmann::json(databases).dump()},
          {"parallel", std::to_string(c.parallel)}, {"lock_timeout_ms", std::to_string(spec.options.lock_timeout_ms)},
          {"retries", std::to_string(spec.options.retries)}};
      if (engine == db::Engine::kPostgres) {
        plans::Step s;
        s.id = "drop_index." + ref.name + "." + d.name;
        s.kind = plans::StepKind::kSql;
        s.database = ref.name;
        s.description = "drop index " + d.name + " on " + d.table + " concurrently";
        s.sql = {"DROP INDEX CONCURRENTLY IF EXISTS " + db::QuoteTable(engine, {t->schema, d.name})};
        s.lock = "SHARE UPDATE EXCLUSIVE (reads and writes continue)";
        s.undo = {"build it again (a create_index spec)"};
        s.params = params;
        plan.steps.push_back(s);
      } else {
        plans::Step ignore;
        ignore.id = "ignore_index." + ref.name + "." + d.name;
        ignore.kind = plans::StepKind::kSql;
        ignore.database = ref.name;
        ignore.description = "make index " + d.name + " on " + d.table + " IGNORED: the optimizer stops using it, "
                             "writes keep it current, so it can be brought back at once";
        ignore.sql = {fmt::format("ALTER TABLE {} ALTER INDEX {} IGNORED", q_table, q_index)};
        ignore.lock = "a metadata lock, briefly (a catalog change)";
        ignore.undo = {fmt::format("ALTER TABLE {} ALTER INDEX {} NOT IGNORED", q_table, q_index)};
        ignore.params = params;
        plan.steps.push_back(ignore);
        plans::Step drop;
        drop.id = "drop_index." + ref.name + "." + d.name;
        drop.kind = plans::StepKind::kCleanup;
        drop.database = ref.name;
        drop.description = "drop index " + d.name + " on " + d.table + " (apply --cleanup, once nothing got slower)";
        drop.sql = {fmt::format("ALTER TABLE {} DROP INDEX IF EXISTS {}, ALGORITHM=INPLACE, LOCK=NONE", q_table, q_index)};
        drop.lock = "none (ALGORITHM=INPLACE, LOCK=NONE); a metadata lock at its start and end";
        drop.params = params;
        plan.steps.push_back(drop);
      }
    }
  }
  return plan;
}

}  // namespace shardshift::planner
