#include "executors/retry.h"

#include <gtest/gtest.h>

#include "db/error.h"

namespace shardshift::executors {
namespace {

using std::chrono::milliseconds;

TEST(RetryTest, RetriesRetryableErrorsWithGrowingBackoff) {
  std::vector<milliseconds> slept;
  int calls = 0;
  RetryPolicy policy{5, milliseconds(100), 2.0, milliseconds(300)};
  RunWithRetries(
      policy,
      [&](int attempt) {
        ++calls;
        EXPECT_EQ(attempt, calls);
        if (attempt < 4) throw db::Error(db::ErrorKind::kLockTimeout, "lock timeout");
      },
      [&](milliseconds d) { slept.push_back(d); });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(slept, (std::vector<milliseconds>{milliseconds(100), milliseconds(200), milliseconds(300)}));
}

TEST(RetryTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  int calls = 0;
  RetryPolicy policy{3, milliseconds(1), 2.0, milliseconds(10)};
  try {
    RunWithRetries(
        policy, [&](int) { ++calls; throw db::Error(db::ErrorKind::kDeadlock, "deadlock " + std::to_string(calls)); },
        [](milliseconds) {});
    FAIL();
  } catch (const db::Error& e) {
    EXPECT_STREQ(e.what(), "deadlock 3");
  }
  EXPECT_EQ(calls, 3);
}

TEST(RetryTest, DoesNotRetryOtherErrors) {
  int calls = 0;
  int retries_heard = 0;
  EXPECT_THROW(RunWithRetries(
                   {}, [&](int) { ++calls; throw db::Error(db::ErrorKind::kUniqueViolation, "dup"); },
                   [](milliseconds) {}, [&](int, const std::exception&) { ++retries_heard; }),
               db::Error);
  EXPECT_THROW(RunWithRetries({}, [&](int) { ++calls; throw std::runtime_error("x"); }, [](milliseconds) {}),
               std::runtime_error);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(retries_heard, 0);
}

TEST(RetryTest, RetriesAnUnreachableServerOnlyWhenAsked) {
  int calls = 0;
  auto unreachable = [&](int) {
    if (++calls < 3) throw db::Error(db::ErrorKind::kConnect, "server restarting");
  };
  RetryPolicy strict;
  EXPECT_THROW(RunWithRetries(strict, unreachable, [](milliseconds) {}), db::Error);
  EXPECT_EQ(calls, 1);
  calls = 0;
  RetryPolicy patient;
  patient.retry_unreachable = true;
  RunWithRetries(patient, unreachable, [](milliseconds) {});
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace shardshift::executors
