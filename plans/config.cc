#include "plans/config.h"

#include "plans/toml_reader.h"

namespace shardshift::plans {

Config ParseConfig(std::string_view text, const std::string& file) {
  toml::table root = ParseToml(text, file);
  TableReader top(root, file, "");
  top.RejectUnknown({"databases", "lint"});
  Config config;
  config.file = file;
  if (std::optional<TableReader> lint = top.OptTable("lint")) {
    lint->RejectUnknown({"disable", "severity", "small_table_mb"});
    if (std::optional<std::vector<std::string>> ids = lint->OptStringArray("disable")) {
      for (const std::string& id : *ids) config.lint.disable.emplace_back(id, lint->PosOf("disable"));
    }
    if (std::optional<int64_t> mb = lint->OptIntIn("small_table_mb", 0, int64_t{1} << 30)) config.lint.small_table_mb = *mb;
    if (std::optional<TableReader> severity = lint->OptTable("severity")) {
      for (const auto& [key, node] : severity->table()) {
        const std::string id(key.str());
        const std::string level = severity->RequireString(id);
        if (level != "error" && level != "warning") {
          throw severity->Error(id, "must be \"error\" or \"warning\", not \"" + level + "\"");
        }
        config.lint.severity.emplace_back(id, level, severity->PosOf(id));
      }
    }
  }
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
