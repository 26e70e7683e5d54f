// Directory routing: a table says which shard holds a shard_by value (a tenant, a customer); a key
// it does not list lives where the layout's default rule puts it. Moving one tenant is then one
// directory entry, not a reshard. Format and how applications read it: docs/routing.md#directory.
//
// The directory is two tables in one database: `<name>` (the entries: shard_key -> shard) and
// `<name>_layout` (one row: the default rule, the shards it spreads keys over, the tables routed).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace shardshift::plans {

inline constexpr int kDirectoryFormatVersion = 1;
inline constexpr const char* kDefaultDirectoryTable = "shardshift_directory";

struct DirectoryLayout {
  int format_version = kDirectoryFormatVersion;
  std::vector<std::string> tables;  // the tables routed by it ("schema.name" or "name")
  std::string shard_by;             // the one column whose value is looked up
  // "xxh64-jump-v1" (docs/routing.md: hash of the value onto `shards`) or "range" (shard i holds
  // the integer values in ranges[i], from inclusive, to exclusive, nullopt = unbounded).
  std::string rule;
  std::vector<std::string> shards;
  std::vector<std::pair<std::optional<int64_t>, std::optional<int64_t>>> ranges;

  // The shard the default rule gives a value (its text: integers in plain decimal); nullopt when a
  // range rule has no range for it.
  std::optional<std::string> DefaultShard(const std::string& key_text) const;
  bool operator==(const DirectoryLayout&) const = default;

  // The layout row's `ranges` column: a JSON array of [from, to] pairs (null = unbounded).
  std::string RangesJson() const;
  // Throws std::runtime_error on a malformed value (the column is not the application's to edit).
  static std::vector<std::pair<std::optional<int64_t>, std::optional<int64_t>>> ParseRanges(const std::string& json);
  // One line for messages: "xxh64-jump-v1 onto s0, s1".
  std::string Describe() const;
};

// A directory as read: the layout and its entries.
struct Directory {
  DirectoryLayout layout;
  std::map<std::string, std::string> entries;  // shard_key -> shard

  // Where a value lives: its entry, else the default rule.
  std::optional<std::string> ShardOf(const std::string& key_text) const {
    auto it = entries.find(key_text);
    if (it != entries.end()) return it->second;
    return layout.DefaultShard(key_text);
  }
};

}  // namespace shardshift::plans
