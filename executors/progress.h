// Progress of long steps for a person watching: a bar with percent, rows, rate and ETA redrawn on
// a terminal (stderr), or a log line every few seconds elsewhere (a pipe, a CI log, --log-format
// json). Several workers report into one Progress; it shows their sum. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace shardshift::executors {

class Progress {
 public:
  // bar: draw on stderr (only when it is a terminal); otherwise log lines at log_interval.
  Progress(std::string title, bool bar, std::chrono::milliseconds log_interval = std::chrono::seconds(5));
  ~Progress();
  // One worker's state: rows done of total (total 0 = unknown), at rate rows per second.
  void Update(const std::string& part, int64_t done, int64_t total, double rate);
  // Draws the last state and ends the bar's line.
  void Finish();

  // "[#########...........]  45%  135,000/300,000 rows  81,234 rows/s  ETA 2s"
  static std::string Render(int64_t done, int64_t total, double rate, int width = 24);

 private:
  void Draw(bool force);

  struct Part {
    int64_t done = 0;
    int64_t total = 0;
    double rate = 0;
  };
  std::string title_;
  bool bar_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::map<std::string, Part> parts_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace shardshift::executors
