// A concurrent writer for demos and rehearsals: an application's writes to a `users` table (id,
// email, name, ...) on range shards: updates, inserts of new ids and deletes, each shard from its
// own thread and connection, at a steady modest rate. Unique conflicts (an id taken) are expected
// and ignored, as an application would retry; any other failure stops that thread and is reported
// by Stop().
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "db/catalog.h"

namespace shardshift::sandbox {

struct ShardRange {
  std::string database;
  int64_t lo;  // inclusive
  int64_t hi;  // inclusive
};

class UsersWorkload {
 public:
  // The catalog must outlive the workload.
  UsersWorkload(const db::Catalog& catalog, std::vector<ShardRange> shards, int writes_per_second_per_shard = 200);
  ~UsersWorkload();

  void Start();
  // Stops and joins the writers; returns the writes committed. Throws the first unexpected error.
  int64_t Stop();

 private:
  void Write(const ShardRange& shard, unsigned seed);

  const db::Catalog& catalog_;
  std::vector<ShardRange> shards_;
  int rate_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> writes_{0};
  std::vector<std::thread> threads_;
  std::vector<std::string> errors_;  // one slot per thread, written by that thread only
};

}  // namespace shardshift::sandbox
