#include "planner/directory_planner.h"

#include <algorithm>

#include <fmt/format.h>

#include "planner/copy_steps.h"
#include "planner/directory_sql.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {

bool IntegerType(std::string type) {
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* t : {"int", "bigint", "smallint", "integer", "mediumint", "tinyint"}) {
    const std::string_view name(t);
    if (type.starts_with(name) && (type.size() == name.size() || !std::isalpha(static_cast<unsigned char>(type[name.size()])))) {
      return true;
    }
  }
  return false;
}

std::optional<int64_t> IntegerBound(const std::optional<plans::KeyValue>& bound, const plans::SourcePos& pos) {
  if (!bound) return std::nullopt;
  try {
    size_t used = 0;
    const int64_t v = std::stoll(bound->at(0), &used);
    if (used == bound->at(0).size()) return v;
  } catch (const std::exception&) {
  }
  throw plans::InputError(pos, "reshard.source.shards", "bound '" + bound->at(0) + "' is not an integer: a "
                                                        "directory's range rule compares integers");
}

}  // namespace

bool IsDirectoryPlan(const plans::Plan& plan) {
  return plan.header.kind == "reshard" &&
         std::any_of(plan.steps.begin(), plan.steps.end(), [](const plans::Step& s) { return s.id == "create_directory"; });
}

plans::Plan PlanDirectory(const plans::Spec& spec, const db::Catalog& catalog, db::Engine engine,
                          const db::TableInfo& table, const std::vector<int64_t>& rows_per_source) {
  const plans::ReshardSpec& r = *spec.reshard;
  const plans::DirectoryRef& dir = *r.directory;
  if (CheckDatabases(catalog, {dir.database}, "reshard.target.directory") != engine) {
    throw plans::InputError(dir.database.pos, "reshard.target.directory.database",
                            "database '" + dir.database.name + "' is not of the sources' engine");
  }
  plans::DirectoryLayout layout;
  layout.tables = {r.table};
  layout.shard_by = r.shard_by.at(0);
  for (const plans::SourceShard& s : r.sources) layout.shards.push_back(s.database.name);
  if (r.source_layout == plans::SourceLayout::kHash) {
    layout.rule = "xxh64-jump-v1";
  } else {
    layout.rule = "range";
    if (r.sources.size() > 1) {
      const db::ColumnInfo* col = table.FindColumn(layout.shard_by);
      if (r.key.size() != 1 || col == nullptr || !IntegerType(col->type)) {
        throw plans::InputError(r.key_pos, "reshard.key",
                                fmt::format("a directory over range shards needs a key of one integer column (its "
                                            "range rule compares integers); {} is {}",
                                            fmt::join(r.key, ", "), col ? col->type : "not a column"));
      }
    }
    for (const plans::SourceShard& s : r.sources) {
      layout.ranges.emplace_back(IntegerBound(s.from, s.database.pos), IntegerBound(s.to, s.database.pos));
    }
  }
  const db::TableName dir_table = db::TableName::Parse(dir.table);
  {
    auto conn = catalog.Connect(dir.database.name);
    std::optional<plans::DirectoryLayout> existing = ReadDirectoryLayout(*conn, dir_table);
    if (existing && !(*existing == layout)) {
      throw plans::InputError(dir.pos, "reshard.target.directory",
                              fmt::format("database '{}' already has directory {} with another layout ({}, tables {}, "
                                          "shard_by {}); name another table, or drop that one",
                                          dir.database.name, dir.table, existing->Describe(),
                                          fmt::join(existing->tables, ", "), existing->shard_by));
    }
  }

  plans::Plan plan;
  plan.header = HeaderFor(spec);
  std::vector<std::string> sources = layout.shards;
  std::vector<std::string> rows;
  for (int64_t n : rows_per_source) rows.push_back(n < 0 ? "unknown (no statistics yet)" : std::to_string(n));
  plan.header.warnings.push_back(fmt::format("no row moves: the directory's default rule is the layout's own ({}); "
                                             "rows per shard (estimated): {}",
                                             layout.Describe(), fmt::join(rows, ", ")));
  std::map<std::string, std::string> common = {
      {"table", r.table},
      {"target_table", r.table},
      {"key", JsonList(r.key)},
      {"shard_by", JsonList(r.shard_by)},
      {"sources", JsonList(sources)},
      {"targets", JsonList(sources)},
      {"columns", JsonList({})},
      {"directory_database", dir.database.name},
      {"directory_table", dir.table},
      {"lock_timeout_ms", std::to_string(spec.options.lock_timeout_ms)},
      {"retries", std::to_string(spec.options.retries)},
  };
  int64_t total = 0;
  for (int64_t n : rows_per_source) total += std::max<int64_t>(0, n);
  {
    plans::Step s;
    s.id = "create_directory";
    s.kind = plans::StepKind::kSql;
    s.database = dir.database.name;
    s.description = fmt::format("create directory {} (entries) and {} (the layout: {}) for {} by {}", dir.table,
                                DirectoryLayoutTable(dir_table).ToString(), layout.Describe(), r.table, layout.shard_by);
    s.sql = CreateDirectorySql(engine, dir_table, layout);
    s.undo = DropDirectorySql(engine, dir_table);
    s.lock = "none on the sharded table";
    s.params = common;
    s.estimate = {0, 0, 0.1};
    plan.steps.push_back(s);
  }
  {
    plans::Step s;
    s.id = "check_directory";
    s.kind = plans::StepKind::kVerify;
    s.database = dir.database.name;
    s.description = fmt::format("read every {} value on each shard and check that the directory routes it to the "
                                "shard that holds it", layout.shard_by);
    s.params = common;
    s.estimate = {total, 0, Seconds(static_cast<double>(total), kVerifyRowsPerSecond)};
    plan.steps.push_back(s);
  }
  return plan;
}

}  // namespace shardshift::planner
