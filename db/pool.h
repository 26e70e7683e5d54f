// A small pool of connections to one database, shared between threads.
//
// Acquire() hands out a Lease that returns its connection when destroyed; a connection that broke
// (Usable() is false) or was left inside a transaction is discarded instead of returned, so the
// next user never inherits a half-finished transaction. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/connection.h"

namespace shardshift::db {

class Pool {
 public:
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // Connections are opened lazily, at most max_size at once. The pool must outlive its leases.
  Pool(ConnectionUrl url, std::string name, size_t max_size, ConnectOptions options = {});

  // Blocks while max_size connections are leased. Connection failures propagate as db::Error.
  Lease Acquire();

  size_t max_size() const { return max_size_; }
  // Connections open now, leased or idle.
  size_t open_count() const;

 private:
  void Release(std::unique_ptr<Connection> conn);

  const ConnectionUrl url_;
  const std::string name_;
  const size_t max_size_;
  const ConnectOptions options_;
  mutable std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
  size_t open_ = 0;                                // GUARDED_BY(mu_)
};

}  // namespace shardshift::db
