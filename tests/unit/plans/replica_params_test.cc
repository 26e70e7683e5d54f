#include "plans/replica_params.h"

#include <gtest/gtest.h>

#include "plans/input_error.h"

namespace shardshift::plans {
namespace {

Step MakeStep(const std::string& id, StepKind kind, const std::string& database,
              const std::map<std::string, std::string>& params) {
  Step s;
  s.id = id;
  s.kind = kind;
  s.database = database;
  s.params = params;
  return s;
}

// A replica plan as the planner writes it: one logical and one physical replica of 'p'.
Plan Replicas() {
  Plan plan;
  plan.header.name = "reads";
  plan.header.kind = "replica";
  const std::map<std::string, std::string> common = {
      {"primary", "p"},
      {"replicas", R"([{"database":"r1","method":"logical","mode":"async","object":"ss_reads_r1",)"
                   R"("max_lag_bytes":1024,"max_lag_seconds":2.5},)"
                   R"({"database":"r2","method":"physical","mode":"sync","object":"ss_reads_r2",)"
                   R"("max_lag_bytes":2048,"max_lag_seconds":5}])"},
      {"ready_timeout_seconds", "120"}, {"lock_timeout_ms", "2000"}, {"retries", "5"}};
  std::map<std::string, std::string> r1 = common;
  r1["tables"] = R"([{"table":"public.users","key":["id"],"columns":["id","name"]}])";
  std::map<std::string, std::string> r2 = common;
  r2["data_dir"] = "/srv/r2";
  r2["host"] = "127.0.0.1";
  r2["port"] = "5499";
  std::map<std::string, std::string> sync = common;
  sync["sync_names"] = R"(["ss_reads_r2"])";
  auto with = [](std::map<std::string, std::string> m, const std::string& action) {
    m["action"] = action;
    return m;
  };
  plan.steps = {MakeStep("check.p", StepKind::kReplica, "p", with(common, "check_primary")),
                MakeStep("r1.subscribe", StepKind::kReplica, "r1", with(r1, "subscribe")),
                MakeStep("r2.basebackup", StepKind::kReplica, "r2", with(r2, "basebackup")),
                MakeStep("r2.start", StepKind::kReplica, "r2", with(r2, "start_standby")),
                MakeStep("sync", StepKind::kSql, "p", sync),
                MakeStep("r1.verify", StepKind::kVerify, "r1", r1),
                MakeStep("router", StepKind::kReplica, "p", with(common, "router"))};
  return plan;
}

TEST(ReplicaParamsTest, ReadsTheReplicasAndWhatEachStepDoes) {
  const ReplicaParams rp = ReadReplicaParams(Replicas());
  EXPECT_EQ(rp.primary, "p");
  EXPECT_DOUBLE_EQ(rp.ready_timeout_seconds, 120);
  ASSERT_EQ(rp.replicas.size(), 2u);
  ASSERT_NE(rp.Replica("r1"), nullptr);
  EXPECT_EQ(rp.Replica("r1")->method, "logical");
  EXPECT_DOUBLE_EQ(rp.Replica("r1")->max_lag_seconds, 2.5);
  EXPECT_EQ(rp.Replica("r2")->mode, "sync");
  EXPECT_EQ(rp.Replica("p"), nullptr);
  EXPECT_EQ(rp.steps.at("r2.start").port, 5499);
  EXPECT_EQ(rp.steps.at("r2.start").data_dir, "/srv/r2");
  EXPECT_TRUE(rp.steps.at("sync").makes_commits_wait);
  EXPECT_FALSE(rp.steps.at("router").makes_commits_wait);
  ASSERT_EQ(rp.steps.at("r1.verify").tables.size(), 1u);
  EXPECT_EQ(rp.steps.at("r1.verify").tables[0].key, (std::vector<std::string>{"id"}));
  EXPECT_EQ(rp.steps.at("r1.verify").action, "");
}

TEST(ReplicaParamsTest, AHandEditedMistakeIsRefusedNamingTheStepParameterAndLine) {
  struct Case {
    size_t step;
    std::string name, value, says;
  };
  for (const Case& c : std::vector<Case>{
           {0, "replicas", R"([{"database":"r1"}])", "steps[0].params.replicas"},
           {0, "replicas", R"([{"database":"r1","method":"binlog","mode":"async","object":"o",)"
                           R"("max_lag_bytes":1,"max_lag_seconds":1}])", "is not logical, physical or gtid"},
           {0, "replicas", "[]", "names no replica"},
           {0, "ready_timeout_seconds", "ten", "not a number"},
           {1, "action", "subscribe_now", "it is one of"},
           {3, "port", "54x", "not a whole number"},
           {5, "tables", R"([{"table":"public.users"}])", "steps[5].params.tables"},
           {6, "primary", "q", "a plan has one primary"},
           {2, "retries", "9", "check.p"},
       }) {
    Plan p = Replicas();
    p.steps[c.step].params[c.name] = c.value;
    p.steps[c.step].param_pos[c.name] = {"reads.plan.toml", 10 + static_cast<int>(c.step), 1};
    try {
      ReadReplicaParams(p);
      ADD_FAILURE() << c.name << " = " << c.value << " was taken";
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(c.says), std::string::npos) << c.name << ": " << what;
      EXPECT_NE(what.find("reads.plan.toml:" + std::to_string(10 + c.step)), std::string::npos) << what;
    }
  }
}

TEST(ReplicaParamsTest, AStepAboutADatabaseThatIsNoReplicaIsRefused) {
  Plan p = Replicas();
  p.steps[5].database = "r9";  // the verify step, moved by hand
  p.steps[5].pos = {"reads.plan.toml", 61, 1};
  try {
    ReadReplicaParams(p);
    FAIL() << "a verify step about a database the plan does not replicate to was taken";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("reads.plan.toml:61"), std::string::npos) << what;
    EXPECT_NE(what.find("'r9'"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace shardshift::plans
