// The shardshift executable: parses the command line, runs one subcommand, and maps what went
// wrong to the exit codes of DESIGN.md: 0 done, 1 failed or found problems, 2 bad input or usage.
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cmd/advise_command.h"
#include "cmd/lint_command.h"
#include "cmd/rehearse_command.h"
#include "cmd/replicas_command.h"
#include "cmd/apply_command.h"
#include "cmd/demo.h"
#include "cmd/globals.h"
#include "cmd/inspect.h"
#include "cmd/plan_command.h"
#include "cmd/sandbox_command.h"
#include "cmd/show.h"
#include "cmd/status_command.h"
#include "cmd/verify_command.h"
#include "db/error.h"
#include "executors/run_state.h"
#include "plans/input_error.h"
#include "sandbox/sandbox.h"

namespace {
constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;
}  // namespace

int main(int argc, char** argv) {
  using namespace shardshift;  // NOLINT: main only
  CLI::App app{"shardshift: plan and run online migrations (resharding, vertical splits, indexes, "
               "replicas) on PostgreSQL and MySQL/MariaDB",
               "shardshift"};
  app.set_version_flag("--version", std::string("shardshift ") + SHARDSHIFT_VERSION);
  app.require_subcommand(1);
  cmd::GlobalOptions globals;
  cmd::SetupGlobalOptions(app, globals);
  cmd::PlanOptions plan;
  cmd::SetupPlanCommand(app, plan);
  cmd::ApplyOptions apply;
  cmd::SetupApplyCommand(app, apply);
  cmd::StatusOptions status;
  cmd::SetupStatusCommand(app, status);
  cmd::VerifyOptions verify;
  cmd::SetupVerifyCommand(app, verify);
  cmd::ShowOptions show;
  cmd::SetupShowCommand(app, show);
  cmd::InspectOptions inspect;
  cmd::SetupInspectCommand(app, inspect);
  cmd::SandboxOptions sandbox_options;
  cmd::SetupSandboxCommand(app, sandbox_options);
  cmd::DemoOptions demo;
  cmd::SetupDemoCommand(app, demo);
  cmd::AdviseOptions advise;
  cmd::ReplicasOptions replicas;
  cmd::LintOptions lint;
  cmd::SetupAdviseCommand(app, advise);
  cmd::SetupReplicasCommand(app, replicas);
  cmd::SetupLintCommand(app, lint);
  cmd::RehearseOptions rehearse;
  cmd::SetupRehearseCommand(app, rehearse);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitBadInput;
  }
  cmd::SetupLogging(globals);
  try {
    if (app.got_subcommand("plan")) return cmd::RunPlan(globals, plan);
    if (app.got_subcommand("apply")) return cmd::RunApply(globals, apply);
    if (app.got_subcommand("status")) return cmd::RunStatus(globals, status);
    if (app.got_subcommand("verify")) return cmd::RunVerify(globals, verify);
    if (app.got_subcommand("show")) return cmd::RunShow(show);
    if (app.got_subcommand("inspect")) return cmd::RunInspect(globals, inspect);
    if (app.got_subcommand("sandbox")) return cmd::RunSandbox(sandbox_options);
    if (app.got_subcommand("demo")) return cmd::RunDemo(demo);
    if (app.got_subcommand("advise")) return cmd::RunAdvise(globals, advise);
    if (app.got_subcommand("replicas")) return cmd::RunReplicas(globals, replicas);
    if (app.got_subcommand("lint")) return cmd::RunLint(globals, lint);
    if (app.got_subcommand("rehearse")) return cmd::RunRehearse(globals, rehearse);
  } catch (const plans::InputError& e) {
    spdlog::error("{}", e.what());
    return kExitBadInput;
  } catch (const db::Error& e) {
    // Bad input is exit 2 only while nothing has changed: a server lost in the middle of a run
    // that had started is a failed run (exit 1), resumed by running apply again.
    const bool started = executors::RunHasStarted();
    spdlog::error("{}{}", e.what(), started && e.is_bad_input() ? " (the run had started: run apply again to resume)" : "");
    return e.is_bad_input() && !started ? kExitBadInput : kExitFailed;
  } catch (const sandbox::SandboxError& e) {
    spdlog::error("{}", e.what());
    return e.kind() == sandbox::SandboxError::Kind::kFailed ? kExitFailed : kExitBadInput;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitFailed;
  }
  return kExitBadInput;
}
