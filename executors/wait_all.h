// Waits for every future of a batch of parallel work, then rethrows the first failure: none is left
// running when the caller unwinds.
#pragma once

#include <exception>
#include <future>
#include <vector>

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

}  // namespace shardshift::executors
