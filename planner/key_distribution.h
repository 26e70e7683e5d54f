// Where a table's rows would land on N hash shards: the planner reads the keys (all of them below
// a size, a deterministic sample above it), routes each with plans::ShardForKey, and scales the
// counts to the table's size. Also: rows outside a range shard's declared range. Read-only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"

namespace shardshift::planner {

struct DistributionOptions {
  int64_t read_all_below = 1'000'000;  // tables estimated below this are read whole
  int64_t sample_rows = 200'000;       // otherwise about this many keys are sampled
  size_t chunk_rows = 10'000;          // streaming chunk size
};

struct KeyDistribution {
  int64_t keys_read = 0;
  bool sampled = false;
  std::vector<int64_t> predicted_rows;  // per target shard, scaled to the whole table
  double skew = 0;                      // max / mean of predicted_rows; 1.0 = perfectly even
};

// Adds one source's keys to the per-shard counts: run once per source shard, then Finish.
class DistributionBuilder {
 public:
  DistributionBuilder(int32_t num_shards, DistributionOptions options = {});
  // Reads table's key columns on conn. row_estimate is the table's estimated rows (-1 unknown:
  // read everything). home: for a hash-sharded source, its shard index and the number of source
  // shards; the keys read that route elsewhere are counted. Returns that count (0 without home).
  struct HashHome {
    int32_t shard;
    int32_t shards;
  };
  int64_t AddSource(db::Connection& conn, const db::TableName& table, const std::vector<std::string>& key,
                    int64_t row_estimate, std::optional<HashHome> home = std::nullopt);
  // The keys the last AddSource read (a sample's size when sampled).
  int64_t last_keys_read() const { return last_read_; }
  bool sampled() const { return sampled_; }
  KeyDistribution Finish() const;

 private:
  int32_t num_shards_;
  DistributionOptions options_;
  std::vector<double> scaled_;  // predicted rows per shard, as doubles until Finish
  int64_t keys_read_ = 0;
  bool sampled_ = false;
  int64_t last_read_ = 0;
};

struct OutsideRange {
  int64_t below = 0;
  int64_t above = 0;
};

OutsideRange CountOutsideRange(db::Connection& conn, const db::TableName& table,
                               const std::vector<std::string>& key,
                               const std::optional<std::vector<std::string>>& from,
                               const std::optional<std::vector<std::string>>& to);

}  // namespace shardshift::planner
