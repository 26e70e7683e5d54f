// Planning and applying refusals, on both engines: a database the config lacks, rows outside a
// declared range, a table without a usable key, drift since planning; and a dry run that checks
// everything but changes nothing. Plans are deterministic.
#include <fmt/format.h>

#include "db/error.h"
#include "executors/runner.h"
#include "planner/reshard_planner.h"
#include "plans/input_error.h"
#include "tests/integration/harness.h"

namespace shardshift::testing {
namespace {

class ReshardPlanTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    s0_ = Connect("range_0");
    s1_ = Connect("range_1");
    for (const char* t : {"hash_0", "hash_1"}) {
      targets_.push_back(Connect(t));
      drops_.push_back(std::make_unique<DropTable>(*targets_.back(), "sst_plan"));
    }
    drops_.push_back(std::make_unique<DropTable>(*s0_, "sst_plan"));
    drops_.push_back(std::make_unique<DropTable>(*s1_, "sst_plan"));
    for (auto* c : {s0_.get(), s1_.get()}) c->Execute("CREATE TABLE sst_plan (id int PRIMARY KEY, v text)");
    s0_->Execute("INSERT INTO sst_plan VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    s1_->Execute("INSERT INTO sst_plan VALUES (100, 'x'), (101, 'y')");
  }
  std::string SpecText(const std::string& source0 = "", int boundary = 100) {
    return fmt::format(R"([migration]
name = "sst-plan-{}"
kind = "reshard"
[reshard]
table = "sst_plan"
key = ["id"]
[reshard.source]
layout = "range"
[[reshard.source.shards]]
database = "{}"
to = {}
[[reshard.source.shards]]
database = "{}"
from = {}
[reshard.target]
databases = ["{}", "{}"]
)", pg() ? "pg" : "my", source0.empty() ? Db("range_0") : source0, boundary, Db("range_1"), boundary, Db("hash_0"),
                       Db("hash_1"));
  }
  plans::Plan Plan(const std::string& text) {
    planner::EngineSchemaReader reader(*catalog_);
    return planner::PlanReshard(plans::ParseSpec(text, "spec.toml"), *catalog_, reader);
  }
  std::string Refusal(const std::string& text) {
    try {
      Plan(text);
    } catch (const plans::InputError& e) {
      return e.what();
    }
    return "";
  }
  std::unique_ptr<db::Connection> s0_, s1_;
  std::vector<std::unique_ptr<db::Connection>> targets_;
  std::vector<std::unique_ptr<DropTable>> drops_;
};

TEST_P(ReshardPlanTest, PlansAreDeterministic) {
  EXPECT_EQ(plans::WritePlanToml(Plan(SpecText())), plans::WritePlanToml(Plan(SpecText())));
}

TEST_P(ReshardPlanTest, RefusesAnUnknownDatabaseAtItsLine) {
  EXPECT_EQ(Refusal(SpecText("nope")).substr(0, 52), "spec.toml:10:12: unknown database 'nope': the config");
}

TEST_P(ReshardPlanTest, RefusesRowsOutsideTheirRangeWithNumbers) {
  EXPECT_EQ(Refusal(SpecText("", 3)),
            fmt::format("spec.toml:10:12: field 'reshard.source.shards': database '{}' holds 0 row(s) below its range "
                        "and 1 at or above it; fix the ranges or the data first", Db("range_0")));
}

TEST_P(ReshardPlanTest, RefusesATableWithoutAUsableKey) {
  for (auto* c : {s0_.get(), s1_.get()}) {
    c->Execute("DROP TABLE sst_plan");
    c->Execute("CREATE TABLE sst_plan (id int, v text)");
  }
  EXPECT_NE(Refusal(SpecText()).find("(id) is not the primary key or a unique key of NOT NULL columns of sst_plan, "
                                     "nor one with more NOT NULL columns (its keys: none)"),
            std::string::npos);
}

TEST_P(ReshardPlanTest, DryRunChangesNothingAndDriftIsRefused) {
  plans::Plan plan = Plan(SpecText());
  {
    executors::Runner runner(plan, *catalog_);
    executors::ApplyOptions dry;
    dry.dry_run = true;
    executors::ApplyResult r = runner.Apply(dry);
    size_t cleanups = 0;
    for (const plans::Step& s : plan.steps) cleanups += s.kind == plans::StepKind::kCleanup ? 1 : 0;
    EXPECT_EQ(cleanups, 2u + targets_.size());  // capture on each source, the way back on each target
    EXPECT_EQ(r.would_run.size(), plan.steps.size() - cleanups);  // all but the cleanup steps
    EXPECT_TRUE(r.ran.empty());
  }
  for (auto& t : targets_) {
    EXPECT_TRUE(t->Introspect({pg() ? "public" : "", "sst_plan", false}).tables.empty()) << "the dry run created a table";
  }
  EXPECT_TRUE(executors::RunState(*s0_, plan.header.name).Load().empty()) << "the dry run recorded state";
  EXPECT_EQ(s0_->Query(Sql("SELECT count(*) AS n FROM pg_trigger WHERE tgrelid = 'sst_plan'::regclass",
                           "SELECT count(*) AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() "
                           "AND EVENT_OBJECT_TABLE = 'sst_plan'")).Text(0, "n"), "0") << "the dry run installed capture";
  s1_->Execute("ALTER TABLE sst_plan ADD COLUMN w int");
  executors::Runner runner(plan, *catalog_);
  try {
    runner.Apply({});
    FAIL() << "a plan whose source changed was applied";
  } catch (const db::Error& e) {
    EXPECT_TRUE(e.is_bad_input());
    EXPECT_NE(std::string(e.what()).find("no longer matches the plan"), std::string::npos) << e.what();
  }
  for (auto& t : targets_) {
    EXPECT_TRUE(t->Introspect({pg() ? "public" : "", "sst_plan", false}).tables.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, ReshardPlanTest, ::testing::Values(db::Engine::kPostgres, db::Engine::kMySQL),
                         EngineParamName);

}  // namespace
}  // namespace shardshift::testing
