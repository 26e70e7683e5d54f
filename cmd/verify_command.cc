#include "cmd/verify_command.h"

#include <algorithm>
#include <ctime>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/apply_command.h"
#include "executors/directory_runner.h"
#include "executors/index_runner.h"
#include "executors/move_runner.h"
#include "executors/replica_runner.h"
#include "executors/runner.h"
#include "planner/directory_planner.h"

namespace shardshift::cmd {

void SetupVerifyCommand(CLI::App& app, VerifyOptions& options) {
  CLI::App* sub = app.add_subcommand("verify", "Compare a plan's sources and targets by checksum; name differing keys");
  sub->add_option("plan", options.plan, "Plan file")->required();
  sub->add_flag("--json", options.json, "Print JSON for machines");
  sub->add_flag("--full", options.full,
                "Compare every row again, even when an earlier comparison stands and only the keys "
                "changed since would be compared (use it after anything may have written around "
                "capture: a restore, a TRUNCATE, a manual fix)");
}

namespace {
// "2026-12-01 03:40:12 UTC, 5 min ago"
std::string AgoText(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
  const int64_t ago = std::max<int64_t>(0, static_cast<int64_t>(std::time(nullptr)) - unix_seconds);
  const std::string span = ago < 120 ? fmt::format("{} s", ago)
                                     : ago < 7200 ? fmt::format("{} min", ago / 60) : fmt::format("{} h", ago / 3600);
  return fmt::format("{}, {} ago", when, span);
}
// A check that yields problems (replicas, indexes, a directory): ok's line when none, else each
// problem; exit 1 when any.
int ReportProblems(const std::vector<std::string>& problems, const VerifyOptions& options, const std::string& ok) {
  if (options.json) {
    std::cout << nlohmann::json{{"ok", problems.empty()}, {"problems", problems}}.dump(2) << "\n";
  } else if (problems.empty()) {
    std::cout << ok;
  } else {
    for (const std::string& p : problems) std::cout << "  " << p << "\n";
  }
  return problems.empty() ? 0 : 1;
}
}  // namespace

int RunVerify(const GlobalOptions& globals, const VerifyOptions& options) {
  plans::Plan plan = plans::LoadPlan(options.plan);
  db::Catalog catalog = MakeCatalog(LoadConfigFile(globals));
  if (plan.header.kind == "replica") {
    return ReportProblems(executors::ReplicaRunner(plan, catalog, executors::LockMode::kNone).Verify(), options,
                          "verified: every replica's tables have the primary's checksums\n");
  }
  if (planner::IsDirectoryPlan(plan)) {
    return ReportProblems(executors::DirectoryRunner(plan, catalog, executors::LockMode::kNone).Verify(), options,
                          "verified: every key on every shard routes, by the directory, to the shard that holds it\n");
  }
  if (plan.header.kind == "create_index") {
    return ReportProblems(executors::IndexRunner(plan, catalog, executors::LockMode::kNone).Verify(), options,
                          fmt::format("verified: every index of the plan is present and valid on its {} step(s)\n",
                                      plan.steps.size()));
  }
  executors::VerifyReport r;
  if (plan.header.kind == "move_tables" || plan.header.kind == "move_keys") {
    r = executors::MoveRunner(plan, catalog, executors::LockMode::kTry).Verify(options.full);
  } else {
    r = executors::Runner(plan, catalog, executors::LockMode::kTry).Verify(options.full);
  }
  if (!r.nothing_to_compare.empty()) {
    if (options.json) {
      std::cout << nlohmann::json{{"ok", true}, {"nothing_to_compare", r.nothing_to_compare}}.dump(2) << "\n";
    } else {
      std::cout << "nothing to compare: " << r.nothing_to_compare << "\n";
    }
    return 0;
  }
  if (options.json) {
    nlohmann::json diffs = nlohmann::json::array();
    for (const auto& d : r.differences) {
      diffs.push_back({{"key", d.key}, {"kind", executors::DifferenceName(d.kind)}, {"where", d.where}});
    }
    std::cout << nlohmann::json{{"ok", r.ok()}, {"chunks", r.chunks}, {"source_rows", r.source_rows},
                                {"target_rows", r.target_rows}, {"differences_total", r.differences_total},
                                {"differences", diffs}, {"pending", r.pending},
                                {"reused_from", r.reused_from > 0 ? nlohmann::json(r.reused_from) : nlohmann::json()},
                                {"keys_rechecked", r.keys_rechecked}}.dump(2) << "\n";
  } else if (r.ok() && r.reused_from > 0) {
    std::cout << fmt::format(
        "verified: the comparison of {} stands ({} source rows and {} target rows agreed in {} chunks); the {} "
        "key(s) changed since agree row by row (--full compares every row again)\n",
        AgoText(r.reused_from), r.source_rows, r.target_rows, r.chunks, r.keys_rechecked);
    if (!r.pending.empty()) {
      std::cout << fmt::format("  {} key(s) differ only by a captured change an apply has not replayed yet\n",
                               r.pending.size());
    }
  } else if (r.ok()) {
    std::cout << fmt::format("verified: {} source rows and {} target rows agree in {} chunks\n", r.source_rows,
                             r.target_rows, r.chunks);
    if (!r.pending.empty()) {
      std::cout << fmt::format("  {} key(s) differ only by a captured change an apply has not replayed yet\n",
                               r.pending.size());
    }
  } else {
    std::cout << fmt::format("{} difference(s) ({} source rows, {} target rows):\n", r.differences_total,
                             r.source_rows, r.target_rows)
              << DescribeDifferences(r);
  }
  return r.ok() ? 0 : 1;
}

}  // namespace shardshift::cmd
