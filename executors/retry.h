// Bounded retries of retryable database failures (lock timeout, deadlock, serialization failure,
// lost connection) with exponential backoff. Sleep is injected so tests need not wait (gh-ost's
// RetrySleepFn). Every executor statement runs through this: a DDL waiting on a lock must give up
// quickly and try again later rather than queue the application's queries behind it.
#pragma once

#include <chrono>
#include <functional>

namespace shardshift::executors {

struct RetryPolicy {
  int max_attempts = 5;  // total attempts, including the first
  std::chrono::milliseconds initial_backoff{100};
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{5000};
  // Also retry "cannot connect": inside a run, a server that went away may refuse connections for a
  // moment while it restarts (at startup an unreachable server is the user's to fix, not retried).
  bool retry_unreachable = false;
};

// What a runner retries a step with: retries after the first attempt, backoff from 0.5 s up to
// 8 s, a server that refuses connections for a moment (restarting) included.
RetryPolicy StepRetryPolicy(int retries);

using SleepFn = std::function<void(std::chrono::milliseconds)>;
void RealSleep(std::chrono::milliseconds duration);

// Calls attempt(n) for n = 1, 2, ... until it returns without throwing. A db::Error that is
// retryable() is retried after a backoff while attempts remain; anything else, and the last
// retryable error, propagates unchanged. on_retry (may be empty) hears each error retried.
void RunWithRetries(const RetryPolicy& policy, const std::function<void(int)>& attempt,
                    const SleepFn& sleep = RealSleep,
                    const std::function<void(int, const std::exception&)>& on_retry = {});

}  // namespace shardshift::executors
