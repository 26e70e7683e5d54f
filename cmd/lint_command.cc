#include "cmd/lint_command.h"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "planner/lint.h"
#include "plans/input_error.h"
#include "plans/plan.h"
#include "plans/toml_reader.h"

namespace shardshift::cmd {

void SetupLintCommand(CLI::App& app, LintOptions& options) {
  CLI::App* sub = app.add_subcommand("lint", "Find statements in .sql migrations that take strong locks or rewrite tables");
  sub->add_option("files", options.files, "PostgreSQL .sql files")->required();
  sub->add_option("--format", options.format, "text, json, or github (workflow annotations)")
      ->check(CLI::IsMember({"text", "json", "github"}));
}

int RunLint(const LintOptions& options) {
  std::vector<planner::LintFinding> all;
  for (const std::string& file : options.files) {
    std::vector<planner::LintFinding> f = planner::LintPostgresSql(plans::ReadFileText(file), file);
    all.insert(all.end(), f.begin(), f.end());
  }
  const bool errors = std::any_of(all.begin(), all.end(), [](const auto& f) { return f.severity == "error"; });
  if (options.format == "json") {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : all) {
      list.push_back({{"rule", f.rule}, {"name", f.name}, {"severity", f.severity}, {"file", f.file}, {"line", f.line},
                      {"column", f.column}, {"message", f.message}, {"fix", f.fix}});
    }
    std::cout << nlohmann::json{{"findings", list}, {"errors", errors}}.dump(2) << "\n";
  } else if (options.format == "github") {
    for (const auto& f : all) {
      std::cout << fmt::format("::{} file={},line={},col={},title={} {}::{} Fix: {}\n",
                               f.severity == "error" ? "error" : "warning", f.file, f.line, f.column, f.rule, f.name,
                               f.message, f.fix);
    }
  } else {
    for (const auto& f : all) {
      std::cout << fmt::format("{}:{}:{}: {} {} [{}] {}\n  fix: {}\n", f.file, f.line, f.column, f.severity, f.rule,
                               f.name, f.message, f.fix);
    }
    std::cout << fmt::format("{} finding(s) in {} file(s)\n", all.size(), options.files.size());
  }
  return errors ? 1 : 0;
}

}  // namespace shardshift::cmd
