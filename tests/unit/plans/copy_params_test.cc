#include "plans/copy_params.h"

#include <gtest/gtest.h>

#include "plans/input_error.h"

namespace shardshift::plans {
namespace {

Step MakeStep(const std::string& id, StepKind kind, const std::string& database) {
  Step s;
  s.id = id;
  s.kind = kind;
  s.database = database;
  return s;
}

// A reshard plan as the planner writes it: the copy's parameters on the capture, backfill and
// cutover steps, each carrying the same settings.
Plan Reshard() {
  Plan p;
  p.header.name = "users";
  p.header.kind = "reshard";
  p.header.spec_hash = "xxh64:0";
  const std::map<std::string, std::string> common = {
      {"table", "users"},         {"target_table", "users"}, {"sources", R"(["a","b"])"},
      {"targets", R"(["h0","h1","h2"])"}, {"key", R"(["tenant","id"])"}, {"shard_by", R"(["tenant"])"},
      {"columns", R"(["tenant","id","v"])"}, {"changelog", "_shardshift_log_users"},
      {"source_layout", "range"}, {"source_ranges", R"([[null,["100","0"]],[["100","0"],null]])"},
      {"chunk_rows", "1000"},     {"target_chunk_ms", "500"}, {"max_rows_per_second", "0"},
      {"parallel_sources", "2"},  {"lock_timeout_ms", "2000"}, {"retries", "5"}};
  Step create = MakeStep("create_target.h0", StepKind::kSql, "h0");
  Step capture_a = MakeStep("capture.a", StepKind::kCapture, "a");
  capture_a.params = common;
  capture_a.params["slot"] = "shardshift_slot_a";
  capture_a.params["publication"] = "shardshift_pub";
  Step capture_b = MakeStep("capture.b", StepKind::kCapture, "b");
  capture_b.params = common;
  capture_b.params["server_id"] = "1073741900";
  capture_b.params["position"] = "app._shardshift_pos_x";
  Step backfill = MakeStep("backfill.a", StepKind::kBackfill, "a");
  backfill.params = common;
  backfill.params["source"] = "a";
  Step cutover = MakeStep("cutover", StepKind::kCutover, "a");
  cutover.params = common;
  cutover.params["fence"] = "true";
  cutover.params["fence_sources"] = R"(["CREATE TRIGGER f"])";
  cutover.params["unfence_sources"] = R"(["DROP TRIGGER f"])";
  cutover.params["source_fence_triggers"] = R"(["f"])";
  cutover.params["target_block_sql"] = "LOCK TABLE users IN EXCLUSIVE MODE";
  cutover.params["unfence_targets"] = R"(["DROP TRIGGER g"])";
  cutover.params["hook.during_cutover"] = "switch-app.sh";
  cutover.params["hook_timeout_ms"] = "45000";
  p.steps = {create, capture_a, capture_b, backfill, cutover};
  return p;
}

TEST(CopyParamsTest, ReadsEveryParameterOnceInItsType) {
  const CopyParams c = ReadCopyParams(Reshard());
  EXPECT_EQ(c.table, "users");
  EXPECT_EQ(c.sources, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.targets.size(), 3u);
  EXPECT_EQ(c.key, (std::vector<std::string>{"tenant", "id"}));
  EXPECT_EQ(c.shard_by, (std::vector<std::string>{"tenant"}));
  ASSERT_EQ(c.source_ranges.size(), 2u);
  EXPECT_FALSE(c.source_ranges[0].from.has_value());
  EXPECT_EQ(c.source_ranges[0].to, (std::vector<std::string>{"100", "0"}));
  EXPECT_FALSE(c.source_ranges[1].to.has_value());
  ASSERT_EQ(c.streams.size(), 2u);
  EXPECT_EQ(c.streams[0].slot, "shardshift_slot_a");
  EXPECT_EQ(c.streams[1].server_id, 1073741900u);
  EXPECT_EQ(c.streams[1].position, "app._shardshift_pos_x");
  EXPECT_EQ(c.pace.chunk_rows, 1000);
  EXPECT_EQ(c.pace.hook_timeout_ms, 45000);
  ASSERT_TRUE(c.cutover.has_value());
  EXPECT_TRUE(c.cutover->fence);
  EXPECT_EQ(c.cutover->hooks.at("during_cutover"), "switch-app.sh");
  EXPECT_EQ(c.cutover->hooks.count("before_cutover"), 0u);
}

TEST(CopyParamsTest, AnEditedSettingIsTheSameOnEveryStepOrRefusedNamingBoth) {
  Plan p = Reshard();
  for (Step& s : p.steps) {
    if (s.params.count("max_rows_per_second")) s.params["max_rows_per_second"] = "500";
  }
  EXPECT_EQ(ReadCopyParams(p).pace.max_rows_per_second, 500);  // edited everywhere: taken

  p = Reshard();
  p.steps[3].params["max_rows_per_second"] = "500";  // the backfill step only
  p.steps[3].param_pos["max_rows_per_second"] = {"users.plan.toml", 57, 1};
  try {
    ReadCopyParams(p);
    FAIL() << "a setting edited on one step of several was taken";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("users.plan.toml:57"), std::string::npos) << what;
    EXPECT_NE(what.find("steps[3].params.max_rows_per_second"), std::string::npos) << what;
    EXPECT_NE(what.find("capture.a"), std::string::npos) << what;  // the step it disagrees with
  }
}

TEST(CopyParamsTest, EveryKindOfPlanHasOneValueOfASetting) {
  Plan p;
  p.header.name = "idx";
  p.header.kind = "create_index";
  Step a = MakeStep("build_index.h0.ix", StepKind::kBuildIndex, "h0");
  a.params = {{"lock_timeout_ms", "2000"}, {"retries", "5"}};
  Step b = MakeStep("build_index.h1.ix", StepKind::kBuildIndex, "h1");
  b.params = {{"lock_timeout_ms", "2000"}, {"retries", "5"}};
  p.steps = {a, b};
  EXPECT_EQ(ReadPace(p).lock_timeout_ms, 2000);
  p.steps[1].params["lock_timeout_ms"] = "9000";  // edited on the second shard's build only
  try {
    ReadPace(p);
    ADD_FAILURE() << "a lock_timeout_ms edited on one build step of two was taken";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("build_index.h0.ix"), std::string::npos) << e.what();
  }
}

TEST(CopyParamsTest, MalformedParametersNameTheStepAndTheParameter) {
  struct Case {
    size_t step;
    std::string name, value, says;
  };
  for (const Case& c : std::vector<Case>{
           {1, "sources", "a,b", "steps[1].params.sources"},
           {1, "source_ranges", R"([[null]])", "steps[1].params.source_ranges"},
           {2, "server_id", "0", "replica server id"},
           {4, "fence_sources", "[]", "lacks its fence statements"},
           {4, "target_block_sql", "", "target_block_sql"},
           {1, "retries", "five", "not a whole number"},
       }) {
    Plan p = Reshard();
    p.steps[c.step].params[c.name] = c.value;
    try {
      ReadCopyParams(p);
      ADD_FAILURE() << c.name << " = " << c.value << " was taken";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << c.name << ": " << e.what();
    }
  }
  Plan replica = Reshard();
  replica.header.kind = "replica";
  EXPECT_THROW(ReadCopyParams(replica), InputError);
}

}  // namespace
}  // namespace shardshift::plans
