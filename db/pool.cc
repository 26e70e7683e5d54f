#include "db/pool.h"

namespace shardshift::db {

Pool::Pool(ConnectionUrl url, std::string name, size_t max_size, ConnectOptions options)
    : url_(std::move(url)), name_(std::move(name)), max_size_(max_size ? max_size : 1),
      options_(std::move(options)) {}

Pool::Lease::~Lease() {
  if (conn_ && pool_) pool_->Release(std::move(conn_));
}

Pool::Lease Pool::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    available_.wait(lock, [&] { return !idle_.empty() || open_ < max_size_; });
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // reserve the slot before connecting outside the lock
  }
  try {
    return Lease(this, Connect(url_, name_, options_));
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    available_.notify_one();
    throw;
  }
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  bool keep = conn->Usable() && !conn->InTransaction();
  if (!keep) conn.reset();  // close outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  if (keep) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  available_.notify_one();
}

size_t Pool::open_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

}  // namespace shardshift::db
