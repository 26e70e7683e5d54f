#include "plans/index_params.h"

#include <gtest/gtest.h>

#include "plans/input_error.h"

namespace shardshift::plans {
namespace {

// A create_index plan as the planner writes it: one build per shard, one shadow rebuild's steps.
Plan Indexes() {
  Plan p;
  p.header.name = "idx";
  p.header.kind = "create_index";
  const std::map<std::string, std::string> common = {
      {"table", "public.orders"}, {"index", "orders_by_customer"}, {"unique", "false"},
      {"where", "status <> 'done'"}, {"columns", R"([["customer_id","asc"],["created_at","desc"]])"},
      {"include", R"(["total"])"}, {"parallel", "2"}, {"databases", R"(["h0","h1"])"},
      {"lock_timeout_ms", "2000"}, {"retries", "5"}};
  for (const std::string db : {"h0", "h1"}) {
    Step s;
    s.id = "build_index." + db + ".orders_by_customer";
    s.kind = StepKind::kBuildIndex;
    s.database = db;
    s.params = common;
    p.steps.push_back(s);
  }
  for (const std::string id : {"shadow.h0.create", "shadow.h0.backfill"}) {
    Step s;
    s.id = id;
    s.kind = id.ends_with("create") ? StepKind::kSql : StepKind::kBackfill;
    s.database = "h0";
    s.params = {{"shadow", "h0/public.items"}, {"fingerprint", "xxh64:1"}, {"databases", R"(["h0","h1"])"},
                {"parallel", "2"}};
    p.steps.push_back(s);
  }
  return p;
}

TEST(IndexParamsTest, ReadsEachBuildAndEachShadowRebuild) {
  const IndexParams ip = ReadIndexParams(Indexes());
  EXPECT_EQ(ip.databases, (std::vector<std::string>{"h0", "h1"}));
  EXPECT_EQ(ip.parallel, 2);
  ASSERT_EQ(ip.builds.size(), 2u);
  const IndexBuildParams& b = ip.builds.at("build_index.h1.orders_by_customer");
  EXPECT_EQ(b.table, "public.orders");
  EXPECT_FALSE(b.unique);
  EXPECT_EQ(b.where, "status <> 'done'");
  ASSERT_EQ(b.columns.size(), 2u);
  EXPECT_EQ(b.columns[0].name, "customer_id");
  EXPECT_FALSE(b.columns[0].descending);
  EXPECT_TRUE(b.columns[1].descending);
  EXPECT_EQ(b.include, (std::vector<std::string>{"total"}));
  ASSERT_EQ(ip.shadows.size(), 1u);
  EXPECT_EQ(ip.shadows[0].tag, "h0/public.items");
  EXPECT_EQ(ip.shadows[0].fingerprint, "xxh64:1");
  EXPECT_EQ(ip.shadows[0].steps, (std::vector<size_t>{2, 3}));
}

TEST(IndexParamsTest, AHandEditedMistakeIsRefusedNamingTheStepParameterAndLine) {
  struct Case {
    size_t step;
    std::string name, value, says;
  };
  for (const Case& c : std::vector<Case>{
           {1, "columns", R"([["customer_id","up"]])", "\"asc\" or \"desc\""},
           {1, "columns", "customer_id", "not the JSON"},
           {1, "columns", "[]", "names no column"},
           {1, "unique", "yes", "it is one of"},
           {1, "include", R"("total")", "not a JSON list of strings"},
           {0, "parallel", "two", "not a whole number"},
           {0, "databases", "[]", "names no database"},
           {1, "lock_timeout_ms", "9000", "build_index.h0.orders_by_customer"},  // one step of two
       }) {
    Plan p = Indexes();
    p.steps[c.step].params[c.name] = c.value;
    p.steps[c.step].param_pos[c.name] = {"idx.plan.toml", 40 + static_cast<int>(c.step), 3};
    try {
      ReadIndexParams(p);
      ADD_FAILURE() << c.name << " = " << c.value << " was taken";
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(c.says), std::string::npos) << c.name << ": " << what;
      EXPECT_NE(what.find("idx.plan.toml:" + std::to_string(40 + c.step)), std::string::npos) << what;
      EXPECT_NE(what.find("steps[" + std::to_string(c.step) + "].params." + c.name), std::string::npos) << what;
    }
  }
}

TEST(IndexParamsTest, APlanWithNothingToBuildReadsEmptyAndOtherKindsAreRefused) {
  Plan p;
  p.header.name = "idx";
  p.header.kind = "create_index";
  EXPECT_TRUE(ReadIndexParams(p).builds.empty());
  p.header.kind = "replica";
  EXPECT_THROW(ReadIndexParams(p), InputError);
}

}  // namespace
}  // namespace shardshift::plans
