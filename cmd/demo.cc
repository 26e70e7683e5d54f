#include "cmd/demo.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/globals.h"
#include "executors/runner.h"
#include "planner/inspector.h"
#include "planner/reshard_planner.h"
#include "plans/plan.h"
#include "plans/spec.h"
#include "planner/preflight.h"
#include "sandbox/sandbox.h"
#include "sandbox/workload.h"

namespace shardshift::cmd {

void SetupDemoCommand(CLI::App& app, DemoOptions& options) {
  CLI::App* sub = app.add_subcommand("demo", "Run the examples end to end on a local sandbox");
  sub->add_option("--dir", options.dir, "Sandbox folder (default: a new temporary folder)");
  sub->add_option("--examples", options.examples, "The examples folder")
      ->default_str(std::string(SHARDSHIFT_SOURCE_DIR) + "/examples");
  sub->add_flag("--keep", options.keep, "Leave the sandbox running afterwards");
}

namespace {

double SecondsSince(std::chrono::steady_clock::time_point from) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
}

// The main job: users on three range shards onto four hash shards while the application writes.
void Reshard(const db::Catalog& catalog, const std::string& examples, const std::string& dir) {
  const std::string spec_path = examples + "/specs/users-reshard.toml";
  const std::string plan_path = dir + "/users.plan.toml";
  std::cout << "\n== 4. plan " << spec_path << "\n";
  plans::Spec spec = plans::LoadSpec(spec_path);
  planner::EngineSchemaReader reader(catalog);
  plans::Plan plan = planner::PlanReshard(spec, catalog, reader);
  {
    std::ofstream out(plan_path);
    out << plans::WritePlanToml(plan);
  }
  std::cout << fmt::format("   {} steps written to {} (review: shardshift show {})\n", plan.steps.size(), plan_path,
                           plan_path);
  for (const std::string& w : plan.header.warnings) std::cout << "   " << w << "\n";
  {
    // What `apply --dry-run` checks, read-only, before anything changes.
    std::vector<const plans::Step*> steps;
    for (const plans::Step& s : plan.steps) steps.push_back(&s);
    const planner::PreflightReport checks = planner::Preflight(plan, steps, catalog);
    std::map<std::string, int> by_status;
    for (const planner::PreflightCheck& c : checks.checks) {
      ++by_status[c.status];
      if (c.status != "ok") std::cout << fmt::format("   {} {} {}: {}\n", c.status, c.database, c.what, c.detail);
    }
    std::cout << fmt::format("   checked before anything changes (apply --dry-run): {} ok, {} warning(s), {} failed\n",
                             by_status["ok"], by_status["warning"], by_status["failed"]);
    if (checks.failed()) throw std::runtime_error("the sandbox failed the checks above");
  }

  std::cout << "== 5. apply up to the cutover while the application writes to the range shards\n";
  sandbox::UsersWorkload app(catalog, {{"pg_range_0", 1, 100000}, {"pg_range_1", 100001, 200000},
                                       {"pg_range_2", 200001, 300000}});
  app.Start();
  executors::ApplyResult copy;
  executors::ApplyOptions run;
  run.routing_path = plan_path + ".routing.toml";
  run.progress_bar = ::isatty(STDERR_FILENO) == 1;
  {
    executors::Runner runner(plan, catalog);
    run.until = "cutover";
    copy = runner.Apply(run);
  }
  int64_t writes = app.Stop();
  std::cout << fmt::format("   copied {} rows in {:.1f} s ({:.0f} rows/s); {} application writes meanwhile, "
                           "{} captured changes replayed\n", copy.rows_copied, copy.copy_seconds,
                           copy.copy_seconds > 0 ? copy.rows_copied / copy.copy_seconds : 0.0, writes,
                           copy.changes_replayed);
  std::cout << fmt::format("   verification: {} rows in {} chunks agree\n", copy.verify.source_rows, copy.verify.chunks);

  std::cout << "== 6. cutover (the application switches to the routing map here)\n";
  executors::Runner runner(plan, catalog);
  run.until.clear();
  executors::ApplyResult cut = runner.Apply(run);
  std::cout << fmt::format("   writes blocked for {} ms; {} last changes drained; routing map {}\n",
                           cut.write_blocked_ms, cut.changes_replayed, run.routing_path);

  std::cout << "== 7. verify again (shardshift verify)\n";
  auto t = std::chrono::steady_clock::now();
  executors::VerifyReport v = runner.Verify();
  std::cout << fmt::format("   {}: {} source rows, {} target rows, {} chunks, {:.1f} s\n",
                           v.ok() ? "equal" : "DIFFERENT", v.source_rows, v.target_rows, v.chunks, SecondsSince(t));
  if (!v.ok()) throw std::runtime_error("the demo's verification found differences");

  std::cout << "== 8. status (shardshift status)\n";
  nlohmann::json status = runner.Status();
  for (const auto& step : status["steps"]) {
    std::cout << fmt::format("   {:<8} {}\n", step["status"].get<std::string>(), step["id"].get<std::string>());
  }
}

}  // namespace

