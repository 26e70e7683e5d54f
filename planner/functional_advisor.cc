#include "planner/functional_advisor.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "planner/move_group.h"
#include "planner/shard_advisor.h"

namespace shardshift::planner {

namespace {

// Union-find over table indexes.
class Groups {
 public:
  explicit Groups(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  size_t Find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void Join(size_t a, size_t b) { parent_[Find(a)] = Find(b); }

 private:
  std::vector<size_t> parent_;
};

}  // namespace

FunctionalAdvice AdviseFunctional(db::Connection& conn, const db::SchemaInfo& schema, const Workload& workload,
                                  const FunctionalAdviceOptions& options, std::vector<std::string>& notes) {
  const bool pg = conn.engine() == db::Engine::kPostgres;
  std::vector<const db::TableInfo*> tables;
  std::map<const db::TableInfo*, size_t> index_of;
  for (const db::TableInfo& t : schema.tables) {
    if (db::IsShardshiftTable(t.name)) continue;
    index_of[&t] = tables.size();
    tables.push_back(&t);
  }
  auto shown = [&](size_t i) { return pg ? tables[i]->schema + "." + tables[i]->name : tables[i]->name; };

  // What the workload touches together: per statement, the set of tables (a join, a subquery).
  struct Touch {
    const WorkloadStatement* statement;
    std::set<size_t> tables;
  };
  std::vector<Touch> touches;
  std::vector<int64_t> calls_of(tables.size(), 0);
  std::map<std::pair<size_t, size_t>, int64_t> together;
  for (const WorkloadStatement& s : workload.statements) {
    Touch t{&s, {}};
    for (const TableUse& use : s.shape.tables) {
      const db::TableInfo* info = schema.FindWritten(use.table);
      if (auto it = index_of.find(info); info && it != index_of.end()) t.tables.insert(it->second);
    }
    if (t.tables.empty()) continue;
    for (size_t a : t.tables) {
      calls_of[a] += s.calls;
      for (size_t b : t.tables) {
        if (a < b) together[{a, b}] += s.calls;
      }
    }
    touches.push_back(std::move(t));
  }
  if (!workload.known) {
    notes.push_back(workload.note + ": groups follow the foreign keys alone");
  }

  // Keep together what is read together (a fair share of the less used table's calls), and what a
  // foreign key ties when no statement says otherwise (neither table is read: nothing to weigh).
  Groups groups(tables.size());
  auto keep = [&](size_t a, size_t b, int64_t both) {
    const int64_t less = std::min(calls_of[a], calls_of[b]);
    return both > 0 && static_cast<double>(both) >= options.keep_together * static_cast<double>(less);
  };
  for (const auto& [pair, both] : together) {
    if (keep(pair.first, pair.second, both)) groups.Join(pair.first, pair.second);
  }
  struct Fk {
    size_t from, to;
    std::string text;
  };
  std::vector<Fk> fks;
  for (size_t i = 0; i < tables.size(); ++i) {
    for (const db::ForeignKeyInfo& fk : tables[i]->foreign_keys) {
      const db::TableInfo* ref = pg ? schema.FindTable(fk.ref_schema.empty() ? tables[i]->schema : fk.ref_schema, fk.ref_table)
                                    : schema.FindWritten(fk.ref_table);
      auto it = index_of.find(ref);
      if (!ref || it == index_of.end() || it->second == i) continue;
      const size_t j = it->second;
      fks.push_back({i, j, fmt::format("{}.{} -> {}", tables[i]->name, fmt::join(fk.columns, ","), ref->name)});
      const auto key = std::minmax(i, j);
      const int64_t both = together.count(key) ? together[key] : 0;
      if ((calls_of[i] == 0 && calls_of[j] == 0) || keep(i, j, both)) groups.Join(i, j);
    }
  }

  // Each group, with what moving it away from the rest would cross.
  const std::map<std::string, Growth> growth = ReadGrowth(conn);
  std::map<size_t, std::vector<size_t>> members;
  for (size_t i = 0; i < tables.size(); ++i) members[groups.Find(i)].push_back(i);
  FunctionalAdvice out;
  for (const auto& [root, list] : members) {
    const std::set<size_t> in(list.begin(), list.end());
    if (list.size() == 1) {  // a table nothing keeps with another: it can go anywhere
      out.alone.push_back(shown(list[0]));
      continue;
    }
    FunctionalGroup g;
    double writes = 0;
    bool writes_known = !growth.empty();
    double window = 0;
    for (size_t i : list) {
      g.tables.push_back(shown(i));
      g.bytes += std::max<int64_t>(0, tables[i]->total_bytes);
      g.rows += std::max<int64_t>(0, tables[i]->row_estimate);
      auto it = growth.find(tables[i]->schema + "." + tables[i]->name);
      if (it == growth.end() || it->second.seconds <= 0) {
        writes_known = false;
      } else {
        writes += static_cast<double>(it->second.written) * 86400 / it->second.seconds;
        window = it->second.seconds;
      }
    }
    std::sort(g.tables.begin(), g.tables.end());
    if (writes_known) g.writes_per_day = writes;
    std::map<std::string, CrossingStatement> crossing;
    for (const Touch& t : touches) {
      const bool inside = std::any_of(t.tables.begin(), t.tables.end(), [&](size_t i) { return in.count(i) > 0; });
      if (!inside) continue;
      std::vector<std::string> outside;
      for (size_t i : t.tables) {
        if (!in.count(i)) outside.push_back(shown(i));
      }
      if (outside.empty()) {
        g.calls += t.statement->calls;
        continue;
      }
      g.crossing_calls += t.statement->calls;
      CrossingStatement& c = crossing[t.statement->sql];
      c.statement = t.statement->sql;
      c.calls += t.statement->calls;
      c.outside = outside;
    }
    for (auto& [sql, c] : crossing) g.crossing.push_back(c);
    std::sort(g.crossing.begin(), g.crossing.end(),
              [](const CrossingStatement& a, const CrossingStatement& b) { return a.calls > b.calls; });
    const int64_t all = g.calls + g.crossing_calls;
    g.crossing_share = all > 0 ? static_cast<double>(g.crossing_calls) / static_cast<double>(all) : 0;
    for (const Fk& f : fks) {
      if (in.count(f.from) != in.count(f.to)) g.foreign_keys_cut.push_back(f.text);
    }
    const MoveGroupCheck check = CheckMoveGroup(conn, schema, g.tables);
    g.counters = check.counters;
    g.dependents = check.dependents;
    g.why = fmt::format(
        "{} tables, {} bytes, ~{} rows{}; {} of its {} calls ({:.1f}%) come from {} statement(s) that also touch "
        "other tables and would become joins in the application{}",
        g.tables.size(), g.bytes, g.rows,
        writes_known ? fmt::format(", ~{:.0f} rows written a day (counted over {:.0f} s)", g.writes_per_day, window)
                     : std::string(", write rate unknown"),
        g.crossing_calls, all, 100 * g.crossing_share, g.crossing.size(),
        g.foreign_keys_cut.empty()
            ? std::string("; no foreign key crosses the cut")
            : fmt::format("; foreign keys that cannot cross databases: {}", fmt::join(g.foreign_keys_cut, ", ")));
    out.groups.push_back(std::move(g));
  }
  std::sort(out.groups.begin(), out.groups.end(), [](const FunctionalGroup& a, const FunctionalGroup& b) {
    if (a.tables.size() != b.tables.size()) return a.tables.size() > b.tables.size();
    return a.bytes > b.bytes;
  });
  std::sort(out.alone.begin(), out.alone.end());
  return out;
}

}  // namespace shardshift::planner
