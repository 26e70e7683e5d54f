#include "plans/config.h"

#include "plans/toml_reader.h"

namespace shardshift::plans {

Config ParseConfig(std::string_view text, const std::string& file) {
  toml::table root = ParseToml(text, file);
  TableReader top(root, file, "");
  top.RejectUnknown({"databases"});
  Config config;
  config.file = file;
  std::optional<TableReader> dbs = top.OptTable("databases");
  if (!dbs) return config;
  for (const auto& [key, node] : dbs->table()) {
    std::string name(key.str());
    if (!node.is_table()) {
      throw dbs->ErrorAt(node, name, "expected a table [databases." + name + "] with a url");
    }
    TableReader db = dbs->RequireTable(name);
    db.RejectUnknown({"url"});
    DatabaseEntry entry{name, db.RequireString("url"), db.PosOf("url")};
    if (entry.url.empty()) throw db.Error("url", "must not be empty");
    config.databases.emplace(name, std::move(entry));
  }
  return config;
}

Config LoadConfig(const std::string& path) { return ParseConfig(ReadFileText(path), path); }

}  // namespace shardshift::plans
