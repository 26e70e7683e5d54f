#include "planner/split_advisor.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "db/error.h"

namespace shardshift::planner {

std::vector<SplitAdvice> AdviseSplits(db::Connection& conn, const db::SchemaInfo& schema, const Workload& workload,
                                      const SplitAdviceOptions& options, std::vector<std::string>& notes) {
  const bool pg = conn.engine() == db::Engine::kPostgres;
  if (!workload.known) {
    notes.push_back(workload.note + ": without it no column can be called rarely used, so no split is advised");
    return {};
  }
  std::vector<SplitAdvice> out;
  for (const db::TableInfo& t : schema.tables) {
    if (db::IsShardshiftTable(t.name) || t.primary_key.empty()) continue;
    if (!options.only_table.empty() && schema.FindWritten(options.only_table) != &t) continue;
    // Which statements reference which columns ("*" references all of them).
    std::map<std::string, int64_t> calls_of;
    std::map<std::string, std::vector<std::string>> statements_of;
    int64_t table_calls = 0;
    for (const WorkloadStatement& s : workload.statements) {
      for (const TableUse& use : s.shape.tables) {
        if (schema.FindWritten(use.table) != &t) continue;
        table_calls += s.calls;
        std::set<std::string> used(use.selected.begin(), use.selected.end());
        used.insert(use.equality.begin(), use.equality.end());
        used.insert(use.range.begin(), use.range.end());
        used.insert(use.join.begin(), use.join.end());
        for (const SortColumn& o : use.order_by) used.insert(o.column);
        for (const db::ColumnInfo& c : t.columns) {
          if (used.count(c.name) || used.count("*") || s.shape.statement == "insert") {
            calls_of[c.name] += s.calls;
            statements_of[c.name].push_back(s.sql);
          }
        }
      }
    }
    if (table_calls == 0) continue;
    // Widths: statistics, or a sample.
    std::map<std::string, std::pair<double, std::string>> width;
    for (const db::ColumnInfo& c : t.columns) {
      const db::ColumnStats* st = t.FindStats(c.name);
      if (st && st->avg_width) {
        width[c.name] = {*st->avg_width, "statistics"};
        continue;
      }
      try {
        const std::string col = db::QuoteIdentifier(conn.engine(), c.name);
        db::ResultSet r = conn.Query(
            "SELECT AVG(" + std::string(pg ? "pg_column_size(" + col + ")" : "LENGTH(" + col + ")") + ") AS w FROM (SELECT " +
            col + " FROM " + db::QuoteTable(conn.engine(), {pg ? t.schema : "", t.name}) + " LIMIT " +
            std::to_string(options.sample_rows) + ") _shardshift_s");
        width[c.name] = {std::stod(r.At(0, "w").value_or("0")), "sample"};
      } catch (const db::Error&) {
        width[c.name] = {0, "unknown"};
      }
    }
    SplitAdvice a;
    a.table = t.Shown();
    a.key = t.primary_key;
    a.table_calls = table_calls;
    for (const auto& [c, w] : width) a.row_width += w.first;
    std::set<std::string> join_statements;
    for (const db::ColumnInfo& c : t.columns) {
      if (std::find(a.key.begin(), a.key.end(), c.name) != a.key.end()) continue;
      const auto& [w, how] = width[c.name];
      const int64_t calls = calls_of[c.name];
      const bool large = w >= options.min_width;
      const bool rare = static_cast<double>(calls) <= options.max_reference * static_cast<double>(table_calls);
      if (!large || !rare) continue;
      a.move.push_back({c.name, w, calls, how});
      a.bytes_saved += w;
      for (const std::string& s : statements_of[c.name]) join_statements.insert(s);
    }
    if (a.move.empty()) continue;
    for (const WorkloadStatement& s : workload.statements) {
      if (join_statements.count(s.sql)) a.calls_needing_join += s.calls;
    }
    a.statements_needing_join.assign(join_statements.begin(), join_statements.end());
    std::vector<std::string> cols;
    for (const SplitColumn& m : a.move) {
      cols.push_back(fmt::format("{} ({:.0f} bytes on average, by {}; referenced by {} of {} calls)", m.column,
                                 m.avg_width, m.measured, m.calls, table_calls));
    }
    a.why = fmt::format("{}: the hot path reads {:.0f} of {:.0f} bytes a row fewer ({:.0f}%); {} statement(s), {} "
                        "call(s), would need a join afterwards",
                        fmt::join(cols, "; "), a.bytes_saved, a.row_width,
                        a.row_width > 0 ? 100 * a.bytes_saved / a.row_width : 0.0, a.statements_needing_join.size(),
                        a.calls_needing_join);
    out.push_back(std::move(a));
  }
  std::sort(out.begin(), out.end(), [](const SplitAdvice& x, const SplitAdvice& y) { return x.bytes_saved > y.bytes_saved; });
  return out;
}

}  // namespace shardshift::planner
