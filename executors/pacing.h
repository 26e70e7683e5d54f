// What keeps a copy from hurting the source (DESIGN.md, throttling): a rows-per-second throttle
// shared by every worker of a run, a chunk size that adapts toward a target time per chunk, and
// the user's check command, which pauses the run while it exits non-zero.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace shardshift::executors {

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

// One per worker. The next chunk's rows aim at the target time from the last chunk's rate, at
// most doubling or halving at a time, within [min, max].
class ChunkSizer {
 public:
  ChunkSizer(int64_t initial, std::chrono::milliseconds target, int64_t min = 100, int64_t max = 200'000);
  int64_t rows() const { return rows_; }
  void Observe(int64_t rows, double seconds);

 private:
  int64_t rows_;
  double target_seconds_;
  int64_t min_;
  int64_t max_;
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
