#include "executors/pacing.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "executors/command.h"
#include "executors/progress.h"

namespace shardshift::executors {
namespace {

using std::chrono::milliseconds;

TEST(ChunkSizerTest, AdaptsTowardTheTargetTimeAtMostDoublingOrHalving) {
  ChunkSizer sizer(1000, milliseconds(500));
  EXPECT_EQ(sizer.rows(), 1000);
  sizer.Observe(1000, 0.05);  // 10x too fast: grows, but only to twice the size
  EXPECT_EQ(sizer.rows(), 2000);
  sizer.Observe(2000, 0.4);  // 0.8 of the target: grows by 1/0.8
  EXPECT_EQ(sizer.rows(), 2500);
  sizer.Observe(2500, 5.0);  // 10x too slow: halves
  EXPECT_EQ(sizer.rows(), 1250);
  sizer.Observe(10, 5.0);  // a short last chunk says nothing
  EXPECT_EQ(sizer.rows(), 1250);
}

TEST(ChunkSizerTest, AChunkHoldsAtMostItsByteBudgetWhateverTheRowWidth) {
  ChunkSizer sizer(5000, milliseconds(500), 100, 200'000, 1'000'000);
  EXPECT_EQ(sizer.rows(), 5000);
  sizer.ObserveBytes(5000, 5000 * 20'000);  // rows of 20 KB: 50 fit in 1 MB
  EXPECT_EQ(sizer.rows(), 50);
  sizer.Observe(50, 0.001);  // fast chunks grow the time-based size, not past the budget
  EXPECT_EQ(sizer.rows(), 50);
  sizer.ObserveBytes(50, 50 * 100);  // narrow rows again: the time-based size is back
  EXPECT_EQ(sizer.rows(), 10000);
  sizer.ObserveBytes(1, 5'000'000);  // one row wider than the budget: one row a chunk
  EXPECT_EQ(sizer.rows(), 1);
}

TEST(ChunkSizerTest, StaysWithinItsBounds) {
  ChunkSizer sizer(150, milliseconds(100), 100, 400);
  sizer.Observe(150, 10.0);
  EXPECT_EQ(sizer.rows(), 100);
  for (int i = 0; i < 5; ++i) sizer.Observe(sizer.rows(), 0.001);
  EXPECT_EQ(sizer.rows(), 400);
}

TEST(ProgressTest, RendersPercentRowsRateAndEta) {
  EXPECT_EQ(Progress::Render(150000, 300000, 50000, 10), "[#####.....]  50%  150,000/300,000 rows  50,000 rows/s  ETA 3s");
  EXPECT_EQ(Progress::Render(1234, 0, 0, 10), "1,234 rows  0 rows/s");
  EXPECT_EQ(Progress::Render(10, 100000, 1, 4), "[....]   0%  10/100,000 rows  1 rows/s  ETA 27h46m");
}

class CommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sst-command-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(CommandTest, ReportsTheExitCodeAndPassesTheEnvironment) {
  const std::string out = (dir_ / "env").string();
  CommandResult r = RunCommand("echo \"$SHARDSHIFT_HOOK\" > " + out + "; exit 3", {{"SHARDSHIFT_HOOK", "during_cutover"}},
                               std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.Describe(), "exit 3");
  std::string line;
  std::getline(std::ifstream(out) >> std::ws, line);
  EXPECT_EQ(line, "during_cutover");
  EXPECT_TRUE(RunCommand("true", {}, std::chrono::seconds(10)).ok());
}

TEST_F(CommandTest, ATimeoutKillsTheWholeGroup) {
  const std::string marker = (dir_ / "survived").string();
  // The shell starts a child that would write the marker later; both must die at the timeout.
  CommandResult r = RunCommand("(sleep 1; touch " + marker + ") & sleep 5", {}, milliseconds(200));
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a child of the command outlived its timeout";
}

TEST_F(CommandTest, CheckGatePausesUntilTheCommandPasses) {
  const std::string ready = (dir_ / "ready").string();
  CheckGate gate("test -e " + ready, {}, milliseconds(1000), milliseconds(20));
  std::atomic<bool> stop{false};
  std::thread opener([&] {
    std::this_thread::sleep_for(milliseconds(200));
    std::ofstream(ready) << "go\n";
  });
  EXPECT_TRUE(gate.Pass(stop));
  opener.join();
  EXPECT_TRUE(std::filesystem::exists(ready)) << "Pass returned before the command passed";
  EXPECT_EQ(gate.pauses(), 1);
  EXPECT_TRUE(gate.Pass(stop));  // within the interval: not run again, not paused
  EXPECT_EQ(gate.pauses(), 1);
}

TEST_F(CommandTest, CheckGateGivesWayToStop) {
  CheckGate gate("false", {}, milliseconds(1000), milliseconds(20));
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(100));
    stop = true;
  });
  EXPECT_FALSE(gate.Pass(stop));
  stopper.join();
}

}  // namespace
}  // namespace shardshift::executors