int RunDemo(const DemoOptions& options) {
  namespace fs = std::filesystem;
  using Clock = std::chrono::steady_clock;
  std::string dir = options.dir;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "shardshift-demo-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary folder");
    dir = pattern;
    fs::remove(dir);  // the sandbox wants to create it
  }
  std::string examples = options.examples.empty()
                             ? std::string(SHARDSHIFT_SOURCE_DIR) + "/examples"
                             : options.examples;
  sandbox::Sandbox box(dir);
  auto t0 = Clock::now();
  std::cout << "== 1. sandbox up: PostgreSQL 15 and MariaDB on free 127.0.0.1 ports in " << dir << "\n";
  sandbox::SandboxState state = box.Up();
  auto seconds = [](Clock::time_point from) {
    return std::chrono::duration<double>(Clock::now() - from).count();
  };
  std::cout << fmt::format("   postgres 127.0.0.1:{}, mariadb 127.0.0.1:{} ({:.1f} s)\n",
                           state.postgres.port, state.mariadb.port, seconds(t0));
  int rc = 0;
  try {
    auto t1 = Clock::now();
    std::cout << "== 2. load the example schemas and rows from " << examples << "/seed\n";
    std::vector<std::string> seeded = box.Seed(examples + "/seed");
    std::cout << fmt::format("   seeded {} ({:.1f} s)\n", fmt::join(seeded, ", "), seconds(t1));

    GlobalOptions globals;
    globals.config = state.config_path;
    plans::Config config = LoadConfigFile(globals);
    db::Catalog catalog = MakeCatalog(config);
    planner::EngineSchemaReader reader(catalog);
    std::cout << "== 3. introspect what the planner sees (shardshift inspect --db NAME)\n";
    for (const std::string& name : {std::string("pg_app"), std::string("my_app")}) {
      auto t2 = Clock::now();
      db::SchemaInfo schema = reader.Read(name, {});
      std::cout << "\n-- " << name << " (" << catalog.Url(name).Redacted() << ")\n"
                << db::RenderText(schema)
                << fmt::format("   (introspected in {:.2f} s)\n", seconds(t2));
    }
    Reshard(catalog, examples, dir);
  } catch (...) {
    if (!options.keep) {
      std::cout << "== sandbox down (after a failure)\n";
      box.Down();
    }
    throw;
  }
  if (options.keep) {
    std::cout << fmt::format("\n== sandbox left running: shardshift --config {} inspect --db pg_app\n"
                             "   stop it with: shardshift sandbox down --dir {}\n",
                             state.config_path, dir);
  } else {
    std::cout << "\n== 9. sandbox down\n";
    box.Down();
  }
  std::cout << fmt::format("demo finished in {:.1f} s\n", seconds(t0));
  return rc;
}

}  // namespace shardshift::cmd
