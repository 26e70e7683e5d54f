// One worker's connections, by database name, opened on first use and reopened when broken, each
// with the run's lock_timeout. A Connections belongs to one thread; workers each have their own.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "db/catalog.h"

namespace shardshift::executors {

class Connections {
 public:
  // The catalog must outlive the Connections.
  Connections(const db::Catalog& catalog, int lock_timeout_ms);

  // slot: a second (third, ...) connection to the same database, e.g. for reading ahead.
  db::Connection& Get(const std::string& name, int slot = 0);
  std::vector<db::Connection*> Get(const std::vector<std::string>& names);
  // Closes every connection (after a failure that may have left one broken or mid-transaction).
  void Reset();
  void set_lock_timeout_ms(int ms) { lock_timeout_ms_ = ms; }

 private:
  const db::Catalog& catalog_;
  int lock_timeout_ms_;
  std::map<std::pair<std::string, int>, std::unique_ptr<db::Connection>> open_;
};

}  // namespace shardshift::executors
