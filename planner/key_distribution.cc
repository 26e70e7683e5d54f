#include "planner/key_distribution.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "planner/key_queries.h"
#include "plans/routing.h"

namespace shardshift::planner {

DistributionBuilder::DistributionBuilder(int32_t num_shards, DistributionOptions options)
    : num_shards_(std::max(1, num_shards)), options_(options), scaled_(num_shards_, 0.0) {}

int64_t DistributionBuilder::AddSource(db::Connection& conn, const db::TableName& table,
                                       const std::vector<std::string>& key, int64_t row_estimate,
                                       std::optional<HashHome> home) {
  int64_t misplaced = 0;
  double fraction = 1.0;
  if (row_estimate >= options_.read_all_below && row_estimate > 0) {
    fraction = std::min(1.0, static_cast<double>(options_.sample_rows) / static_cast<double>(row_estimate));
  }
  Statement q = KeySampleQuery(conn.engine(), table, key, fraction);
  std::vector<int64_t> counts(num_shards_, 0);
  int64_t read = 0;
  {
    // One snapshot, so that a sample is of one consistent state of the table.
    db::Transaction tx(conn, db::TxOptions::Snapshot());
    auto stream = conn.Stream(q.sql, q.params, options_.chunk_rows);
    db::Chunk chunk;
    std::vector<std::string> parts(key.size());
    while (stream->Next(chunk)) {
      for (const db::Row& row : chunk.rows) {
        for (size_t i = 0; i < key.size(); ++i) parts[i] = row[i].value_or("");
        ++counts[plans::ShardForKey(parts, num_shards_)];
        if (home && plans::ShardForKey(parts, home->shards) != home->shard) ++misplaced;
      }
      read += static_cast<int64_t>(chunk.rows.size());
    }
    stream.reset();
    tx.Commit();
  }
  keys_read_ += read;
  last_read_ = read;
  // A sample stands for the table's estimated rows; a full read stands for itself.
  double scale = 1.0;
  if (fraction < 1.0) {
    sampled_ = true;
    scale = read > 0 ? static_cast<double>(row_estimate) / static_cast<double>(read) : 0.0;
  }
  for (int32_t s = 0; s < num_shards_; ++s) scaled_[s] += static_cast<double>(counts[s]) * scale;
  return misplaced;
}

KeyDistribution DistributionBuilder::Finish() const {
  KeyDistribution out;
  out.keys_read = keys_read_;
  out.sampled = sampled_;
  for (double v : scaled_) out.predicted_rows.push_back(static_cast<int64_t>(std::llround(v)));
  double total = std::accumulate(scaled_.begin(), scaled_.end(), 0.0);
  double mean = total / static_cast<double>(num_shards_);
  out.skew = mean > 0 ? *std::max_element(scaled_.begin(), scaled_.end()) / mean : 1.0;
  return out;
}

OutsideRange CountOutsideRange(db::Connection& conn, const db::TableName& table,
                               const std::vector<std::string>& key,
                               const std::optional<std::vector<std::string>>& from,
                               const std::optional<std::vector<std::string>>& to) {
  Statement q = OutsideRangeQuery(conn.engine(), table, key, from, to);
  db::ResultSet r = conn.Query(q.sql, q.params);
  return OutsideRange{std::stoll(r.Text(0, "below")), std::stoll(r.Text(0, "above"))};
}

}  // namespace shardshift::planner
