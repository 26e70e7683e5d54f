#include "plans/routing.h"

#include <nlohmann/json.hpp>
#include <xxhash.h>

#include "plans/plan.h"
#include "plans/toml_reader.h"

namespace shardshift::plans {

std::string CanonicalKeyBytes(const std::vector<std::string>& key_parts) {
  std::string out;
  for (const std::string& part : key_parts) {
    const uint32_t n = static_cast<uint32_t>(part.size());
    out += static_cast<char>((n >> 24) & 0xff);
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
    out += part;
  }
  return out;
}

uint64_t KeyHash(const std::vector<std::string>& key_parts) {
  const std::string bytes = CanonicalKeyBytes(key_parts);
  return XXH64(bytes.data(), bytes.size(), 0);
}

int32_t JumpConsistentHash(uint64_t hash, int32_t num_shards) {
  int64_t b = -1;
  int64_t j = 0;
  while (j < num_shards) {
    b = j;
    hash = hash * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) *
                             (static_cast<double>(1LL << 31) / static_cast<double>((hash >> 33) + 1)));
  }
  return static_cast<int32_t>(b);
}

int32_t ShardForKey(const std::vector<std::string>& key_parts, int32_t num_shards) {
  return JumpConsistentHash(KeyHash(key_parts), num_shards);
}

std::string WriteRoutingToml(const RoutingMap& map) {
  std::string out = "# shardshift routing map. Function and test vectors: docs/routing.md\n[routing]\n";
  out += "format_version = " + std::to_string(map.format_version) + "\n";
  out += "table = " + TomlQuote(map.table) + "\n";
  out += "key = [";
  for (size_t i = 0; i < map.key.size(); ++i) out += (i ? ", " : "") + TomlQuote(map.key[i]);
  out += "]\n";
  out += "function = " + TomlQuote(map.function) + "\n";
  out += "shards = [\n";
  for (const std::string& s : map.shards) out += "  " + TomlQuote(s) + ",\n";
  out += "]\n";
  return out;
}

RoutingMap ParseRouting(std::string_view text, const std::string& file) {
  toml::table root = ParseToml(text, file);
  TableReader top(root, file, "");
  top.RejectUnknown({"routing"});
  TableReader r = top.RequireTable("routing");
  r.RejectUnknown({"format_version", "table", "key", "function", "shards"});
  RoutingMap map;
  map.format_version = static_cast<int>(r.RequireInt("format_version"));
  if (map.format_version != 1) throw r.Error("format_version", "this shardshift reads routing format version 1");
  map.table = r.RequireString("table");
  map.key = r.RequireStringArray("key");
  if (map.key.empty()) throw r.Error("key", "must name at least one column");
  map.function = r.RequireString("function");
  if (map.function != kRoutingFunction) {
    throw r.Error("function", "unknown routing function '" + map.function + "' (expected " +
                                  std::string(kRoutingFunction) + ")");
  }
  map.shards = r.RequireStringArray("shards");
  if (map.shards.empty()) throw r.Error("shards", "must name at least one database");
  return map;
}

nlohmann::json RoutingToJson(const RoutingMap& map) {
  return {{"format_version", map.format_version}, {"table", map.table}, {"key", map.key},
          {"function", map.function}, {"shards", map.shards}};
}

}  // namespace shardshift::plans
