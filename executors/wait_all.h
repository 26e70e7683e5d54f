// Waits for every future of a batch of parallel work, then rethrows the first failure: none is left
// running when the caller unwinds. RunAtOnce runs statements that way.
#pragma once

#include <exception>
#include <future>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "db/connection.h"

namespace shardshift::executors {

inline void WaitAll(std::vector<std::future<void>>& runs) {
  std::exception_ptr failure;
  for (std::future<void>& r : runs) {
    try {
      r.get();
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

// Each statement on its connection, those on distinct connections at once; the first failure is
// rethrown once all have ended.
inline void RunAtOnce(const std::vector<std::pair<db::Connection*, std::string>>& work) {
  std::map<db::Connection*, std::vector<const std::string*>> by_conn;
  for (const auto& [c, sql] : work) by_conn[c].push_back(&sql);
  std::vector<std::future<void>> runs;
  for (const auto& [c, sqls] : by_conn) {
    runs.push_back(std::async(std::launch::async, [c = c, sqls = sqls] {
      for (const std::string* sql : sqls) c->Execute(*sql);
    }));
  }
  WaitAll(runs);
}

}  // namespace shardshift::executors
