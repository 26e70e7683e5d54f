// Hash routing: which shard a key lives on. Stable and language-independent, so that applications
// in any language route exactly as shardshift copies (docs/routing.md has the definition and test
// vectors):
//   1. the key's canonical bytes: for each key column in order, its value's text (UTF-8; integers
//      in plain decimal) preceded by its byte length as 4 bytes big-endian;
//   2. h = xxHash64(bytes, seed 0);
//   3. shard = jump consistent hash (Lamping and Veach, 2014) of h onto N shards.
// Jump hashing moves only the keys that must move when N grows: from N to N+1 shards about
// 1/(N+1) of the keys move, all of them onto the new shard.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace shardshift::plans {

inline constexpr std::string_view kRoutingFunction = "xxh64-jump-v1";

std::string CanonicalKeyBytes(const std::vector<std::string>& key_parts);
uint64_t KeyHash(const std::vector<std::string>& key_parts);
// num_shards must be at least 1.
int32_t JumpConsistentHash(uint64_t hash, int32_t num_shards);
int32_t ShardForKey(const std::vector<std::string>& key_parts, int32_t num_shards);

// The routing map a cutover publishes: the function, the key, and the shards in order.
struct RoutingMap {
  int format_version = 1;
  std::string table;
  std::vector<std::string> key;
  std::string function = std::string(kRoutingFunction);
  std::vector<std::string> shards;  // database names; shard i is shards[i]
};

std::string WriteRoutingToml(const RoutingMap& map);
// Throws InputError naming file, line, column and field.
RoutingMap ParseRouting(std::string_view text, const std::string& file);
nlohmann::json RoutingToJson(const RoutingMap& map);

}  // namespace shardshift::plans
