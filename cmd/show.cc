#include "cmd/show.h"

#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "plans/plan.h"

namespace shardshift::cmd {

void SetupShowCommand(CLI::App& app, ShowOptions& options) {
  CLI::App* sub = app.add_subcommand("show", "Print a plan: its steps, SQL, locks and estimates");
  sub->add_option("plan", options.plan, "Plan file (TOML, as `shardshift plan` writes it)")->required();
  sub->add_flag("--json", options.json, "Print JSON for machines");
}

int RunShow(const ShowOptions& options) {
  plans::Plan plan = plans::LoadPlan(options.plan);
  if (options.json) {
    std::cout << plans::PlanToJson(plan).dump(2) << "\n";
  } else {
    std::cout << plans::RenderPlanText(plan);
  }
  return 0;
}

}  // namespace shardshift::cmd
