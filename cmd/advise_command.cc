#include "cmd/advise_command.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "planner/index_advisor.h"
#include "planner/workload.h"
#include "planner/workload_advisor.h"
#include "plans/plan.h"

namespace shardshift::cmd {

namespace {

// The table as the spec names it: schema.table on PostgreSQL, the bare name on MariaDB.
std::string Qualified(const planner::IndexCandidate& c) { return c.schema.empty() ? c.table : c.schema + "." + c.table; }

// Proposals that name the same index become one: a foreign key's missing index that a workload
// proposal's key leads with (plain, no predicate) is served by it, and says so there; two
// proposals that would take one name with different definitions get distinct names. So the
// emitted spec plans: `plan` refuses an index named twice.
void MergeProposals(std::vector<planner::IndexFinding>& findings, std::vector<planner::WorkloadFinding>& missing) {
  for (auto f = findings.begin(); f != findings.end();) {
    bool served = false;
    if (f->kind == "missing_fk_index") {
      for (planner::WorkloadFinding& m : missing) {
        if (Qualified(m.index) != f->table && m.index.table != f->table) continue;
        if (!m.index.where.empty() || m.index.columns.size() < f->columns.size()) continue;
        bool leads = true;
        for (size_t i = 0; i < f->columns.size() && leads; ++i) leads = m.index.columns[i].column == f->columns[i];
        if (!leads) continue;
        m.why += "; it also indexes the foreign key: " + f->why;
        served = true;
        break;
      }
    }
    f = served ? findings.erase(f) : f + 1;
  }
  std::set<std::string> taken;
  for (const planner::IndexFinding& f : findings) {
    if (f.kind == "missing_fk_index") taken.insert(f.table + "." + f.index);
  }
  for (planner::WorkloadFinding& m : missing) {
    const std::string base = m.index.Name();
    std::string name = base;
    for (int n = 2; taken.count(Qualified(m.index) + "." + name); ++n) {
      const std::string suffix = fmt::format("_{}", n);
      name = base.substr(0, 63 - suffix.size()) + suffix;
    }
    if (name != base) m.index.name = name;
    taken.insert(Qualified(m.index) + "." + name);
  }
}

// Every proposed drop accounts for the sampled statements whose plan reads through the index now:
// a duplicate's or a redundant index's keeper leads with the same columns and serves them (the
// reason says which and how many); an index the counters call unused but a plan reads through now
// is not proposed (the counters were reset, or the statement runs rarely), and a note says why.
void AccountForReaders(db::Connection& conn, const db::SchemaInfo& schema, const planner::Workload& workload,
                       const std::string& only_table,
                       std::vector<planner::IndexFinding>& findings, std::vector<std::string>& notes) {
  if (std::none_of(findings.begin(), findings.end(), [](const auto& f) { return f.kind != "missing_fk_index"; })) return;
  const auto readers = planner::IndexesReadNow(conn, schema, workload, only_table);
  for (auto f = findings.begin(); f != findings.end();) {
    if (f->kind == "missing_fk_index") {
      ++f;
      continue;
    }
    auto it = readers.find({f->table, f->index});
    int64_t calls = 0;
    if (it != readers.end()) {
      for (const planner::IndexReader& r : it->second) calls += r.calls;
    }
    if (f->kind == "unused" && it != readers.end()) {
      notes.push_back(fmt::format("{} on {} counted no scan, but the server's plan reads through it now for {} sampled "
                                  "statement(s) ({} calls), e.g. {}: not proposed for dropping",
                                  f->index, f->table, it->second.size(), calls, it->second.front().statement));
      f = findings.erase(f);
      continue;
    }
    if (!f->keeper.empty()) {
      f->why += it == readers.end()
                    ? "; no sampled statement's plan reads through it now"
                    : fmt::format("; the plans of {} sampled statement(s) ({} calls) read through it now, and {} "
                                  "serves them by the same leading columns",
                                  it->second.size(), calls, f->keeper);
    }
    ++f;
  }
}

}  // namespace

void SetupAdviseCommand(CLI::App& app, AdviseOptions& options) {
  CLI::App* advise = app.add_subcommand("advise", "Read-only advice on an existing database");
  advise->require_subcommand(1);
  CLI::App* sub = advise->add_subcommand("index", "Duplicate, redundant and unused indexes; foreign keys without one");
  sub->add_option("--db", options.database, "Database name from the config")->required();
  sub->add_option("--table", options.table, "Only this table ([schema.]name)");
  sub->add_flag("--json", options.json, "Print JSON for machines");
  sub->add_option("--emit-spec", options.emit_spec, "Write a create_index spec of the indexes to create here");
  sub->add_option("--shards", options.shards,
                  "The databases the emitted spec builds on (the table's shards); default: --db")
      ->delimiter(',');
  sub->callback([&options] { options.what = "index"; });

  CLI::App* shard = advise->add_subcommand("shard", "Which key to hash-shard each large table on, and how many shards; "
                                                     "with --directory, how a directory layout's shards are loaded");
  shard->add_option("--db", options.database, "Database name from the config (or --directory)");
  shard->add_option("--directory", options.directory,
                    "A directory layout's database: per-shard rows and writes, the tenants that make a shard hot, "
                    "and the move_keys that evens them out");
  shard->add_option("--directory-table", options.directory_table, "The directory's table (default shardshift_directory)");
  shard->add_option("--to", options.to, "With --directory: the database the suggested move goes to (default: the "
                                        "emptiest shard)");
  shard->add_option("--sample", options.sample_seconds,
                    "With --directory: seconds to sample the statements each shard runs, for the tenants they name "
                    "(calls and writes); 0 skips it (default 5)")
      ->check(CLI::Range(0.0, 600.0));
  shard->add_option("--table", options.table, "Only this table ([schema.]name)");
  shard->add_option("--shards", options.shard_count, "The shard count to compute the skew for (default: the suggested one)")
      ->check(CLI::Range(2, 1024));
  shard->add_option("--target-shard-gb", options.target_shard_gb, "A shard this big is full (default 50)")
      ->check(CLI::Range(1, 1 << 20));
  shard->add_option("--targets", options.targets, "The target databases of the emitted reshard spec, in shard order")
      ->delimiter(',');
  shard->add_flag("--json", options.json, "Print JSON for machines");
  shard->add_option("--emit-spec", options.emit_spec,
                    "Write a reshard spec for the best key here (--targets names the shards); with --directory, a "
                    "move_keys spec of the suggested move");
  shard->callback([&options] { options.what = "shard"; });

  CLI::App* split = advise->add_subcommand("split", "Large, rarely used columns that could move to a table of their own");
  split->add_option("--db", options.database, "Database name from the config")->required();
  split->add_option("--table", options.table, "Only this table ([schema.]name)");
  split->add_flag("--json", options.json, "Print JSON for machines");
  split->add_option("--emit-spec", options.emit_spec,
                    "Write a vertical_split spec for the best split here (with --functional: a move_tables spec of a "
                    "group, moved to --target)");
  split->add_flag("--functional", options.functional,
                  "Groups of tables that could move to databases of their own (functional partitioning)");
  split->add_option("--target", options.target, "--functional --emit-spec: the database the group moves to");
  split->add_option("--group", options.group, "--functional --emit-spec: which group, by its number in the list")
      ->check(CLI::PositiveNumber);
  split->callback([&options] { options.what = "split"; });
}

std::string AdviceSpecName(const std::string& prefix) {
  return fmt::format("{}-{:%Y%m%d-%H%M%S}", prefix,
                     fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

int RunAdvise(const GlobalOptions& globals, const AdviseOptions& options) {
  if (options.what == "shard") return RunAdviseShard(globals, options);
  if (options.what == "split") return RunAdviseSplit(globals, options);
  db::Catalog catalog = MakeCatalog(LoadConfigFile(globals));
  auto conn = catalog.Connect(options.database);
  planner::StopCountingThisSession(*conn);  // its sampling and EXPLAINs are not the application's workload
  const db::SchemaInfo schema = conn->Introspect({"", "", true});  // with statistics: the workload advice weighs them
  planner::IndexUsage usage = planner::ReadIndexUsage(*conn);
  std::vector<planner::IndexFinding> findings = planner::AdviseIndexes(conn->engine(), schema, usage, options.table);
  std::vector<std::string> notes;
  const planner::Workload workload = planner::ReadWorkload(*conn, schema, 200);  // read once, for both
  std::vector<planner::WorkloadFinding> missing = planner::AdviseFromWorkload(*conn, schema, workload, options.table, notes);
  MergeProposals(findings, missing);
  AccountForReaders(*conn, schema, workload, options.table, findings, notes);
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : findings) {
      list.push_back({{"kind", f.kind}, {"table", f.table}, {"index", f.index}, {"why", f.why}, {"statement", f.statement}});
    }
    nlohmann::json wl = nlohmann::json::array();
    for (const auto& m : missing) {
      wl.push_back({{"table", Qualified(m.index)}, {"index", m.index.Name()},
                    {"statement", m.index.Definition(true)}, {"why", m.why}, {"measured_with", m.measured_with},
                    {"cost_before", m.cost_before}, {"cost_after", m.cost_after}, {"calls", m.calls},
                    {"table_writes", m.table_writes}, {"write_cost", m.write_cost}, {"net_benefit", m.net_benefit},
                    {"size_bytes", m.size_bytes >= 0 ? nlohmann::json(m.size_bytes) : nlohmann::json(nullptr)},
                    {"serves", m.statements}});
    }
    std::cout << nlohmann::json{{"database", options.database}, {"usage_since", usage.since},
                                {"usage_known", usage.known}, {"findings", list}, {"missing", wl},
                                {"notes", notes}}.dump(2) << "\n";
  } else {
    std::cout << fmt::format("{} finding(s) on {}{}\n", findings.size(), options.database,
                             usage.known ? " (index use counted since " + usage.since + ")"
                                         : " (the server keeps no index use counters: nothing is called unused)");
    for (const auto& f : findings) {
      std::cout << fmt::format("\n{} {} on {}\n  why: {}\n  fix: {}\n", f.kind, f.index, f.table, f.why, f.statement);
    }
    for (const auto& m : missing) {
      std::cout << fmt::format("\nmissing {} on {}\n  why: {}\n  fix: {}\n", m.index.Name(), Qualified(m.index), m.why,
                               m.index.Definition(true));
    }
    for (const auto& n : notes) std::cout << "\nnote: " << n << "\n";
  }
  const bool creates = !missing.empty() || std::any_of(findings.begin(), findings.end(), [](const planner::IndexFinding& f) {
    return f.kind == "missing_fk_index";
  });
  if (!options.emit_spec.empty() && !creates) {
    spdlog::info("no index to create: {} not written", options.emit_spec);
  } else if (!options.emit_spec.empty()) {
    std::vector<std::string> quoted;
    for (const std::string& d : options.shards.empty() ? std::vector<std::string>{options.database} : options.shards) {
      quoted.push_back(plans::TomlQuote(d));
    }
    const std::string shard_list = fmt::format("{}", fmt::join(quoted, ", "));
    const std::string name = AdviceSpecName("advice-" + options.database);
    std::string text = fmt::format("# Written by `shardshift advise index --db {}`: review it, then `shardshift plan` it.\n"
                                   "[migration]\nname = {}\nkind = \"create_index\"\n\n[create_index]\n"
                                   "databases = [{}]\n",
                                   options.database, plans::TomlQuote(name), shard_list);
    for (const auto& f : findings) {
      if (f.kind != "missing_fk_index") continue;
      std::vector<std::string> cols;
      for (const std::string& c : f.columns) cols.push_back(plans::TomlQuote(c));
      text += fmt::format("\n# {}\n[[create_index.indexes]]\ntable = {}\nname = {}\ncolumns = [{}]\n", f.why,
                          plans::TomlQuote(f.table), plans::TomlQuote(f.index), fmt::join(cols, ", "));
    }
    for (const auto& m : missing) {
      std::vector<std::string> cols;
      for (const auto& c : m.index.columns) {
        cols.push_back(plans::TomlQuote((c.expression ? "(" + c.column + ")" : c.column) +
                                        (c.opclass.empty() ? "" : " " + c.opclass) + (c.descending ? " DESC" : "")));
      }
      text += fmt::format("\n# {}\n[[create_index.indexes]]\ntable = {}\nname = {}\ncolumns = [{}]\n", m.why,
                          plans::TomlQuote(Qualified(m.index)), plans::TomlQuote(m.index.Name()),
                          fmt::join(cols, ", "));
      if (!m.index.include.empty()) {
        std::vector<std::string> inc;
        for (const auto& c : m.index.include) inc.push_back(plans::TomlQuote(c));
        text += fmt::format("include = [{}]\n", fmt::join(inc, ", "));
      }
      if (!m.index.where.empty()) text += "where = " + plans::TomlQuote(m.index.where) + "\n";
    }
    for (const auto& f : findings) {
      if (f.kind == "missing_fk_index") continue;
      text += fmt::format("\n# {} index {} on {}: {}\n# (uncomment to drop it; shardshift runs: {})\n"
                          "# [[create_index.drops]]\n# table = {}\n# name = {}\n",
                          f.kind, f.index, f.table, f.why, f.statement, plans::TomlQuote(f.table),
                          plans::TomlQuote(f.index));
    }
    std::ofstream out(options.emit_spec, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + options.emit_spec);
    spdlog::info("wrote {}", options.emit_spec);
  }
  return 0;
}

}  // namespace shardshift::cmd
