#include "planner/directory_sql.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "planner/fence_sql.h"

namespace shardshift::planner {

db::TableName DirectoryLayoutTable(const db::TableName& directory) {
  return {directory.schema, directory.name + "_layout"};
}

std::vector<std::string> CreateDirectorySql(db::Engine engine, const db::TableName& directory,
                                            const plans::DirectoryLayout& layout) {
  const bool pg = engine == db::Engine::kPostgres;
  const std::string entries = db::QuoteTable(engine, directory);
  const std::string layout_table = db::QuoteTable(engine, DirectoryLayoutTable(directory));
  auto lit = [&](const std::string& s) { return SqlLiteral(engine, s); };
  const std::string row = fmt::format(
      "(id, format_version, tables, shard_by, rule, shards, ranges) VALUES (1, {}, {}, {}, {}, {}, {})",
      layout.format_version, lit(nlohmann::json(layout.tables).dump()), lit(nlohmann::json({layout.shard_by}).dump()),
      lit(layout.rule), lit(nlohmann::json(layout.shards).dump()), lit(layout.RangesJson()));
  if (pg) {
    return {
        fmt::format("CREATE TABLE IF NOT EXISTS {} (shard_key text PRIMARY KEY, shard text NOT NULL, migration text, "
                    "updated_at timestamptz NOT NULL DEFAULT now())", entries),
        fmt::format("CREATE TABLE IF NOT EXISTS {} (id integer PRIMARY KEY CHECK (id = 1), format_version integer NOT "
                    "NULL, tables text NOT NULL, shard_by text NOT NULL, rule text NOT NULL, shards text NOT NULL, "
                    "ranges text NOT NULL)", layout_table),
        fmt::format("INSERT INTO {} {} ON CONFLICT (id) DO NOTHING", layout_table, row),
    };
  }
  return {
      fmt::format("CREATE TABLE IF NOT EXISTS {} (shard_key VARCHAR(255) NOT NULL PRIMARY KEY, shard VARCHAR(128) NOT "
                  "NULL, migration VARCHAR(200) NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) "
                  "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin", entries),
      fmt::format("CREATE TABLE IF NOT EXISTS {} (id INT NOT NULL PRIMARY KEY CHECK (id = 1), format_version INT NOT "
                  "NULL, tables TEXT NOT NULL, shard_by TEXT NOT NULL, rule VARCHAR(64) NOT NULL, shards TEXT NOT NULL, "
                  "ranges TEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin", layout_table),
      fmt::format("INSERT IGNORE INTO {} {}", layout_table, row),
  };
}

std::vector<std::string> DropDirectorySql(db::Engine engine, const db::TableName& directory) {
  return {fmt::format("DROP TABLE IF EXISTS {}", db::QuoteTable(engine, DirectoryLayoutTable(directory))),
          fmt::format("DROP TABLE IF EXISTS {}", db::QuoteTable(engine, directory))};
}

std::vector<std::string> DirectoryUpsertSql(db::Engine engine, const db::TableName& directory,
                                            const std::vector<std::string>& keys, const std::string& shard,
                                            const std::string& migration) {
  std::string rows;
  for (const std::string& k : keys) {
    rows += fmt::format("{}({}, {}, {})", rows.empty() ? "" : ", ", SqlLiteral(engine, k), SqlLiteral(engine, shard),
                        SqlLiteral(engine, migration));
  }
  const std::string t = db::QuoteTable(engine, directory);
  if (engine == db::Engine::kPostgres) {
    return {fmt::format("INSERT INTO {} (shard_key, shard, migration) VALUES {} ON CONFLICT (shard_key) DO UPDATE SET "
                        "shard = EXCLUDED.shard, migration = EXCLUDED.migration, updated_at = now()",
                        t, rows)};
  }
  return {fmt::format("INSERT INTO {} (shard_key, shard, migration) VALUES {} ON DUPLICATE KEY UPDATE shard = "
                      "VALUES(shard), migration = VALUES(migration), updated_at = CURRENT_TIMESTAMP(6)",
                      t, rows)};
}

std::optional<plans::DirectoryLayout> ReadDirectoryLayout(db::Connection& conn, const db::TableName& directory) {
  const db::TableName layout_table = DirectoryLayoutTable(directory);
  const db::SchemaInfo schema = conn.Introspect({layout_table.schema, layout_table.name, false});
  if (schema.FindTable(layout_table.schema, layout_table.name) == nullptr) return std::nullopt;
  db::ResultSet r = conn.Query(fmt::format("SELECT format_version, tables, shard_by, rule, shards, ranges FROM {} "
                                           "WHERE id = 1", conn.Quote(layout_table)));
  const std::string where = "directory layout " + layout_table.ToString();
  if (r.rows.empty()) throw db::Error(db::ErrorKind::kBadInput, where + " holds no layout row");
  try {
    plans::DirectoryLayout out;
    out.format_version = std::stoi(r.Text(0, "format_version"));
    if (out.format_version != plans::kDirectoryFormatVersion) {
      throw std::runtime_error(fmt::format("format_version {} (this shardshift reads {})", out.format_version,
                                           plans::kDirectoryFormatVersion));
    }
    out.tables = nlohmann::json::parse(r.Text(0, "tables")).get<std::vector<std::string>>();
    const auto shard_by = nlohmann::json::parse(r.Text(0, "shard_by")).get<std::vector<std::string>>();
    if (shard_by.size() != 1) throw std::runtime_error("shard_by names " + std::to_string(shard_by.size()) + " columns");
    out.shard_by = shard_by[0];
    out.rule = r.Text(0, "rule");
    out.shards = nlohmann::json::parse(r.Text(0, "shards")).get<std::vector<std::string>>();
    out.ranges = plans::DirectoryLayout::ParseRanges(r.Text(0, "ranges"));
    if (out.rule != "range" && out.rule != "xxh64-jump-v1") throw std::runtime_error("unknown rule '" + out.rule + "'");
    return out;
  } catch (const std::exception& e) {
    throw db::Error(db::ErrorKind::kBadInput, where + " is malformed: " + e.what());
  }
}

plans::Directory ReadDirectory(db::Connection& conn, const db::TableName& directory, const std::string& database) {
  std::optional<plans::DirectoryLayout> layout = ReadDirectoryLayout(conn, directory);
  if (!layout) {
    throw db::Error(db::ErrorKind::kBadInput, "database '" + database + "' has no directory " + directory.ToString() +
                                                  " (no table " + DirectoryLayoutTable(directory).ToString() + ")");
  }
  plans::Directory out{*layout, {}};
  db::ResultSet r = conn.Query(fmt::format("SELECT shard_key, shard FROM {}", conn.Quote(directory)));
  for (size_t i = 0; i < r.rows.size(); ++i) out.entries[r.Text(i, "shard_key")] = r.Text(i, "shard");
  return out;
}

}  // namespace shardshift::planner
