#include "cmd/sandbox_command.h"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sandbox/sandbox.h"

namespace shardshift::cmd {

void SetupSandboxCommand(CLI::App& app, SandboxOptions& options) {
  CLI::App* sub = app.add_subcommand(
      "sandbox", "Start, stop or show throwaway PostgreSQL 15 and MariaDB servers on 127.0.0.1");
  sub->add_option("action", options.action, "up, down or status")
      ->required()
      ->check(CLI::IsMember({"up", "down", "status"}));
  sub->add_option("--dir", options.dir, "Folder for the servers' data and the config")
      ->default_str(sandbox::DefaultDir());
  sub->add_flag("--json", options.json, "Print JSON for machines");
  sub->add_flag("--replicas", options.replicas,
                "up: also start a second PostgreSQL and MariaDB (pg2_app, my2_app) and reserve a port for a "
                "physical standby (pgstandby_app), for replica plans");
}

namespace {
nlohmann::json StateJson(const sandbox::SandboxState& s) {
  auto server = [](const sandbox::ServerState& v) {
    return nlohmann::json{{"port", v.port}, {"pid", v.pid}, {"running", v.running},
                          {"data_dir", v.data_dir}};
  };
  nlohmann::json out = {{"dir", s.dir}, {"config", s.config_path}, {"postgres", server(s.postgres)},
                        {"mariadb", server(s.mariadb)}};
  if (s.replicas) {
    out["postgres2"] = server(s.postgres2);
    out["mariadb2"] = server(s.mariadb2);
    out["standby"] = server(s.standby);
  }
  return out;
}

void PrintState(const sandbox::SandboxState& s) {
  std::cout << fmt::format("sandbox in {}\n", s.dir);
  std::cout << fmt::format("  postgres  127.0.0.1:{}  {}\n", s.postgres.port,
                           s.postgres.running ? "running" : "stopped");
  std::cout << fmt::format("  mariadb   127.0.0.1:{}  {}\n", s.mariadb.port,
                           s.mariadb.running ? "running" : "stopped");
  if (s.replicas) {
    std::cout << fmt::format("  postgres2 127.0.0.1:{}  {}  (pg2_app)\n", s.postgres2.port,
                             s.postgres2.running ? "running" : "stopped");
    std::cout << fmt::format("  mariadb2  127.0.0.1:{}  {}  (my2_app)\n", s.mariadb2.port,
                             s.mariadb2.running ? "running" : "stopped");
    std::cout << fmt::format("  standby   127.0.0.1:{}  {}  (pgstandby_app, {})\n", s.standby.port,
                             s.standby.running ? "running" : "not created", s.standby.data_dir);
  }
  std::cout << fmt::format("  config    {}  (use --config {})\n", s.config_path, s.config_path);
}
}  // namespace

int RunSandbox(const SandboxOptions& options) {
  sandbox::Sandbox box(options.dir.empty() ? sandbox::DefaultDir() : options.dir);
  if (options.action == "up") {
    sandbox::SandboxState s = box.Up(options.replicas);
    if (options.json) {
      std::cout << StateJson(s).dump(2) << "\n";
    } else {
      PrintState(s);
      std::cout << fmt::format("  databases {} on each server (config names pg_* and my_*)\n",
                               fmt::join(sandbox::kExampleDatabases, ", "));
    }
    return 0;
  }
  if (options.action == "down") {
    std::string dir = options.dir.empty() ? sandbox::DefaultDir() : options.dir;
    box.Down();
    if (!options.json) std::cout << "sandbox in " << dir << " stopped and removed\n";
    return 0;
  }
  std::optional<sandbox::SandboxState> s = box.Status();
  if (!s) {
    if (options.json) {
      std::cout << nlohmann::json{{"running", false}}.dump(2) << "\n";
    } else {
      std::cout << "no sandbox in " << (options.dir.empty() ? sandbox::DefaultDir() : options.dir) << "\n";
    }
    return 1;
  }
  if (options.json) {
    std::cout << StateJson(*s).dump(2) << "\n";
  } else {
    PrintState(*s);
  }
  return s->postgres.running && s->mariadb.running ? 0 : 1;
}

}  // namespace shardshift::cmd
