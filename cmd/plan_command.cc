#include "cmd/plan_command.h"

#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "planner/index_planner.h"
#include "planner/replica_planner.h"
#include "planner/move_keys_planner.h"
#include "planner/move_tables_planner.h"
#include "planner/reshard_planner.h"
#include "planner/split_planner.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::cmd {

void SetupPlanCommand(CLI::App& app, PlanOptions& options) {
  CLI::App* sub = app.add_subcommand("plan", "Check a spec against the live databases and write a plan");
  sub->add_option("spec", options.spec, "Spec file (TOML)")->required();
  sub->add_option("-o,--output", options.output, "Write the plan here instead of standard output");
  sub->add_flag("--json", options.json, "Print the plan as JSON");
}

int RunPlan(const GlobalOptions& globals, const PlanOptions& options) {
  plans::Spec spec = plans::LoadSpec(options.spec);
  plans::Config config = LoadConfigFile(globals);
  db::Catalog catalog = MakeCatalog(config);
  planner::EngineSchemaReader reader(catalog);
  plans::Plan plan = spec.kind == plans::MigrationKind::kVerticalSplit ? planner::PlanVerticalSplit(spec, catalog, reader)
                     : spec.kind == plans::MigrationKind::kCreateIndex  ? planner::PlanCreateIndex(spec, catalog, reader)
                     : spec.kind == plans::MigrationKind::kReplica      ? planner::PlanReplica(spec, catalog, reader)
                     : spec.kind == plans::MigrationKind::kMoveTables   ? planner::PlanMoveTables(spec, catalog, reader)
                     : spec.kind == plans::MigrationKind::kMoveKeys     ? planner::PlanMoveKeys(spec, catalog, reader)
                                                                         : planner::PlanReshard(spec, catalog, reader);
  std::string text = options.json ? plans::PlanToJson(plan).dump(2) + "\n" : plans::WritePlanToml(plan);
  if (options.output.empty()) {
    std::cout << text;
  } else {
    std::ofstream out(options.output, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + options.output);
    spdlog::info("wrote {} ({} steps); review it with `shardshift show {}`", options.output, plan.steps.size(),
                 options.output);
  }
  for (const std::string& w : plan.header.warnings) spdlog::warn("{}", w);
  return 0;
}

}  // namespace shardshift::cmd
