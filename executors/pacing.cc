#include "executors/pacing.h"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "executors/command.h"

namespace shardshift::executors {

using Clock = std::chrono::steady_clock;

Throttle::Throttle(int64_t max_rows_per_second) : max_(max_rows_per_second) {}

void Throttle::Account(int64_t rows) {
  if (max_ <= 0) return;
  std::chrono::duration<double> ahead;
  {
    std::lock_guard<std::mutex> hold(mu_);
    rows_ += rows;
    ahead = std::chrono::duration<double>(static_cast<double>(rows_) / static_cast<double>(max_)) - (Clock::now() - start_);
  }
  if (ahead.count() > 0) std::this_thread::sleep_for(ahead);
}

ChunkSizer::ChunkSizer(int64_t initial, std::chrono::milliseconds target, int64_t min, int64_t max,
                       int64_t max_bytes)
    : rows_(std::clamp(initial, min, max)), target_seconds_(static_cast<double>(target.count()) / 1000.0),
      min_(min), max_(max), max_bytes_(max_bytes), byte_rows_(max) {}

void ChunkSizer::ObserveBytes(int64_t rows, int64_t bytes) {
  if (rows <= 0 || bytes <= 0) return;
  const double per_row = static_cast<double>(bytes) / static_cast<double>(rows);
  // At least one row a chunk, even when one row is wider than the budget.
  byte_rows_ = std::clamp<int64_t>(static_cast<int64_t>(static_cast<double>(max_bytes_) / per_row), 1, max_);
}

void ChunkSizer::Observe(int64_t rows, double seconds) {
  if (rows < this->rows() || seconds <= 0) return;  // a short last chunk says nothing of the rate
  const double wanted = static_cast<double>(rows) * target_seconds_ / seconds;
  const double bounded = std::clamp(wanted, static_cast<double>(rows_) / 2, static_cast<double>(rows_) * 2);
  rows_ = std::clamp(static_cast<int64_t>(bounded), min_, max_);
}

CheckGate::CheckGate(std::string command, std::map<std::string, std::string> env, std::chrono::milliseconds interval,
                     std::chrono::milliseconds pause)
    : command_(std::move(command)), env_(std::move(env)), interval_(interval), pause_(pause) {}

bool CheckGate::Pass(const std::atomic<bool>& stop) {
  if (command_.empty()) return !stop;
  std::lock_guard<std::mutex> hold(mu_);  // one worker checks; the others wait here, paused too
  if (ever_ok_ && Clock::now() - last_ok_ < interval_) return !stop;
  bool paused = false;
  while (!stop) {
    CommandResult r = RunCommand(command_, env_, std::chrono::seconds(30));
    if (r.ok()) {
      if (paused) spdlog::info("check command passed: resuming the copy and replay");
      last_ok_ = Clock::now();
      ever_ok_ = true;
      return true;
    }
    if (!paused) {
      spdlog::warn("check command `{}`: {}; the copy (and replay under --follow) pauses until it exits 0", command_, r.Describe());
      ++pauses_;
      paused = true;
    }
    std::this_thread::sleep_for(pause_);
  }
  return false;
}

}  // namespace shardshift::executors
