#include "cmd/demo.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/globals.h"
#include "planner/inspector.h"
#include "sandbox/sandbox.h"

namespace shardshift::cmd {

void SetupDemoCommand(CLI::App& app, DemoOptions& options) {
  CLI::App* sub = app.add_subcommand("demo", "Run the examples end to end on a local sandbox");
  sub->add_option("--dir", options.dir, "Sandbox folder (default: a new temporary folder)");
  sub->add_option("--examples", options.examples, "The examples folder")
      ->default_str(std::string(SHARDSHIFT_SOURCE_DIR) + "/examples");
  sub->add_flag("--keep", options.keep, "Leave the sandbox running afterwards");
}

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
    for (const std::string& name : seeded) {
      auto t2 = Clock::now();
      db::SchemaInfo schema = reader.Read(name, {});
      std::cout << "\n-- " << name << " (" << catalog.Url(name).Redacted() << ")\n"
                << db::RenderText(schema)
                << fmt::format("   (introspected in {:.2f} s)\n", seconds(t2));
    }
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
    std::cout << "\n== 4. sandbox down\n";
    box.Down();
  }
  std::cout << fmt::format("demo finished in {:.1f} s\n", seconds(t0));
  return rc;
}

}  // namespace shardshift::cmd
