// `advise shard --directory`: how a directory-routed layout's shards are loaded, which tenants make
// a shard hot, and the move_keys that evens them out best. For each shard (the layout's and any an
// entry names): rows of the directory's tables, per shard_by value, counting only the values the
// directory routes there (copies a move left behind until its cleanup are not load); PostgreSQL
// also the rows written since its statistics were reset (pg_stat_user_tables), per shard; and,
// sampled over a window, which tenants the application's statements name on each shard, calls and
// writes (planner/tenant_sample.h). The
// suggestion moves the one tenant of the fullest shard that brings the largest shard down most,
// onto the emptiest shard (or the one asked for). Read-only.
#pragma once

#include <chrono>
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
  // From the statement sample (planner/tenant_sample.h), when one was taken: the sampled
  // statements naming the tenant, and its share of the shard's that name a tenant.
  int64_t calls = 0, writes = 0;
  double call_share = 0, write_share = 0;
  // The rows its writes changed in the window, from the server's log (when it could be read), and
  // its share of the shard's.
  int64_t rows_written = 0;
  double rows_written_share = 0;
};

struct ShardLoad {
  std::string shard;
  int64_t rows = 0;
  int64_t written = -1;           // rows inserted, updated and deleted since the counters' reset; -1 unknown
  std::vector<TenantLoad> top;    // the largest tenants, at most 5
  // The sample of the statements its application ran (none when sample_seconds is 0).
  bool sampled = false;
  std::string sample_note;
  double sample_seconds = 0;
  int64_t sampled_statements = 0, sampled_writes = 0, sampled_attributed = 0;
  bool rows_written_known = false;  // the log was read: rows written per tenant are exact
  std::string rows_written_note;
  int64_t rows_written = 0;         // in the window, every tenant's
  // The busiest tenants, at most 5: by rows written in the window when the log was read, else by
  // sampled statements.
  std::vector<TenantLoad> busiest;
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
// database outside the layout (a new shard), counted as empty. sample: how long to sample the
// statements every shard's application runs, all shards at once, before the rows are counted
// (0: not sampled).
DirectoryAdvice AdviseDirectory(const db::Catalog& catalog, const std::string& database, const db::TableName& directory,
                                const std::string& to = "", std::chrono::milliseconds sample = {});

}  // namespace shardshift::planner
