#include "cmd/apply_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "executors/directory_runner.h"
#include "executors/index_runner.h"
#include "executors/move_runner.h"
#include "executors/replica_runner.h"
#include "executors/runner.h"
#include "planner/directory_planner.h"
#include "planner/preflight.h"
#include "plans/plan.h"

namespace shardshift::cmd {

void SetupApplyCommand(CLI::App& app, ApplyOptions& options) {
  CLI::App* sub = app.add_subcommand("apply", "Run a plan online; run it again to resume");
  sub->add_option("plan", options.plan, "Plan file")->required();
  sub->add_flag("--dry-run", options.dry_run, "Connect, check every precondition, print what would run; change nothing");
  sub->add_flag("--cleanup", options.cleanup,
                "After the cutover: end the window, remove capture from the sources and the targets (refused "
                "before the cutover, and while writes that reached the sources after it are not on the targets)");
  sub->add_flag("--revert", options.revert,
                "After the cutover, before --cleanup: switch back to the sources (block writes on the targets, copy "
                "their last changes back, fence the targets, unfence the sources, withdraw the routing map)");
  sub->add_flag("--abandon", options.abandon,
                "Give the plan up before its cutover (or after --revert): run the undo statements of what it made, "
                "in reverse (capture, slots, publications, target tables), forget its run state and release its "
                "table; with --dry-run, list them");
  sub->add_flag("--force", options.force, "With --cleanup: drop writes that reached the sources after the cutover");
  sub->add_option("--max-rows-per-second", options.max_rows_per_second, "Throttle the backfill (overrides the plan's max_rows_per_second; 0 = none)")->check(CLI::NonNegativeNumber);
  sub->add_option("--lock-wait", options.lock_wait_seconds,
                  "Seconds to wait for the plan's run lock when another session holds it (a run killed a moment "
                  "ago holds it until its server ends the session) before refusing; 0 refuses at once")
      ->check(CLI::Range(0.0, 3600.0));
  sub->add_flag("--json", options.json, "Print the result as JSON");
  sub->add_flag("--skip-checks", options.skip_checks,
                "Do not run the dry run's checks (privileges, free space, settings) before a real run");
  sub->add_option("--until", options.until, "Stop before the first pending step of this kind (e.g. cutover)")
      ->check(CLI::IsMember({"verify", "cutover", "cleanup", "expand-complete", "expand_complete"}));
  sub->add_flag("--follow", options.follow,
                "With --until expand-complete or --until cutover: keep the new tables current (replay captured "
                "changes) until interrupted with Ctrl-C or SIGTERM, so that a deferred cutover finds no backlog");
}

namespace {

std::atomic<bool> stop_requested{false};

void OnStopSignal(int) { stop_requested = true; }

}  // namespace

std::atomic<bool>& StopRequested() { return stop_requested; }

void InstallStopSignals() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::string DescribeDifferences(const executors::VerifyReport& report) {
  std::string out;
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < report.differences.size() && i < kShown; ++i) {
    const auto& d = report.differences[i];
    out += fmt::format("  key ({}) {} ({})\n", fmt::join(d.key, ", "), executors::DifferenceName(d.kind), d.where);
  }
  if (report.differences_total > static_cast<int64_t>(std::min(report.differences.size(), kShown))) {
    out += fmt::format("  ... and {} more (--json lists them)\n",
                       report.differences_total - static_cast<int64_t>(std::min(report.differences.size(), kShown)));
  }
  return out;
}

