#include "cmd/replicas_command.h"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "executors/replica_runner.h"
#include "plans/plan.h"

namespace shardshift::cmd {

void SetupReplicasCommand(CLI::App& app, ReplicasOptions& options) {
  CLI::App* sub = app.add_subcommand("replicas", "Watch the replicas of a replica plan");
  sub->add_option("action", options.action, "status")->required()->check(CLI::IsMember({"status"}));
  sub->add_option("plan", options.plan, "Plan file (kind replica)")->required();
  sub->add_flag("--json", options.json, "Print JSON for machines");
}

int RunReplicas(const GlobalOptions& globals, const ReplicasOptions& options) {
  plans::Plan plan = plans::LoadPlan(options.plan);
  if (plan.header.kind != "replica") {
    throw db::Error(db::ErrorKind::kBadInput, options.plan + " is a " + plan.header.kind + " plan, not a replica plan");
  }
  db::Catalog catalog = MakeCatalog(LoadConfigFile(globals));
  std::vector<executors::ReplicaHealth> health =
      executors::ReplicaRunner(plan, catalog, executors::LockMode::kNone).Health();
  bool healthy = true;
  nlohmann::json list = nlohmann::json::array();
  for (const executors::ReplicaHealth& h : health) {
    healthy = healthy && h.healthy();
    list.push_back({{"database", h.database}, {"method", h.method}, {"mode", h.mode}, {"state", h.state},
                    {"lag_bytes", h.lag_bytes}, {"lag_seconds", h.lag_seconds},
                    {"lag_transactions", h.lag_transactions}, {"sync_state", h.sync_state},
                    {"last_error", h.last_error}, {"ready", h.ready},
                    // What the plan set up that does not hold now (a sync replica whose commits do
                    // not wait, semi-sync off after a restart): also exit 1.
                    {"promises_kept", h.unkept.empty()}, {"unkept", h.unkept},
                    // Not replicating at all (as opposed to only behind): stopped, failing or never set up.
                    {"broken", h.state == "stopped" || h.state == "broken" || h.state == "not set up"}});
  }
  if (options.json) {
    std::cout << nlohmann::json{{"plan", plan.header.name}, {"healthy", healthy}, {"replicas", list}}.dump(2) << "\n";
  } else {
    std::cout << fmt::format("plan {}: {}\n", plan.header.name, healthy ? "every replica is ready" : "NOT HEALTHY");
    for (const executors::ReplicaHealth& h : health) {
      std::string lag = h.lag_bytes >= 0 ? fmt::format("{} bytes", h.lag_bytes)
                        : h.lag_transactions >= 0 ? fmt::format("{} transaction(s)", h.lag_transactions)
                                                  : "? bytes";
      std::cout << fmt::format("  {:<20} {:<8} {:<9} {:<10} behind {}, {}{}{}\n", h.database, h.method, h.mode, h.state,
                               lag, h.lag_seconds >= 0 ? fmt::format("{:.1f} s", h.lag_seconds) : "? s",
                               h.ready ? "  ready" : "  NOT READY",
                               h.last_error.empty() ? "" : "\n      last error: " + h.last_error);
      for (const std::string& what : h.unkept) std::cout << "      NOT IN FORCE: " << what << "\n";
    }
  }
  return healthy ? 0 : 1;
}

}  // namespace shardshift::cmd
