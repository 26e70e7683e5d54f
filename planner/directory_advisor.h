// `advise shard --directory`: how a directory-routed layout's shards are loaded, which tenants make
// a shard hot, and the move_keys that evens them out best. For each shard (the layout's and any an
// entry names): rows of the directory's tables, per shard_by value, counting only the values the
// directory routes there (copies a move left behind until its cleanup are not load); PostgreSQL
// also the rows written since its statistics were reset (pg_stat_user_tables), per shard. The
// suggestion moves the one tenant of the fullest shard that brings the largest shard down most,
// onto the emptiest shard (or the one asked for). Read-only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/catalog.h"
#include "plans/directory.h"

namespace shardshift::planner {

struct TenantLoad {
  std::string key;
  int64_t rows = 0;
  double share = 0;  // of its shard's rows
};

struct ShardLoad {
  std::string shard;
  int64_t rows = 0;
  int64_t written = -1;           // rows inserted, updated and deleted since the counters' reset; -1 unknown
  std::vector<TenantLoad> top;    // the largest tenants, at most 5
};

struct KeyMoveSuggestion {
  std::string key, from, to;
  int64_t rows = 0;
  double skew_before = 0, skew_after = 0;  // max/mean rows over every shard considered (with --to's)
};

struct DirectoryAdvice {
  plans::DirectoryLayout layout;
  std::vector<ShardLoad> shards;
  double skew = 0;
  std::optional<KeyMoveSuggestion> suggestion;
};

// to: where the suggestion moves a tenant ("" = the shard with the fewest rows); it may be a
// database outside the layout (a new shard), counted as empty.
DirectoryAdvice AdviseDirectory(const db::Catalog& catalog, const std::string& database, const db::TableName& directory,
                                const std::string& to = "");

}  // namespace shardshift::planner
