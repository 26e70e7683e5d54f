// `advise shard` and `advise split`: printing and spec writing only; the advice is the planner's
// (planner/shard_advisor.h, planner/split_advisor.h).
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cmd/advise_command.h"
#include "db/error.h"
#include "planner/directory_advisor.h"
#include "planner/functional_advisor.h"
#include "planner/shard_advisor.h"
#include "planner/split_advisor.h"
#include "planner/workload.h"
#include "plans/plan.h"

namespace shardshift::cmd {

namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
  spdlog::info("wrote {}; review it, then `shardshift plan` it", path);
}

std::string QuotedList(const std::vector<std::string>& items) {
  std::vector<std::string> q;
  for (const std::string& i : items) q.push_back(plans::TomlQuote(i));
  return fmt::format("[{}]", fmt::join(q, ", "));
}

}  // namespace

namespace {

// Whether text is an integer in plain decimal (the spec takes it bare).
bool IntegerText(const std::string& text) {
  size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
  return i < text.size() && text.size() <= 19 &&
         std::all_of(text.begin() + static_cast<std::ptrdiff_t>(i), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// advise shard --directory: the directory layout's shards, their hot tenants, a move_keys spec.
int AdviseDirectoryLayout(const db::Catalog& catalog, const AdviseOptions& options) {
  if (!catalog.Has(options.directory)) {
    throw db::Error(db::ErrorKind::kBadInput, fmt::format("--directory {}: the config defines no such database (it "
                                                          "defines {})",
                                                          options.directory, fmt::join(catalog.Names(), ", ")));
  }
  if (!options.to.empty() && !catalog.Has(options.to)) {
    throw db::Error(db::ErrorKind::kBadInput, fmt::format("--to {}: the config defines no such database", options.to));
  }
  const planner::DirectoryAdvice a =
      planner::AdviseDirectory(catalog, options.directory, db::TableName::Parse(options.directory_table), options.to,
                               std::chrono::milliseconds(static_cast<int64_t>(options.sample_seconds * 1000)));
  const auto& s = a.suggestion;
  if (options.json) {
    nlohmann::json shards = nlohmann::json::array();
    auto tenant = [&](const planner::TenantLoad& t, bool sampled) {
      nlohmann::json j = {{"key", t.key}, {"rows", t.rows}, {"share", t.share}};
      if (sampled) {
        j["calls"] = t.calls;
        j["writes"] = t.writes;
        j["call_share"] = t.call_share;
        j["write_share"] = t.write_share;
        j["rows_written"] = t.rows_written;
        j["rows_written_share"] = t.rows_written_share;
      }
      return j;
    };
    for (const planner::ShardLoad& l : a.shards) {
      nlohmann::json top = nlohmann::json::array();
      for (const planner::TenantLoad& t : l.top) top.push_back(tenant(t, l.sampled));
      nlohmann::json shard = {{"shard", l.shard}, {"rows", l.rows},
                              {"written", l.written >= 0 ? nlohmann::json(l.written) : nlohmann::json(nullptr)},
                              {"top", top}};
      if (l.sampled) {
        nlohmann::json busiest = nlohmann::json::array();
        for (const planner::TenantLoad& t : l.busiest) busiest.push_back(tenant(t, true));
        shard["sample"] = {{"seconds", l.sample_seconds}, {"statements", l.sampled_statements},
                           {"writes", l.sampled_writes}, {"naming_a_tenant", l.sampled_attributed},
                           {"how", l.sample_note}, {"busiest", busiest},
                           {"rows_written", l.rows_written_known ? nlohmann::json(l.rows_written) : nlohmann::json(nullptr)},
                           {"rows_written_how", l.rows_written_note}};
      }
      shards.push_back(shard);
    }
    std::cout << nlohmann::json{{"directory", options.directory}, {"layout", a.layout.Describe()},
                                {"shard_by", a.layout.shard_by}, {"tables", a.layout.tables}, {"skew", a.skew},
                                {"shards", shards},
                                {"suggestion", s ? nlohmann::json{{"key", s->key}, {"from", s->from}, {"to", s->to},
                                                                  {"rows", s->rows}, {"skew_before", s->skew_before},
                                                                  {"skew_after", s->skew_after}}
                                                 : nlohmann::json(nullptr)}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << fmt::format("directory {} on {}: {} by {}, tables {}; rows skew {:.2f} (max/mean)\n",
                             options.directory_table, options.directory, a.layout.Describe(), a.layout.shard_by,
                             fmt::join(a.layout.tables, ", "), a.skew);
    for (const planner::ShardLoad& l : a.shards) {
      std::cout << fmt::format("\n{}: {} rows{}\n", l.shard, l.rows,
                               l.written >= 0 ? fmt::format(", {} written since the statistics were reset", l.written)
                                              : "");
      for (const planner::TenantLoad& t : l.top) {
        std::cout << fmt::format("  {} {}: {} rows, {:.0f}% of the shard\n", a.layout.shard_by, t.key, t.rows,
                                 100 * t.share);
      }
      if (l.sampled) {
        std::cout << fmt::format("  sampled {:.1f} s: {} statements on its tables ({} writes), {} naming a {} ({})\n",
                                 l.sample_seconds, l.sampled_statements, l.sampled_writes, l.sampled_attributed,
                                 a.layout.shard_by, l.sample_note);
        std::cout << fmt::format("  {}\n", l.rows_written_known ? fmt::format("{} rows written in the window ({})",
                                                                            l.rows_written, l.rows_written_note)
                                                                : l.rows_written_note);
        for (const planner::TenantLoad& t : l.busiest) {
          std::cout << fmt::format("  busiest {} {}: {}{:.0f}% of the sampled calls, {:.0f}% of the sampled writes, {} "
                                   "rows\n",
                                   a.layout.shard_by, t.key,
                                   l.rows_written_known ? fmt::format("{:.0f}% of the rows written ({}), ",
                                                                      100 * t.rows_written_share, t.rows_written)
                                                        : "",
                                   100 * t.call_share, 100 * t.write_share, t.rows);
        }
      }
    }
    if (s) {
      std::cout << fmt::format("\nsuggested: move {} {} ({} rows) from {} to {}: skew {:.2f} -> {:.2f}\n",
                               a.layout.shard_by, s->key, s->rows, s->from, s->to, s->skew_before, s->skew_after);
    } else {
      std::cout << "\nno single tenant's move makes the largest shard smaller\n";
    }
  }
  std::cout.flush();
  if (options.emit_spec.empty()) return 0;
  if (!s) {
    spdlog::info("no move to suggest: {} not written", options.emit_spec);
    return 0;
  }
  Write(options.emit_spec,
        fmt::format("# Written by `shardshift advise shard --directory {}`: {} {} holds {} rows of {}; moving it to {} "
                    "takes the rows skew from {:.2f} to {:.2f}.\n[migration]\nname = {}\nkind = \"move_keys\"\n\n"
                    "[move_keys]\nkeys = [{}]\nto = {}\ntables = {}\n\n[move_keys.directory]\ndatabase = {}\ntable = {}\n",
                    options.directory, a.layout.shard_by, s->key, s->rows, s->from, s->to, s->skew_before,
                    s->skew_after, plans::TomlQuote(AdviceSpecName("move-" + a.layout.shard_by + "-" + s->key)),
                    IntegerText(s->key) ? s->key : plans::TomlQuote(s->key), plans::TomlQuote(s->to),
                    QuotedList(a.layout.tables),
                    plans::TomlQuote(options.directory), plans::TomlQuote(options.directory_table)));
  return 0;
}

}  // namespace

int RunAdviseShard(const GlobalOptions& globals, const AdviseOptions& options) {
  db::Catalog catalog = MakeCatalog(LoadConfigFile(globals));
  if (!options.directory.empty()) return AdviseDirectoryLayout(catalog, options);
  if (options.database.empty()) {
    throw db::Error(db::ErrorKind::kBadInput, "advise shard needs --db DATABASE (or --directory DATABASE for a "
                                              "directory layout)");
  }
  auto conn = catalog.Connect(options.database);
  planner::StopCountingThisSession(*conn);
  const db::SchemaInfo schema = conn->Introspect({"", "", true});
  if (!options.table.empty() && !schema.FindTable(db::TableName::Parse(options.table).schema,
                                                  db::TableName::Parse(options.table).name)) {
    bool found = false;
    for (const db::TableInfo& t : schema.tables) found = found || t.name == db::TableName::Parse(options.table).name;
    if (!found) throw db::Error(db::ErrorKind::kBadInput, "table " + options.table + " does not exist on '" + options.database + "'");
  }
  planner::Workload workload = planner::ReadWorkload(*conn, schema);
  planner::ShardAdviceOptions o;
  o.only_table = options.table;
  o.shards = options.shard_count;
  o.target_shard_bytes = options.target_shard_gb << 30;
  std::vector<std::string> notes;
  std::vector<planner::ShardAdvice> advice = planner::AdviseShards(*conn, schema, workload, o, notes);
  if (options.json) {
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& a : advice) {
      nlohmann::json cands = nlohmann::json::array();
      for (const auto& c : a.candidates) {
        cands.push_back({{"column", c.column}, {"reasons", c.reasons}, {"unique", c.unique}, {"distinct", c.distinct},
                         {"top_value", c.top_value}, {"top_share", c.top_share}, {"hash_skew", c.hash_skew},
                         {"sampled_rows", c.sampled_rows}, {"colocated", c.colocated},
                         {"workload_share", c.workload_share}, {"single_shard_calls", c.single_shard_calls},
                         {"table_calls", c.table_calls}, {"monotonic", c.monotonic}, {"score", c.score},
                         {"why", c.why}});
      }
      tables.push_back({{"table", a.table}, {"rows", a.rows}, {"bytes", a.bytes}, {"shards", a.shards},
                        {"suggested_shards", a.suggested_shards}, {"shards_why", a.shards_why},
                        {"growth", a.growth.known ? nlohmann::json{{"inserted", a.growth.inserted},
                                                                   {"window_seconds", a.growth.seconds},
                                                                   {"since", a.growth.since},
                                                                   {"window_start", a.growth.start},
                                                                   {"rows_per_day", a.growth.per_day},
                                                                   {"is_load", a.growth.fill},
                                                                   {"may_be_lower", a.growth.upper_bound}}
                                                  : nlohmann::json(nullptr)},
                        {"candidates", cands}, {"warnings", a.warnings}});
    }
    std::cout << nlohmann::json{{"database", options.database}, {"tables", tables}, {"notes", notes}}.dump(2) << "\n";
  } else {
    std::cout << fmt::format("{} table(s) on {}\n", advice.size(), options.database);
    for (const auto& a : advice) {
      std::cout << fmt::format("\n{} (~{} rows, {} bytes): {} shard(s) suggested: {}\n", a.table, a.rows, a.bytes,
                               a.suggested_shards, a.shards_why);
      for (size_t i = 0; i < a.candidates.size(); ++i) {
        const auto& c = a.candidates[i];
        std::cout << fmt::format("  {}. {} (score {:.2f})\n     {}\n", i + 1, c.column, c.score, c.why);
      }
      for (const auto& w : a.warnings) std::cout << "  warning: " << w << "\n";
    }
    for (const auto& n : notes) std::cout << "\nnote: " << n << "\n";
  }
  std::cout.flush();  // before any log line on stderr
  if (options.emit_spec.empty()) return 0;
  if (advice.empty() || advice.front().candidates.empty()) {
    spdlog::info("no table to shard: {} not written", options.emit_spec);
    return 0;
  }
  const planner::ShardAdvice& a = advice.front();
  const planner::ShardKeyCandidate& best = a.candidates.front();
  // A key that is not unique by itself keys the rows by itself and the primary key, and is what the
  // routing function hashes (shard_by): every row of one customer on one shard.
  std::vector<std::string> key = {best.column};
  const db::TableInfo* table = schema.FindWritten(a.table);
  if (!best.unique) {
    const db::ColumnInfo* col = table ? table->FindColumn(best.column) : nullptr;
    if (!table || table->primary_key.empty() || !col || col->nullable) {
      spdlog::warn("the best shard key of {}, {}, is not unique by itself and cannot lead a unique key ({}): {} was "
                   "not written", a.table, best.column,
                   col && col->nullable ? "it allows NULL" : "the table has no primary key", options.emit_spec);
      return 0;
    }
    for (const std::string& k : table->primary_key) {
      if (k != best.column) key.push_back(k);
    }
  }
  if (options.targets.size() < 2) {
    throw db::Error(db::ErrorKind::kBadInput, "--emit-spec needs the target databases: --targets a,b,... (at least two)");
  }
  Write(options.emit_spec,
        fmt::format("# Written by `shardshift advise shard --db {}`.\n# {}: {}\n# {}\n[migration]\nname = {}\n"
                    "kind = \"reshard\"\n\n[reshard]\ntable = {}\nkey = {}\nshard_by = [{}]\n\n[reshard.source]\n"
                    "layout = \"single\"\ndatabase = {}\n\n[reshard.target]\ndatabases = {}\n",
                    options.database, best.column, best.why, a.shards_why,
                    plans::TomlQuote(AdviceSpecName("shard-" + a.table + "-by-" + best.column)), plans::TomlQuote(a.table),
                    QuotedList(key), plans::TomlQuote(best.column), plans::TomlQuote(options.database),
                    QuotedList(options.targets)));
  return 0;
}

// --emit-spec of advise split --functional: a move_tables spec of the chosen group. A foreign key
// the cut crosses is dropped at the cutover (named in the spec, where a reviewer sees it): the spec
// plans as written.
int EmitMoveTables(const AdviseOptions& options, const planner::FunctionalAdvice& advice) {
  if (options.emit_spec.empty()) return 0;
  if (advice.groups.empty()) {
    spdlog::info("no group of tables: {} not written", options.emit_spec);
    return 0;
  }
  if (options.group > static_cast<int>(advice.groups.size())) {
    throw db::Error(db::ErrorKind::kBadInput, fmt::format("--group {}: the advice lists {} group(s)", options.group,
                                                          advice.groups.size()));
  }
  const planner::FunctionalGroup& g = advice.groups[static_cast<size_t>(options.group - 1)];
  std::string name = g.tables.front().substr(g.tables.front().find('.') + 1);
  std::string fks = "foreign_keys = \"refuse\"  # no foreign key crosses the cut\n";
  if (!g.foreign_keys_cut.empty()) {
    fks = "# The cut crosses these foreign keys; they are dropped on the source just before the cutover:\n";
    for (const std::string& k : g.foreign_keys_cut) fks += "#   " + k + "\n";
    fks += "foreign_keys = \"drop_at_cutover\"\n";
  }
  Write(options.emit_spec,
        fmt::format("# Written by `shardshift advise split --functional --db {}` (group {}).\n# {}\n[migration]\n"
                    "name = {}\nkind = \"move_tables\"\n\n[move_tables]\nsource = {}\ntarget = {}\ntables = {}\n{}",
                    options.database, options.group, g.why, plans::TomlQuote(AdviceSpecName("move-" + name)),
                    plans::TomlQuote(options.database), plans::TomlQuote(options.target), QuotedList(g.tables), fks));
  return 0;
}

// advise split --functional: groups of tables, what a cut between them crosses.
int RunAdviseFunctional(const GlobalOptions& globals, const AdviseOptions& options) {
  if (!options.emit_spec.empty() && options.target.empty()) {
    throw db::Error(db::ErrorKind::kBadInput,
                    "--emit-spec with --functional writes a move_tables spec: name the database the group moves to "
                    "with --target");
  }
  if (!options.table.empty()) throw db::Error(db::ErrorKind::kBadInput, "--functional looks at every table: drop --table");
  db::Catalog catalog = MakeCatalog(LoadConfigFile(globals));
  auto conn = catalog.Connect(options.database);
  planner::StopCountingThisSession(*conn);
  const db::SchemaInfo schema = conn->Introspect({"", "", true});
  planner::Workload workload = planner::ReadWorkload(*conn, schema);
  std::vector<std::string> notes;
  const planner::FunctionalAdvice advice = planner::AdviseFunctional(*conn, schema, workload, {}, notes);
  if (options.json) {
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : advice.groups) {
      nlohmann::json crossing = nlohmann::json::array();
      for (const auto& c : g.crossing) {
        crossing.push_back({{"statement", c.statement}, {"calls", c.calls}, {"outside", c.outside}});
      }
      groups.push_back({{"tables", g.tables}, {"bytes", g.bytes}, {"rows", g.rows},
                        {"writes_per_day", g.writes_per_day >= 0 ? nlohmann::json(g.writes_per_day) : nlohmann::json(nullptr)},
                        {"calls", g.calls}, {"crossing_calls", g.crossing_calls}, {"crossing_share", g.crossing_share},
                        {"crossing", crossing}, {"foreign_keys_cut", g.foreign_keys_cut}, {"counters", g.counters},
                        {"dependents", g.dependents}, {"why", g.why}});
    }
    std::cout << nlohmann::json{{"database", options.database}, {"groups", groups}, {"alone", advice.alone},
                                {"notes", notes}}.dump(2) << "\n";
    std::cout.flush();
    return EmitMoveTables(options, advice);
  }
  std::cout << fmt::format("{} group(s) of tables on {}\n", advice.groups.size(), options.database);
  for (size_t i = 0; i < advice.groups.size(); ++i) {
    const auto& g = advice.groups[i];
    std::cout << fmt::format("\n{}. {}\n   {}\n", i + 1, fmt::join(g.tables, ", "), g.why);
    for (const auto& c : g.crossing) {
      std::cout << fmt::format("   crosses ({} calls, also {}): {}\n", c.calls, fmt::join(c.outside, ", "), c.statement);
    }
    for (const auto& c : g.counters) std::cout << "   counter to carry: " << c << "\n";
    for (const auto& d : g.dependents) std::cout << "   depends on it: " << d << "\n";
  }
  if (!advice.alone.empty()) std::cout << fmt::format("\nalone: {}\n", fmt::join(advice.alone, ", "));
  for (const auto& n : notes) std::cout << "\nnote: " << n << "\n";
  std::cout.flush();  // before any log line on stderr
  return EmitMoveTables(options, advice);
}

int RunAdviseSplit(const GlobalOptions& globals, const AdviseOptions& options) {
  if (options.functional) return RunAdviseFunctional(globals, options);
  db::Catalog catalog = MakeCatalog(LoadConfigFile(globals));
  auto conn = catalog.Connect(options.database);
  planner::StopCountingThisSession(*conn);
  const db::SchemaInfo schema = conn->Introspect({"", "", true});
  planner::Workload workload = planner::ReadWorkload(*conn, schema);
  planner::SplitAdviceOptions o;
  o.only_table = options.table;
  std::vector<std::string> notes;
  std::vector<planner::SplitAdvice> advice = planner::AdviseSplits(*conn, schema, workload, o, notes);
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& a : advice) {
      nlohmann::json cols = nlohmann::json::array();
      for (const auto& m : a.move) {
        cols.push_back({{"column", m.column}, {"avg_width", m.avg_width}, {"calls", m.calls}, {"measured", m.measured}});
      }
      list.push_back({{"table", a.table}, {"key", a.key}, {"row_width", a.row_width}, {"move", cols},
                      {"bytes_saved", a.bytes_saved}, {"table_calls", a.table_calls},
                      {"calls_needing_join", a.calls_needing_join},
                      {"statements_needing_join", a.statements_needing_join}, {"why", a.why}});
    }
    std::cout << nlohmann::json{{"database", options.database}, {"splits", list}, {"notes", notes}}.dump(2) << "\n";
  } else {
    std::cout << fmt::format("{} split(s) advised on {}\n", advice.size(), options.database);
    for (const auto& a : advice) {
      std::vector<std::string> cols;
      for (const auto& m : a.move) cols.push_back(m.column);
      std::cout << fmt::format("\n{}: move {} to a table keyed by ({})\n  why: {}\n", a.table, fmt::join(cols, ", "),
                               fmt::join(a.key, ", "), a.why);
      for (const auto& s : a.statements_needing_join) std::cout << "  would join: " << s << "\n";
    }
    for (const auto& n : notes) std::cout << "\nnote: " << n << "\n";
  }
  std::cout.flush();
  if (options.emit_spec.empty()) return 0;
  if (advice.empty()) {
    spdlog::info("no split advised: {} not written", options.emit_spec);
    return 0;
  }
  const planner::SplitAdvice& a = advice.front();
  std::vector<std::string> cols;
  for (const auto& m : a.move) cols.push_back(m.column);
  const std::string base = db::TableName::Parse(a.table).name;
  const std::string name = base + "_" + (cols.size() == 1 ? cols[0] : std::string("details"));
  Write(options.emit_spec,
        fmt::format("# Written by `shardshift advise split --db {}`.\n# {}\n[migration]\nname = {}\n"
                    "kind = \"vertical_split\"\n\n[vertical_split]\ndatabase = {}\ntable = {}\nkey = {}\n"
                    "contract = false  # drop the moved columns later, once the application reads the new table\n\n"
                    "[[vertical_split.tables]]\nname = {}\ncolumns = {}\n",
                    options.database, a.why, plans::TomlQuote(AdviceSpecName("split-" + base)), plans::TomlQuote(options.database),
                    plans::TomlQuote(a.table), QuotedList(a.key), plans::TomlQuote(name), QuotedList(cols)));
  return 0;
}

}  // namespace shardshift::cmd
