#include "executors/progress.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace shardshift::executors {

namespace {

std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string Duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

}  // namespace

Progress::Progress(std::string title, bool bar, std::chrono::milliseconds log_interval)
    : title_(std::move(title)), bar_(bar), interval_(log_interval), start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() { Finish(); }

std::string Progress::Render(int64_t done, int64_t total, double rate, int width) {
  std::string out;
  if (total > 0) {
    const double fraction = std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
    const int filled = static_cast<int>(fraction * width);
    out = fmt::format("[{}{}] {:3.0f}%  {}/{} rows", std::string(static_cast<size_t>(filled), '#'),
                      std::string(static_cast<size_t>(width - filled), '.'), fraction * 100, Thousands(done),
                      Thousands(total));
  } else {
    out = fmt::format("{} rows", Thousands(done));
  }
  out += fmt::format("  {} rows/s", Thousands(static_cast<int64_t>(rate)));
  if (total > done && rate > 0) out += "  ETA " + Duration(static_cast<double>(total - done) / rate);
  return out;
}

void Progress::Update(const std::string& part, int64_t done, int64_t total, double rate) {
  std::lock_guard<std::mutex> hold(mu_);
  parts_[part] = {done, total, rate};
  Draw(false);
}

void Progress::Finish() {
  std::lock_guard<std::mutex> hold(mu_);
  if (finished_ || parts_.empty()) return;
  finished_ = true;
  Draw(true);
  if (bar_ && drawn_) std::fputs("\n", stderr);
}

void Progress::Draw(bool force) {
  const auto now = std::chrono::steady_clock::now();
  const auto every = bar_ ? std::chrono::milliseconds(200) : interval_;
  if (!force && now - last_ < every) return;
  last_ = now;
  int64_t done = 0;
  int64_t total = 0;
  double rate = 0;
  for (const auto& [name, p] : parts_) {
    done += p.done;
    total += p.total;
    rate += p.rate;
  }
  if (finished_) {  // the whole run's average, not the last instant's
    rate = static_cast<double>(done) / std::max(1e-3, std::chrono::duration<double>(now - start_).count());
  }
  // An estimate can fall short of the rows really there: never show more than 100%.
  total = total > 0 ? std::max(total, done) : 0;
  const std::string line = fmt::format("{} ({} part{}): {}", title_, parts_.size(), parts_.size() == 1 ? "" : "s",
                                       Render(done, total, rate));
  if (bar_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    drawn_ = true;
  } else if (!force) {
    spdlog::info("{}", line);
  }
}

}  // namespace shardshift::executors
