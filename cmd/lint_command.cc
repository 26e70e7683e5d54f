#include "cmd/lint_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "db/catalog.h"
#include "planner/lint.h"
#include "plans/input_error.h"
#include "plans/plan.h"
#include "plans/toml_reader.h"

namespace shardshift::cmd {

void SetupLintCommand(CLI::App& app, LintOptions& options) {
  CLI::App* sub = app.add_subcommand(
      "lint",
      "Find what takes strong locks or rewrites tables in .sql migrations, specs and plans");
  sub->add_option("files", options.files, ".sql migration files, spec and plan .toml files")
      ->required();
  sub->add_option("--format", options.format,
                  "text, json, github (workflow annotations), sarif (2.1.0) or junit (XML)")
      ->check(CLI::IsMember({"text", "json", "github", "sarif", "junit"}));
  sub->add_option(
         "--dialect", options.dialect,
         "The .sql files' dialect: postgres or mariadb (default: --db's engine, else postgres)")
      ->check(CLI::IsMember({"postgres", "mariadb"}));
  sub->add_option("--db", options.database,
                  "Grade lock and rewrite findings by this database's live table sizes (config "
                  "[lint] small_table_mb)");
  sub->add_option("--schema", options.schema,
                  "A schema dump the migration runs against (pg_dump --schema-only, mysqldump "
                  "--no-data): its CREATE TABLEs give the existing columns' types, as --db does "
                  "from a live database");
}

int RunLint(const GlobalOptions& globals, const LintOptions& options) {
  // The config is optional for lint: its [lint] section applies when there is one.
  std::optional<plans::Config> config;
  if (globals.config_given || !options.database.empty() ||
      std::filesystem::exists(globals.config)) {
    config = LoadConfigFile(globals);
  }
  std::optional<db::SchemaInfo> live;
  planner::Workload workload;
  std::string dialect = options.dialect;
  if (!options.database.empty()) {
    db::Catalog catalog = MakeCatalog(*config);
    auto conn = catalog.Connect(options.database);
    db::IntrospectOptions introspect;
    introspect.statistics = false;
    live = conn->Introspect(introspect);
    workload = planner::ReadWorkload(*conn, *live);
    if (dialect.empty()) dialect = live->engine == db::Engine::kPostgres ? "postgres" : "mariadb";
  }
  if (dialect.empty()) dialect = "postgres";
  std::optional<planner::SchemaDump> schema;
  if (!options.schema.empty()) schema = planner::SchemaDump{plans::ReadFileText(options.schema), options.schema};
  const planner::SchemaDump* dump = schema ? &*schema : nullptr;
  std::vector<planner::LintFinding> all;
  for (const std::string& file : options.files) {
    const std::string text = plans::ReadFileText(file);
    std::vector<planner::LintFinding> f;
    if (file.ends_with(".toml")) {
      // A spec has a [migration] table; anything else is read as a plan (whose reader says what is
      // wrong).
      const toml::table root = plans::ParseToml(text, file);
      f = root.contains("migration") ? planner::LintSpec(plans::ParseSpec(text, file), text, file)
                                     : planner::LintPlan(plans::ParsePlan(text, file, false), text, file);
    } else {
      f = dialect == "mariadb" ? planner::LintMariadbSql(text, file, live ? &*live : nullptr, dump)
                               : planner::LintPostgresSql(text, file, live ? &*live : nullptr, dump);
    }
    all.insert(all.end(), f.begin(), f.end());
  }
  if (live) {
    planner::GradeByTableSize(all, *live, options.database,
                              config->lint.small_table_mb * 1024 * 1024);
    planner::GradeByWorkload(all, workload, options.database);
  }
  if (config) planner::ApplyLintSettings(all, config->lint);
  const bool errors =
      std::any_of(all.begin(), all.end(), [](const auto& f) { return f.severity == "error"; });
  if (options.format == "json") {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : all) {
      list.push_back({{"rule", f.rule},
                      {"name", f.name},
                      {"severity", f.severity},
                      {"file", f.file},
                      {"line", f.line},
                      {"column", f.column},
                      {"message", f.message},
                      {"fix", f.fix}});
    }
    std::cout << nlohmann::json{{"findings", list}, {"errors", errors}}.dump(2) << "\n";
  } else if (options.format == "sarif") {
    // SARIF 2.1.0: one run, the rules as the tool's driver rules, each finding a result.
    nlohmann::json rules = nlohmann::json::array();
    for (const planner::LintRule& r : planner::LintRules()) {
      rules.push_back(
          {{"id", r.id},
           {"name", r.name},
           {"defaultConfiguration", {{"level", r.severity}}},  // error, warning, note: SARIF's own levels
           {"help", {{"text", "docs/lint.md, " + r.id}}}});
    }
    nlohmann::json results = nlohmann::json::array();
    for (const auto& f : all) {
      results.push_back(
          {{"ruleId", f.rule},
           {"level", f.severity},
           {"message", {{"text", f.fix.empty() ? f.message : f.message + ". Fix: " + f.fix}}},
           {"locations",
            nlohmann::json::array(
                {{{"physicalLocation",
                   {{"artifactLocation", {{"uri", f.file}}},
                    {"region", {{"startLine", f.line}, {"startColumn", f.column}}}}}}})}});
    }
    nlohmann::json sarif = {
        {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
        {"version", "2.1.0"},
        {"runs",
         nlohmann::json::array(
             {{{"tool",
                {{"driver",
                  {{"name", "shardshift"}, {"version", SHARDSHIFT_VERSION}, {"rules", rules}}}}},
               {"results", results}}})}};
    std::cout << sarif.dump(2) << "\n";
  } else if (options.format == "junit") {
    // JUnit XML: a test case per file; each error-level finding a failure, warnings in system-out.
    auto escape = [](const std::string& t) {
      std::string out;
      for (char c : t) {
        switch (c) {
          case '&':
            out += "&amp;";
            break;
          case '<':
            out += "&lt;";
            break;
          case '>':
            out += "&gt;";
            break;
          case '"':
            out += "&quot;";
            break;
          default:
            out += c;
        }
      }
      return out;
    };
    int failures = 0;
    std::string cases;
    for (const std::string& file : options.files) {
      std::string failed;
      std::string warned;
      for (const auto& f : all) {
        if (f.file != file) continue;
        const std::string line = fmt::format("{}:{}:{}: {} {} {}. Fix: {}", f.file, f.line,
                                             f.column, f.rule, f.name, f.message, f.fix);
        (f.severity == "error" ? failed : warned) += escape(line) + "\n";
      }
      cases +=
          fmt::format("  <testcase classname=\"shardshift.lint\" name=\"{}\">\n", escape(file));
      if (!failed.empty()) {
        ++failures;
        cases += "    <failure message=\"lock or rewrite findings\">" + failed + "</failure>\n";
      }
      if (!warned.empty()) cases += "    <system-out>" + warned + "</system-out>\n";
      cases += "  </testcase>\n";
    }
    std::cout << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              << fmt::format("<testsuite name=\"shardshift lint\" tests=\"{}\" failures=\"{}\">\n",
                             options.files.size(), failures)
              << cases << "</testsuite>\n";
  } else if (options.format == "github") {
    for (const auto& f : all) {
      std::cout << fmt::format("::{} file={},line={},col={},title={} {}::{}{}\n",
                               f.severity == "note" ? "notice" : f.severity, f.file, f.line, f.column, f.rule,
                               f.name, f.message, f.fix.empty() ? "" : " Fix: " + f.fix);
    }
  } else {
    for (const auto& f : all) {
      std::cout << fmt::format("{}:{}:{}: {} {} [{}] {}\n", f.file, f.line, f.column, f.severity, f.rule, f.name,
                               f.message);
      if (!f.fix.empty()) std::cout << "  fix: " << f.fix << "\n";
    }
    std::cout << fmt::format("{} finding(s) in {} file(s)\n", all.size(), options.files.size());
  }
  return errors ? 1 : 0;
}

}  // namespace shardshift::cmd