int RunApply(const GlobalOptions& globals, const ApplyOptions& options) {
  if (options.follow && options.until != "expand-complete" && options.until != "expand_complete" &&
      options.until != "cutover") {
    throw db::Error(db::ErrorKind::kBadInput, "--follow goes with --until expand-complete or --until cutover");
  }
  plans::Plan plan = plans::LoadPlan(options.plan);
  db::Catalog catalog = MakeCatalog(LoadConfigFile(globals));
  // Every database the plan names must be one the config defines, before anything connects: a
  // plan made with another config would otherwise fail half-way.
  for (const plans::Step& s : plan.steps) {
    if (!catalog.Has(s.database)) {
      throw db::Error(db::ErrorKind::kBadInput,
                      fmt::format("{}: step '{}' runs on database '{}', which the config does not define (it defines "
                                  "{}); nothing was changed",
                                  options.plan, s.id, s.database, fmt::join(catalog.Names(), ", ")));
    }
  }
  std::unique_ptr<executors::Runner> runner;
  std::unique_ptr<executors::IndexRunner> index_runner;
  std::unique_ptr<executors::ReplicaRunner> replica_runner;
  std::unique_ptr<executors::MoveRunner> move_runner;
  std::unique_ptr<executors::DirectoryRunner> directory_runner;
  const auto lock_wait = std::chrono::milliseconds(static_cast<int64_t>(options.lock_wait_seconds * 1000));
  if (plan.header.kind == "create_index") {
    index_runner = std::make_unique<executors::IndexRunner>(plan, catalog, executors::LockMode::kRequire, lock_wait);
  } else if (plan.header.kind == "replica") {
    replica_runner = std::make_unique<executors::ReplicaRunner>(plan, catalog, executors::LockMode::kRequire, lock_wait);
  } else if (plan.header.kind == "move_tables" || plan.header.kind == "move_keys") {
    move_runner = std::make_unique<executors::MoveRunner>(plan, catalog, executors::LockMode::kRequire, lock_wait);
  } else if (planner::IsDirectoryPlan(plan)) {
    directory_runner =
        std::make_unique<executors::DirectoryRunner>(plan, catalog, executors::LockMode::kRequire, lock_wait);
  } else {
    runner = std::make_unique<executors::Runner>(plan, catalog, executors::LockMode::kRequire, lock_wait);
  }
  executors::ApplyOptions run;
  run.dry_run = options.dry_run;
  run.cleanup = options.cleanup;
  run.max_rows_per_second = options.max_rows_per_second;
  run.routing_path = options.plan + (replica_runner ? ".router.toml" : ".routing.toml");
  run.until = options.until == "expand-complete" ? "expand_complete" : options.until;
  run.progress_bar = ::isatty(STDERR_FILENO) == 1 && globals.log_format != "json";
  run.follow = options.follow;
  run.revert = options.revert;
  run.force = options.force;
  run.abandon = options.abandon;
  if (options.abandon && (replica_runner || index_runner)) {
    throw db::Error(db::ErrorKind::kBadInput,
                    "--abandon is for reshard and vertical_split plans (an index plan's builds are undone by its "
                    "steps' undo statements, `shardshift show` lists them)");
  }
  if (options.force && !options.cleanup) throw db::Error(db::ErrorKind::kBadInput, "--force goes with --cleanup");
  if ((options.revert || options.cleanup) && (replica_runner || index_runner) && options.revert) {
    throw db::Error(db::ErrorKind::kBadInput, "--revert is for reshard plans");
  }
  // Always: a signal stops the run at a checkpoint instead of killing it mid-cutover.
  InstallStopSignals();
  run.stop = &StopRequested();
  auto apply = [&](const executors::ApplyOptions& o) {
    return index_runner     ? index_runner->Apply(o)
           : replica_runner ? replica_runner->Apply(o)
           : move_runner    ? move_runner->Apply(o)
           : directory_runner ? directory_runner->Apply(o)
                            : runner->Apply(o);
  };
  // The steps a run would take, as a dry run lists them.
  auto pending_of = [&](const executors::ApplyResult& dry) {
    std::vector<const plans::Step*> pending;
    for (const std::string& id : dry.would_run) {
      for (const plans::Step& s : plan.steps) {
        if (s.id == id) pending.push_back(&s);
      }
    }
    return pending;
  };
  auto describe = [](const plans::Step& s) {
    return s.id + " [" + std::string(plans::StepKindName(s.kind)) + "] on " + s.database;
  };
  if (!options.dry_run && !options.skip_checks && !options.abandon) {
    // The dry run's checks first: a privilege missing on the last shard must not be found after
    // the first ones were changed.
    executors::ApplyOptions probe = run;
    probe.dry_run = true;
    probe.follow = false;
    const planner::PreflightReport checks = planner::Preflight(plan, pending_of(apply(probe)), catalog);
    if (checks.failed()) {
      for (const planner::PreflightCheck& c : checks.checks) {
        if (c.status != "failed") continue;
        spdlog::error("{} {}: {}", c.database, c.what, c.detail);
        if (!c.fix.empty()) spdlog::error("  fix: {}", c.fix);
      }
      throw db::Error(db::ErrorKind::kBadInput,
                      "apply refused before changing anything: the checks above failed (`apply --dry-run` shows them "
                      "all; --skip-checks runs anyway if a check is wrong)");
    }
  }
  executors::ApplyResult r;
  try {
    r = apply(run);
  } catch (const executors::VerificationFailed& e) {
    std::cout << "verification failed: " << e.report().differences_total << " difference(s)\n"
              << DescribeDifferences(e.report());
    return 1;
  } catch (const executors::CutoverAborted& e) {
    std::cout << "cutover aborted: " << e.what() << "\n";
    return StopRequested() ? 130 : 1;
  }
  // A dry run also checks, read-only, what the pending steps need of the live databases.
  std::vector<const plans::Step*> pending;
  planner::PreflightReport preflight;
  if (options.dry_run) {
    pending = pending_of(r);
    preflight = planner::Preflight(plan, pending, catalog);
  }
  if (options.json) {
    nlohmann::json checks = nlohmann::json::array();
    for (const planner::PreflightCheck& c : preflight.checks) {
      checks.push_back({{"database", c.database}, {"check", c.what}, {"status", c.status}, {"detail", c.detail},
                        {"fix", c.fix}});
    }
    nlohmann::json estimates = nlohmann::json::array();
    for (const plans::Step* s : pending) {
      estimates.push_back({{"step", s->id}, {"kind", plans::StepKindName(s->kind)}, {"database", s->database},
                           {"online", s->online}, {"lock", s->lock}, {"rows", s->estimate.rows},
                           {"bytes", s->estimate.bytes}, {"seconds", s->estimate.seconds}});
    }
    nlohmann::json would_run = nlohmann::json::array();
    for (const plans::Step* s : pending) would_run.push_back(describe(*s));
    std::cout << nlohmann::json{{"dry_run", options.dry_run}, {"would_run", would_run}, {"ran", r.ran},
                                {"checks", checks}, {"estimates", estimates},
                                {"rows_copied", r.rows_copied}, {"copy_seconds", r.copy_seconds},
                                {"changes_replayed", r.changes_replayed}, {"write_blocked_ms", r.write_blocked_ms},
                                {"cutover_backlog", r.cutover_backlog}, {"drained_blocked", r.drained_blocked},
                                {"last_changes_checked", r.last_changes_checked},
                                {"verified", r.verified}, {"cleanup_pending", r.cleanup_pending},
                                {"check_pauses", r.check_pauses}, {"retries", r.retries},
                                {"warnings", r.warnings}, {"reverted", r.reverted},
                                {"reverse_replayed", r.reverse_replayed}, {"interrupted", r.interrupted},
                                {"dropped", r.dropped}, {"abandoned", r.abandoned}, {"undone", r.undone}}.dump(2)
              << "\n";
    if (r.interrupted) return 130;
    return preflight.failed() ? 1 : 0;
  }
  if (options.abandon) {
    std::cout << (options.dry_run ? fmt::format("dry run: apply --abandon would run, in order ({} statement(s)); "
                                                "nothing was changed:\n", r.undone.size())
                                  : r.undone.empty()
                                        ? fmt::format("plan '{}' has nothing to undo: no apply of it has run, or it "
                                                      "was abandoned already\n", plan.header.name)
                                        : fmt::format("abandoned plan '{}': {} statement(s) undid what it had made; "
                                                      "its run state and claim are gone\n",
                                                      plan.header.name, r.undone.size()));
    for (const std::string& u : r.undone) std::cout << "  " << u << "\n";
    return 0;
  }
  if (options.dry_run) {
    std::cout << "dry run: every database answered, the plan matches them (no drift), nothing was changed.\n";
    if (!preflight.checks.empty()) std::cout << "checks:\n";
    for (const planner::PreflightCheck& c : preflight.checks) {
      std::cout << fmt::format("  {:<7} {:<12} {:<13} {}\n", c.status, c.database, c.what, c.detail);
      if (!c.fix.empty()) std::cout << fmt::format("  {:<7} {:<12} {:<13} fix: {}\n", "", "", "", c.fix);
    }
    std::cout << (pending.empty() ? "nothing left to run\n" : "would run, in order:\n");
    double seconds = 0;
    for (const plans::Step* step : pending) {
      seconds += step->estimate.seconds;
      std::cout << fmt::format("  {} ~{} rows, ~{}, ~{:.1f} s; {}{}\n", describe(*step), step->estimate.rows,
                               plans::HumanBytes(step->estimate.bytes), step->estimate.seconds,
                               step->online ? "online" : "OFFLINE", step->lock.empty() ? "" : ", lock: " + step->lock);
    }
    if (!pending.empty()) std::cout << fmt::format("estimated time: ~{:.0f} s\n", seconds);
    if (preflight.failed()) {
      std::cout << "dry run found problems: the real run would fail (see the failed checks above)\n";
      return 1;
    }
    return 0;
  }
  if (r.reverted) {
    std::cout << fmt::format("reverted: the sources take writes again\n");
    std::cout << fmt::format("  changes copied back {} (made on the targets)\n", r.reverse_replayed);
    std::cout << fmt::format("  write-blocked      {} ms on the targets ({} key(s) changed last, checked equal)\n",
                             r.write_blocked_ms, r.last_changes_checked);
    std::cout << "  routing map        withdrawn; run `shardshift apply` to switch forward again\n";
    for (const std::string& w : r.warnings) std::cout << "  warning            " << w << "\n";
    return 0;
  }
  std::cout << fmt::format("ran {} step(s)\n", r.ran.size());
  if (r.ran.empty() && r.done_before && !options.cleanup) {
    std::cout << fmt::format("  nothing to do       every step of plan '{}' is recorded as done by an earlier run (the "
                             "run state on {}); to run the same steps again, give the spec another [migration] name "
                             "and plan it again\n",
                             plan.header.name, plan.steps.empty() ? std::string("its first source") : plan.steps.front().database);
  }
  for (const std::string& d : r.dropped) std::cout << "  dropped            " << d << "\n";
  if (r.reverse_replayed > 0) {
    std::cout << fmt::format("  copied back        {} change(s) made on the targets, to the sources (the way back "
                             "stays open until apply --cleanup)\n", r.reverse_replayed);
  }
  if (r.rows_copied > 0) {
    std::cout << fmt::format("  rows copied        {} in {:.1f} s ({:.0f} rows/s)\n", r.rows_copied, r.copy_seconds,
                             r.copy_seconds > 0 ? r.rows_copied / r.copy_seconds : 0.0);
  }
  if (replica_runner) {
    for (const executors::ReplicaHealth& h : replica_runner->Health()) {
      std::cout << fmt::format("  replica            {} ({} {}): {}{}, {} and {:.1f} s behind\n", h.database, h.method,
                               h.mode, h.state, h.ready ? ", ready" : "",
                               h.lag_bytes >= 0 ? fmt::format("{} bytes", h.lag_bytes)
                                                : fmt::format("{} transaction(s)", h.lag_transactions),
                               h.lag_seconds);
    }
    if (r.verified) std::cout << "  verification       every table's checksums agree with the primary\n";
    if (r.routing_published) std::cout << fmt::format("  router file        {}\n", run.routing_path);
    return 0;
  }
  if (directory_runner) {
    // A directory check is not a copy's verification: it counts keys, each looked up.
    if (r.verified) std::cout << fmt::format("  directory check    {} key(s), each routed to the shard that holds it\n", r.verify.source_rows);
    return 0;
  }
  if (!index_runner) std::cout << fmt::format("  changes replayed   {}\n", r.changes_replayed);
  if (r.check_pauses > 0) std::cout << fmt::format("  check command      paused the copy {} time(s)\n", r.check_pauses);
  if (r.retries > 0) std::cout << fmt::format("  retried            {} failure(s) (lost connections, lock timeouts)\n", r.retries);
  if (r.verified) {
    std::cout << fmt::format("  verification       {} rows in {} chunks agree\n", r.verify.source_rows, r.verify.chunks);
  }
  if (r.write_blocked_ms >= 0) {
    std::cout << fmt::format("  write-blocked      {} ms at cutover ({} key(s) changed last, checked equal)\n",
                             r.write_blocked_ms, r.last_changes_checked);
    if (r.cutover_backlog >= 0) {
      std::cout << fmt::format("  caught up first    {} change(s) queued when writes were blocked, {} drained behind "
                               "the block\n",
                               r.cutover_backlog, r.drained_blocked);
    }
    if (r.routing_published && plan.header.kind == "move_keys") {
      std::cout << "  directory          the moved keys' entries name their new shard\n";
    } else if (r.routing_published) {
      std::cout << fmt::format("  routing map        {}\n", run.routing_path);
    }
  }
  for (const std::string& w : r.warnings) std::cout << "  warning            " << w << "\n";
  if (r.interrupted) {
    std::cout << "  interrupted        stopped at a checkpoint by a signal; run apply again to continue\n";
    return 130;
  }
  if (!r.stopped_before.empty()) std::cout << "  stopped before     " << r.stopped_before << " (--until); run apply again to continue\n";
  if (!r.stopped_before.empty() && run.until == "expand_complete") {
    std::cout << "  expand complete    the new tables are complete and kept current: the application may read them\n";
  }
  if (r.cleanup_pending && r.stopped_before.empty()) {
    std::cout << (index_runner ? "  cleanup            pending: `shardshift apply --cleanup` drops what was kept so it could "
                                 "be brought back (IGNORED indexes, the old table of a shadow rebuild) once nothing got "
                                 "slower\n"
                               : "  cleanup            pending: run `shardshift apply --cleanup` once the application uses "
                                 "the targets\n");
  }
  return 0;
}

}  // namespace shardshift::cmd
