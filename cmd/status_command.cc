#include "cmd/status_command.h"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "executors/directory_runner.h"
#include "executors/index_runner.h"
#include "executors/move_runner.h"
#include "executors/replica_runner.h"
#include "executors/runner.h"
#include "planner/directory_planner.h"

namespace shardshift::cmd {

void SetupStatusCommand(CLI::App& app, StatusOptions& options) {
  CLI::App* sub = app.add_subcommand("status", "Show a plan's progress: step states, rows done, changelog backlog");
  sub->add_option("plan", options.plan, "Plan file")->required();
  sub->add_flag("--json", options.json, "Print JSON for machines");
}

int RunStatus(const GlobalOptions& globals, const StatusOptions& options) {
  plans::Plan plan = plans::LoadPlan(options.plan);
  db::Catalog catalog = MakeCatalog(LoadConfigFile(globals));
  nlohmann::json s;
  if (plan.header.kind == "create_index") {
    s = executors::IndexRunner(plan, catalog, executors::LockMode::kNone).Status();
  } else if (plan.header.kind == "replica") {
    s = executors::ReplicaRunner(plan, catalog, executors::LockMode::kNone).Status();
  } else if (plan.header.kind == "move_tables" || plan.header.kind == "move_keys") {
    s = executors::MoveRunner(plan, catalog, executors::LockMode::kNone).Status();
  } else if (planner::IsDirectoryPlan(plan)) {
    s = executors::DirectoryRunner(plan, catalog, executors::LockMode::kNone).Status();
  } else {
    s = executors::Runner(plan, catalog, executors::LockMode::kNone).Status();
  }
  if (options.json) {
    std::cout << s.dump(2) << "\n";
    return 0;
  }
  std::cout << "plan " << plan.header.name << "\n";
  for (const auto& step : s["steps"]) {
    std::string extra;
    if (step.contains("percent")) extra += fmt::format(" ({:.0f}%)", step["percent"].get<double>());
    if (step.contains("rows_per_second") && step["rows_per_second"].get<double>() > 0) {
      extra += fmt::format(", {:.0f} rows/s", step["rows_per_second"].get<double>());
    }
    if (step.contains("eta_seconds")) extra += fmt::format(", about {:.0f} s left", step["eta_seconds"].get<double>());
    std::cout << fmt::format("  {:<10} {:<32} {}{}\n", step["status"].get<std::string>(), step["id"].get<std::string>(),
                             step["detail"].get<std::string>(), extra);
  }
  if (s.contains("direction")) {
    const std::string direction = s["direction"].get<std::string>();
    std::cout << fmt::format("  direction          {}\n",
                             direction == "forward"   ? "forward: the sources are in use; changes flow to the targets"
                             : direction == "reverse" ? "switched: the targets are in use; their changes flow back to "
                                                        "the sources until apply --cleanup (apply --revert switches back)"
                             : direction == "done"    ? "switched and cleaned up"
                                                      : "switched");
  }
  if (s.contains("last_revert")) std::cout << "  last revert        " << s["last_revert"].get<std::string>() << "\n";
  for (const auto& [db, n] : s["changelog_backlog"].items()) {
    std::cout << fmt::format("  changelog backlog on {}: {}\n", db, n.is_null() ? "no capture" : n.dump());
  }
  if (s.contains("reverse_backlog")) {
    for (const auto& [db, n] : s["reverse_backlog"].items()) {
      std::cout << fmt::format("  way-back backlog on {}: {}\n", db, n.is_null() ? "no capture" : n.dump());
    }
  }
  if (s.contains("late_writes") && s["late_writes"].get<int64_t>() > 0) {
    std::cout << fmt::format("  LATE WRITES        {} change(s) reached the sources after the cutover and are on no "
                             "target (the plan does not fence the sources)\n",
                             s["late_writes"].get<int64_t>());
  }
  return 0;
}

}  // namespace shardshift::cmd
