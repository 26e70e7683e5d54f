#include "plans/replica_params.h"

#include "plans/input_error.h"
#include "plans/step_params.h"

namespace shardshift::plans {

const ReplicaEntryParams* ReplicaParams::Replica(const std::string& database) const {
  for (const ReplicaEntryParams& r : replicas) {
    if (r.database == database) return &r;
  }
  return nullptr;
}

ReplicaParams ReadReplicaParams(const Plan& plan) {
  if (plan.header.kind != "replica" || plan.steps.empty()) {
    throw InputError({}, "plan.kind", "plan '" + plan.header.name + "' is not a replica plan (kind " +
                                          plan.header.kind + ", " + std::to_string(plan.steps.size()) + " steps)");
  }
  ReplicaParams out;
  out.pace = ReadPace(plan);
  {
    const StepParams p(plan.steps.front(), 0);
    out.primary = p.Required("primary");
    out.ready_timeout_seconds = p.Decimal("ready_timeout_seconds", 600);
    out.replicas = p.Read("replicas", "", [](const nlohmann::json& j) {
      std::vector<ReplicaEntryParams> rs;
      for (const nlohmann::json& r : j) {
        ReplicaEntryParams e{r.at("database").get<std::string>(), r.at("method").get<std::string>(),
                             r.at("mode").get<std::string>(),     r.at("object").get<std::string>(),
                             r.at("max_lag_bytes").get<int64_t>(), r.at("max_lag_seconds").get<double>()};
        if (e.method != "logical" && e.method != "physical" && e.method != "gtid") {
          throw std::invalid_argument("replica '" + e.database + "': method \"" + e.method +
                                      "\" is not logical, physical or gtid");
        }
        if (e.mode != "async" && e.mode != "sync" && e.mode != "semi-sync") {
          throw std::invalid_argument("replica '" + e.database + "': mode \"" + e.mode +
                                      "\" is not async, sync or semi-sync");
        }
        rs.push_back(std::move(e));
      }
      return rs;
    });
    if (out.replicas.empty()) throw p.Error("replicas", "names no replica");
  }
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& s = plan.steps[i];
    const StepParams p(s, i);
    if (p.Has("primary") && p.Text("primary") != out.primary) {
      throw p.Error("primary", "is '" + p.Text("primary") + "' but step '" + plan.steps.front().id + "' says '" +
                                   out.primary + "': a plan has one primary");
    }
    ReplicaStepParams sp;
    sp.action = p.OneOf("action", s.kind == StepKind::kReplica
                                      ? std::vector<std::string>{"check_primary", "subscribe", "basebackup",
                                                                 "start_standby", "dump_copy", "change_master",
                                                                 "wait_lag", "manual", "router"}
                                      : std::vector<std::string>{""});
    sp.blocked = p.Text("blocked");
    sp.tables = p.Read("tables", "[]", [](const nlohmann::json& j) {
      std::vector<ReplicaTableParams> ts;
      for (const nlohmann::json& t : j) {
        ts.push_back({t.at("table").get<std::string>(), t.at("key").get<std::vector<std::string>>(),
                      t.at("columns").get<std::vector<std::string>>()});
      }
      return ts;
    });
    sp.data_dir = p.Text("data_dir");
    sp.host = p.Text("host");
    sp.port = p.Number("port", 0);
    sp.makes_commits_wait = p.Has("sync_names");
    const bool about_replica = s.kind == StepKind::kVerify || sp.action == "subscribe" || sp.action == "basebackup" ||
                               sp.action == "start_standby" || sp.action == "dump_copy" ||
                               sp.action == "change_master" || sp.action == "wait_lag";
    if (about_replica && out.Replica(s.database) == nullptr) {
      throw InputError(s.pos, "steps[" + std::to_string(i) + "].database",
                       "step '" + s.id + "' is about database '" + s.database +
                           "', which is not one of the plan's replicas (steps[0].params.replicas)");
    }
    if ((sp.action == "basebackup" || sp.action == "start_standby") && sp.data_dir.empty()) {
      throw p.Error("data_dir", "is missing: the step needs the standby's data folder");
    }
    out.steps[s.id] = std::move(sp);
  }
  return out;
}

}  // namespace shardshift::plans
