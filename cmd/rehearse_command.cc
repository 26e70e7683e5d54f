#include "cmd/rehearse_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cmd/apply_command.h"
#include "plans/plan.h"
#include "rehearse/rehearsal.h"

namespace shardshift::cmd {

void SetupRehearseCommand(CLI::App& app, RehearseOptions& options) {
  CLI::App* sub = app.add_subcommand("rehearse",
                                     "Run a plan on a sandbox copy of its databases (schema and "
                                     "sample rows) under a writer; time its steps");
  sub->add_option("plan", options.plan, "Plan file")->required();
  sub->add_option("--sample-rows", options.sample_rows,
                  "Rows copied per table, the first in key order")
      ->check(CLI::PositiveNumber)
      ->default_str("10000");
  sub->add_option("--writes-per-second", options.writes_per_second,
                  "The writer's rate on each table the plan captures or indexes (0 = no writer)")
      ->check(CLI::NonNegativeNumber)
      ->default_str("50");
  sub->add_option("--dir", options.dir, "The sandbox's folder (default: a new one under $TMPDIR)");
  sub->add_flag("--keep", options.keep,
                "Leave the sandbox running and write its config (rehearsal.toml)");
  sub->add_flag("--run-hooks", options.run_hooks,
                "Run the plan's hooks and check command too (with SHARDSHIFT_REHEARSAL=1); by "
                "default they are left out");
  sub->add_flag("--json", options.json, "Print the report as JSON");
}

int RunRehearse(const GlobalOptions& globals, const RehearseOptions& options) {
  const plans::Plan plan = plans::LoadPlan(options.plan);
  const db::Catalog catalog = MakeCatalog(LoadConfigFile(globals));
  rehearse::RehearsalOptions ro;
  ro.sample_rows = options.sample_rows;
  ro.writes_per_second = options.writes_per_second;
  ro.dir = options.dir;
  ro.keep = options.keep;
  ro.progress_bar = ::isatty(STDERR_FILENO) == 1 && globals.log_format != "json";
  ro.run_hooks = options.run_hooks;
  InstallStopSignals();
  ro.stop = &StopRequested();
  const rehearse::RehearsalReport r = rehearse::Rehearse(plan, catalog, ro);
  const bool ok = r.failure.empty() && r.write_errors == 0;
  const rehearse::LockSeen* longest = r.locks.empty() ? nullptr : &r.locks.front();
  if (options.json) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.steps) {
      steps.push_back({{"step", s.id},
                       {"kind", s.kind},
                       {"database", s.database},
                       {"seconds", s.seconds},
                       {"plan_estimate_seconds", s.estimate_seconds}});
    }
    nlohmann::json locks = nlohmann::json::array();
    for (const auto& l : r.locks) {
      locks.push_back({{"database", l.database},
                       {"table", l.table},
                       {"mode", l.mode},
                       {"seconds", l.seconds},
                       {"step", l.step}});
    }
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& t : r.tables) {
      tables.push_back({{"database", t.database},
                        {"table", t.table},
                        {"rows", t.rows},
                        {"real_rows_estimate", t.real_estimate}});
    }
    std::cout << nlohmann::json{{"ok", ok},
                                {"failure", r.failure},
                                {"tables", tables},
                                {"steps", steps},
                                {"locks", locks},
                                {"write_blocked_ms", r.write_blocked_ms},
                                {"verified", r.verified},
                                {"verified_rows", r.verified_rows},
                                {"rows_copied", r.rows_copied},
                                {"changes_replayed", r.changes_replayed},
                                {"writes", r.writes},
                                {"copy_seconds", r.copy_seconds},
                                {"real_rows", r.real_rows},
                                {"seconds", r.seconds},
                                {"write_errors", r.write_errors},
                                {"first_write_error", r.first_write_error},
                                {"write_retries", r.write_retries},
                                {"write_fenced", r.write_fenced},
                                {"first_write_retry", r.first_write_retry},
                                {"slowest_write_ms", r.slowest_write_ms},
                                {"slowest_write_step", r.slowest_write_step},
                                {"notes", r.notes},
                                {"sandbox_config", r.sandbox_config}}
                     .dump(2)
              << "\n";
    return ok ? 0 : 1;
  }
  std::cout << fmt::format("rehearsal of {} ({}) on a sandbox\n", plan.header.name,
                           plan.header.kind);
  for (const auto& t : r.tables) {
    std::cout << fmt::format(
        "  copied {:>8} row(s) of {}.{}{}\n", t.rows, t.database, t.table,
        t.real_estimate > t.rows ? fmt::format(" (of ~{})", t.real_estimate) : "");
  }
  std::cout << fmt::format("{:<44} {:<15} {:<14} {:>9} {:>13}\n", "step", "kind", "database",
                           "seconds", "plan estimate");
  for (const auto& s : r.steps) {
    std::cout << fmt::format("{:<44} {:<15} {:<14} {:>9.3f} {:>12.1f}s\n", s.id, s.kind, s.database,
                             s.seconds, s.estimate_seconds);
  }
  std::cout << fmt::format("the plan ran in {:.1f} s\n", r.seconds);
  if (r.rows_copied > 0 && r.copy_seconds > 0) {
    const double rate = r.rows_copied / r.copy_seconds;
    std::cout << fmt::format("copy: {} row(s) in {:.2f} s ({:.0f} rows/s)", r.rows_copied,
                             r.copy_seconds, rate);
    if (r.real_rows > r.rows_copied) {
      std::cout << fmt::format("; the real tables' ~{} rows would take ~{:.1f} s at this rate",
                               r.real_rows, r.real_rows / rate);
    }
    std::cout << "\n";
  }
  if (longest) {
    std::cout << fmt::format("longest write-blocking lock: {} on {}.{} for ~{:.2f} s{}\n",
                             longest->mode, longest->database, longest->table, longest->seconds,
                             longest->step.empty() ? "" : ", during " + longest->step);
  } else {
    std::cout << "longest write-blocking lock: none seen (polled every 10 ms)\n";
  }
  if (r.write_blocked_ms >= 0)
    std::cout << fmt::format("cutover blocked writes for {} ms\n", r.write_blocked_ms);
  std::cout << fmt::format(
      "writer: {} write(s), {} error(s), {} retried (deadlocks, lock timeouts), slowest {:.0f} "
      "ms{}\n",
      r.writes, r.write_errors, r.write_retries, r.slowest_write_ms,
      r.slowest_write_step.empty() ? "" : " during " + r.slowest_write_step);
  if (r.write_fenced > 0) {
    std::cout << fmt::format("  {} write(s) after the cutover refused by the fence on the sources (the writer "
                             "does not switch; an application following the routing map would)\n",
                             r.write_fenced);
  }
  if (!r.first_write_retry.empty())
    std::cout << "  first retried write: " << r.first_write_retry << "\n";
  if (!r.first_write_error.empty())
    std::cout << "  first writer error: " << r.first_write_error << "\n";
  if (r.verified) {
    std::cout << (r.verified_rows > 0
                      ? fmt::format("verification: {} row(s) agree\n", r.verified_rows)
                      : std::string("verification: passed\n"));
  }
  for (const auto& n : r.notes) std::cout << "note: " << n << "\n";
  if (!r.sandbox_config.empty()) {
    std::cout << fmt::format(
        "sandbox kept: `shardshift --config {} status {}`; stop it with `shardshift sandbox down "
        "--dir {}`\n",
        r.sandbox_config, options.plan, r.sandbox_dir);
  }
  if (!r.failure.empty()) {
    std::cout << "rehearsal failed: " << r.failure << "\n";
  } else {
    std::cout << (ok ? "rehearsal passed: the plan ran through under writes\n"
                     : "rehearsal failed: the writer saw errors\n");
  }
  return ok ? 0 : 1;
}

}  // namespace shardshift::cmd
