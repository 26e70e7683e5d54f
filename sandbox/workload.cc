#include "sandbox/workload.h"

#include <chrono>
#include <random>
#include <stdexcept>

#include "db/error.h"

namespace shardshift::sandbox {

UsersWorkload::UsersWorkload(const db::Catalog& catalog, std::vector<ShardRange> shards, int rate)
    : catalog_(catalog), shards_(std::move(shards)), rate_(rate), errors_(shards_.size()) {}

UsersWorkload::~UsersWorkload() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void UsersWorkload::Start() {
  for (size_t i = 0; i < shards_.size(); ++i) {
    threads_.emplace_back([this, i] {
      try {
        Write(shards_[i], static_cast<unsigned>(i + 1));
      } catch (const std::exception& e) {
        errors_[i] = e.what();
      }
    });
  }
}

int64_t UsersWorkload::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
  for (const std::string& e : errors_) {
    if (!e.empty()) throw std::runtime_error("the demo's writer failed: " + e);
  }
  return writes_;
}

void UsersWorkload::Write(const ShardRange& shard, unsigned seed) {
  db::ConnectOptions app;
  app.executor_session = false;  // the application: captured, and fenced after the cutover
  auto conn = catalog_.Connect(shard.database, app);
  const bool pg = conn->engine() == db::Engine::kPostgres;
  auto p = [&](int i) { return pg ? "$" + std::to_string(i) : std::string("?"); };
  const std::string update = "UPDATE users SET name = " + p(1) + " WHERE id = " + p(2);
  const std::string insert = "INSERT INTO users (id, email, name) VALUES (" + p(1) + ", " + p(2) + ", " + p(3) + ")";
  const std::string remove = "DELETE FROM users WHERE id = " + p(1);
  std::mt19937_64 rng(seed);
  const auto pause = std::chrono::microseconds(1'000'000 / std::max(1, rate_));
  while (!stop_) {
    const int64_t id = shard.lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(shard.hi - shard.lo + 1));
    const int op = static_cast<int>(rng() % 10);
    try {
      if (op < 6) {
        conn->Execute(update, {"renamed " + std::to_string(rng() % 1000), id});
      } else if (op < 9) {
        conn->Execute(insert, {id, "new" + std::to_string(id) + "@example.com", "New " + std::to_string(id)});
      } else {
        conn->Execute(remove, {id});
      }
      ++writes_;
    } catch (const db::Error& e) {
      if (e.kind() != db::ErrorKind::kUniqueViolation) throw;
    }
    std::this_thread::sleep_for(pause);
  }
}

}  // namespace shardshift::sandbox
