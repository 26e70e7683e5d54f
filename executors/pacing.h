// What keeps a copy from hurting the source (DESIGN.md, throttling): a rows-per-second throttle
// shared by every worker of a run, a chunk size that adapts toward a target time per chunk, and
// the user's check command, which pauses the run while it exits non-zero.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "db/connection.h"

namespace shardshift::executors {

// Seconds from t to now, on the steady clock.
inline double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Shared by the workers of a run; thread-safe. 0 rows per second = no limit.
class Throttle {
 public:
  explicit Throttle(int64_t max_rows_per_second);
  // Counts rows just copied and sleeps as long as the run is ahead of its budget.
  void Account(int64_t rows);

 private:
  const int64_t max_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int64_t rows_ = 0;
};

// Rows as held in memory: each value's bytes and its own overhead.
inline int64_t HeldBytes(const db::ResultSet& rows) {
  int64_t bytes = 0;
  for (const db::Row& row : rows.rows) {
    for (const db::Value& v : row) bytes += static_cast<int64_t>(sizeof(db::Value)) + (v ? static_cast<int64_t>(v->size()) : 0);
  }
  return bytes;
}

// One per worker. The next chunk's rows aim at the target time from the last chunk's rate, at
// most doubling or halving at a time, within [min, max], and within a byte budget: a chunk holds at
// most about max_bytes of row data, from the row width seen (or estimated), so that memory does not
// grow with the width of the rows (a chunk is in memory twice: read ahead, and written).
class ChunkSizer {
 public:
  static constexpr int64_t kMaxBytes = 8 << 20;
  ChunkSizer(int64_t initial, std::chrono::milliseconds target, int64_t min = 100, int64_t max = 200'000,
             int64_t max_bytes = kMaxBytes);
  int64_t rows() const { return std::min(rows_, byte_rows_); }
  void Observe(int64_t rows, double seconds);
  // The rows of a chunk just read and their bytes; also an estimate before the first (the plan's).
  void ObserveBytes(int64_t rows, int64_t bytes);

 private:
  int64_t rows_;
  double target_seconds_;
  int64_t min_;
  int64_t max_;
  int64_t max_bytes_;
  int64_t byte_rows_;  // the rows that fit the byte budget at the width seen
};

// Shared by the workers of a run; thread-safe. Runs the command at most once per interval; while
// it exits non-zero (or cannot run) every worker waits in Pass, and Pass returns false when stop
// was set meanwhile.
class CheckGate {
 public:
  CheckGate(std::string command, std::map<std::string, std::string> env,
            std::chrono::milliseconds interval = std::chrono::seconds(1),
            std::chrono::milliseconds pause = std::chrono::seconds(2));
  bool Pass(const std::atomic<bool>& stop);
  int64_t pauses() const { return pauses_; }

 private:
  std::string command_;
  std::map<std::string, std::string> env_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds pause_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_ok_{};
  bool ever_ok_ = false;
  std::atomic<int64_t> pauses_{0};
};

}  // namespace shardshift::executors
