#include "executors/retry.h"

#include <algorithm>
#include <thread>

#include "db/error.h"

namespace shardshift::executors {

RetryPolicy StepRetryPolicy(int retries) {
  RetryPolicy policy;
  policy.max_attempts = retries + 1;
  policy.initial_backoff = std::chrono::milliseconds(500);
  policy.max_backoff = std::chrono::milliseconds(8000);
  policy.retry_unreachable = true;
  return policy;
}

void RealSleep(std::chrono::milliseconds duration) { std::this_thread::sleep_for(duration); }

void RunWithRetries(const RetryPolicy& policy, const std::function<void(int)>& attempt,
                    const SleepFn& sleep,
                    const std::function<void(int, const std::exception&)>& on_retry) {
  auto backoff = policy.initial_backoff;
  for (int n = 1;; ++n) {
    try {
      attempt(n);
      return;
    } catch (const db::Error& e) {
      const bool again = e.retryable() || (policy.retry_unreachable && e.kind() == db::ErrorKind::kConnect);
      if (!again || n >= policy.max_attempts) throw;
      if (on_retry) on_retry(n, e);
    }
    sleep(backoff);
    auto next = std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(backoff.count()) * policy.multiplier));
    backoff = std::min(next, policy.max_backoff);
  }
}

}  // namespace shardshift::executors
