#include "planner/workload_advisor.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "planner/inspector.h"
#include "planner/workload.h"

namespace shardshift::planner {

namespace {

constexpr double kWorthIt = 0.3;  // recommend when the served statements get at least 30% cheaper

std::string Quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Distinct values of a column as a count (PostgreSQL keeps negative fractions of the rows).
double Distinct(const db::TableInfo& t, const std::string& column) {
  const db::ColumnStats* s = t.FindStats(column);
  if (!s || !s->distinct) return 1;
  const double rows = std::max<double>(1, static_cast<double>(t.row_estimate));
  return *s->distinct < 0 ? -*s->distinct * rows : std::max(1.0, *s->distinct);
}

bool Covered(const db::TableInfo& t, const IndexCandidate& c) {
  for (const db::IndexInfo& idx : t.indexes) {
    if (!idx.valid || idx.columns.size() < c.columns.size() || !idx.predicate.empty()) continue;
    bool lead = true;
    for (size_t i = 0; i < c.columns.size() && lead; ++i) lead = idx.columns[i].name == c.columns[i].column;
    if (!lead) continue;
    bool covers = true;
    for (const std::string& inc : c.include) {
      bool has = std::find(idx.include.begin(), idx.include.end(), inc) != idx.include.end();
      for (const auto& col : idx.columns) has = has || col.name == inc;
      covers = covers && has;
    }
    if (covers) return true;
  }
  return false;
}

std::string Key(const IndexCandidate& c) { return c.Definition(false); }

// Distinct values of a column without statistics: counted in a bounded sample (read-only).
double SampledDistinct(db::Connection& conn, const db::TableInfo& t, const std::string& column) {
  const double d = SampleColumn(conn, t, column, 10'000, false).distinct;
  return d > 0 ? d : 1;
}

// MariaDB: the rows the server's current plan reads from table for a digest, from EXPLAIN
// FORMAT=JSON with each ? filled by a value sampled from the column it is compared with; and how it
// reads them (access_type: ALL is a full scan). nullopt when the statement cannot be explained.
struct ExplainedRead {
  double rows = 0;
  std::string access;
};
std::optional<ExplainedRead> ExplainMariadb(db::Connection& conn, const std::string& digest, const QueryShape& shape,
                                            const std::string& table) {
  std::string sql;
  int param = 0;
  bool in_string = false;
  for (char ch : digest) {
    if (ch == '\'') in_string = !in_string;
    if (in_string || ch != '?') {
      sql += ch;
      continue;
    }
    auto it = shape.params.find(++param);
    if (it == shape.params.end()) {
      sql += "10";  // LIMIT ? and the like
      continue;
    }
    try {
      const db::TableName t = db::TableName::Parse(it->second.first);
      db::ResultSet r = conn.Query("SELECT " + db::QuoteIdentifier(db::Engine::kMySQL, it->second.second) + " AS v FROM " +
                                   db::QuoteTable(db::Engine::kMySQL, {"", t.name}) + " WHERE " +
                                   db::QuoteIdentifier(db::Engine::kMySQL, it->second.second) + " IS NOT NULL LIMIT 1");
      if (r.rows.empty()) return std::nullopt;
      sql += Quote(r.Text(0, "v"));
    } catch (const db::Error&) {
      return std::nullopt;
    }
  }
  try {
    db::ResultSet r = conn.Query("EXPLAIN FORMAT=JSON " + sql);
    const nlohmann::json plan = nlohmann::json::parse(*r.rows.at(0).at(0));
    std::optional<ExplainedRead> found;
    // The table's entry may sit at any depth (nested loops, subqueries).
    std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& j) {
      if (j.is_object()) {
        if (j.contains("table_name") && j["table_name"] == table && j.contains("rows")) {
          found = ExplainedRead{j["rows"].get<double>(), j.value("access_type", "")};
        }
        for (const auto& [k, v] : j.items()) walk(v);
      } else if (j.is_array()) {
        for (const auto& v : j) walk(v);
      }
    };
    walk(plan);
    return found;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

class Planner {
 public:
  explicit Planner(db::Connection& conn) : conn_(conn) {}

  // The statement's total planner cost with sampled values, or nullopt when it cannot be planned.
  // fixed: column -> an SQL literal the statement was seen to use (pg_qualstats), used before a sample.
  std::optional<double> Cost(const std::string& sql, const QueryShape& shape,
                             const std::map<std::string, std::string>& fixed = {}) {
    int max_param = 0;
    for (size_t i = 1; i < 100; ++i) {
      if (sql.find("$" + std::to_string(i)) != std::string::npos) max_param = static_cast<int>(i);
    }
    std::vector<std::string> values;
    for (int n = 1; n <= max_param; ++n) {
      auto it = shape.params.find(n);
      if (it == shape.params.end()) {
        values.push_back("10");  // LIMIT $n and the like
        continue;
      }
      if (auto f = fixed.find(it->second.second); f != fixed.end()) {
        values.push_back(f->second);
        continue;
      }
      std::optional<std::string> v = Sample(it->second.first, it->second.second);
      if (!v) return std::nullopt;
      values.push_back(Quote(*v));
    }
    try {
      conn_.Execute("DEALLOCATE ALL");
      conn_.Execute("PREPARE shardshift_advice AS " + sql);
      std::string args = values.empty() ? "" : "(" + fmt::format("{}", fmt::join(values, ", ")) + ")";
      db::ResultSet r = conn_.Query("EXPLAIN (FORMAT JSON) EXECUTE shardshift_advice" + args);
      conn_.Execute("DEALLOCATE shardshift_advice");
      nlohmann::json plan = nlohmann::json::parse(*r.rows.at(0).at(0));
      return plan.at(0).at("Plan").at("Total Cost").get<double>();
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

 private:
  std::optional<std::string> Sample(const std::string& table, const std::string& column) {
    const std::string key = table + "\n" + column;
    if (auto it = samples_.find(key); it != samples_.end()) return it->second;
    std::optional<std::string> v;
    try {
      const db::TableName t = db::TableName::Parse(table);
      db::ResultSet r = conn_.Query("SELECT " + db::QuoteIdentifier(db::Engine::kPostgres, column) + "::text AS v FROM " +
                                    db::QuoteTable(db::Engine::kPostgres, t) + " WHERE " +
                                    db::QuoteIdentifier(db::Engine::kPostgres, column) + " IS NOT NULL LIMIT 1");
      if (!r.rows.empty()) v = r.Text(0, "v");
    } catch (const db::Error&) {
    }
    samples_[key] = v;
    return v;
  }

  db::Connection& conn_;
  std::map<std::string, std::optional<std::string>> samples_;
};

}  // namespace

std::string IndexCandidate::Name() const {
  std::string n = table;
  for (const auto& c : columns) n += "_" + c.column;
  return (n + (where.empty() ? "_idx" : "_partial_idx")).substr(0, 63);
}

std::string IndexCandidate::Definition(bool concurrently) const {
  std::vector<std::string> cols;
  for (const auto& c : columns) cols.push_back(db::QuoteIdentifier(engine, c.column) + (c.descending ? " DESC" : ""));
  if (engine == db::Engine::kMySQL) {
    return fmt::format("ALTER TABLE {} ADD INDEX {} ({}){}", db::QuoteTable(engine, {"", table}),
                       db::QuoteIdentifier(engine, Name()), fmt::join(cols, ", "),
                       concurrently ? ", ALGORITHM=INPLACE, LOCK=NONE" : "");
  }
  std::string sql = fmt::format("CREATE INDEX {}{} ON {} ({})", concurrently ? "CONCURRENTLY " : "",
                                db::QuoteIdentifier(db::Engine::kPostgres, Name()),
                                db::QuoteTable(db::Engine::kPostgres, {schema, table}), fmt::join(cols, ", "));
  if (!include.empty()) {
    std::vector<std::string> inc;
    for (const auto& c : include) inc.push_back(db::QuoteIdentifier(db::Engine::kPostgres, c));
    sql += fmt::format(" INCLUDE ({})", fmt::join(inc, ", "));
  }
  if (!where.empty()) sql += " WHERE " + where;
  return sql;
}

std::vector<WorkloadFinding> AdviseFromWorkload(db::Connection& conn, const db::SchemaInfo& schema,
                                                const std::string& only_table, std::vector<std::string>& notes) {
  const bool pg = conn.engine() == db::Engine::kPostgres;
  const Workload workload = ReadWorkload(conn, schema, 200);
  if (!workload.known) {
    notes.push_back(workload.note);
    return {};
  }
  bool hypo = false;
  // pg_qualstats: the constants each statement compared a column with by equality, which
  // pg_stat_statements hides behind $n. statement id -> column -> value -> times seen.
  std::map<std::string, std::map<std::string, std::map<std::string, int64_t>>> constants;
  if (pg) {
    std::set<std::string> extensions;
    for (const db::Row& r : conn.Query("SELECT extname FROM pg_extension").rows) extensions.insert(r.at(0).value_or(""));
    hypo = extensions.count("hypopg") > 0;
    if (!hypo) notes.push_back("HypoPG is not installed here: benefits are estimated from statistics alone");
    if (extensions.count("pg_qualstats")) {
      try {
        db::ResultSet quals = conn.Query(
            "SELECT q.queryid::text AS queryid, a.attname AS col, q.constvalue AS value, SUM(q.occurences)::bigint AS n "
            "FROM pg_qualstats() q JOIN pg_attribute a ON a.attrelid = q.lrelid AND a.attnum = q.lattnum "
            "JOIN pg_operator o ON o.oid = q.opno JOIN pg_database d ON d.oid = q.dbid "
            "WHERE d.datname = current_database() AND q.rrelid IS NULL AND q.constvalue IS NOT NULL AND "
            "o.oprname = '=' AND q.queryid IS NOT NULL GROUP BY 1, 2, 3");
        for (size_t i = 0; i < quals.rows.size(); ++i) {
          constants[quals.Text(i, "queryid")][quals.Text(i, "col")][quals.Text(i, "value")] += std::stoll(quals.Text(i, "n"));
        }
      } catch (const db::Error& e) {
        notes.push_back(std::string("pg_qualstats could not be read (") + e.what() + "): constant filters are not seen");
      }
    } else {
      notes.push_back("pg_qualstats is not installed here: filters on a constant other than IS NULL cannot be seen "
                      "(pg_stat_statements shows them as $n), so no partial index is advised for them");
    }
  } else {
    notes.push_back("MariaDB has no hypothetical indexes: benefits are estimated from statistics (or a sample of the "
                    "column), and candidates have no INCLUDE or partial form");
  }
  struct Served {
    std::string sql;
    QueryShape shape;
    int64_t calls;
    std::map<std::string, std::string> fixed;  // column -> the constant pg_qualstats saw most
  };
  std::map<std::string, std::pair<IndexCandidate, std::vector<Served>>> candidates;
  std::map<std::string, int64_t> writes;  // schema.table -> rows written by the workload's statements
  for (const WorkloadStatement& statement : workload.statements) {
    const std::string& sql = statement.sql;
    const QueryShape& shape = statement.shape;
    if (shape.statement == "insert" || shape.statement == "update" || shape.statement == "delete") {
      // Writes in the same window as the reads: what a new index on the table would slow down.
      if (!shape.tables.empty()) {
        if (const db::TableInfo* t = schema.FindWritten(shape.tables.front().table)) {
          writes[t->schema + "." + t->name] += statement.rows;
        }
      }
    }
    if (shape.statement == "insert" || shape.statement == "other") continue;
    if (statement.calls < 2) continue;  // a one-off is no workload
    for (const TableUse& use : shape.tables) {
      const db::TableInfo* t = schema.FindWritten(use.table);
      if (!t) continue;
      if (!only_table.empty() && t->name != only_table && t->schema + "." + t->name != only_table) continue;
      IndexCandidate c;
      c.engine = conn.engine();
      c.schema = t->schema;
      c.table = t->name;
      std::vector<std::string> eq = use.equality;
      // An equality filter that compared with one and the same constant every time pg_qualstats
      // saw the statement (at least twice) becomes a partial index's predicate instead of a key
      // column: status = 'pending' -> WHERE status = 'pending'.
      std::vector<std::string> constant_where;
      if (pg) {
        auto seen = constants.find(statement.id);
        for (auto it = eq.begin(); seen != constants.end() && it != eq.end();) {
          auto col = seen->second.find(*it);
          if (col == seen->second.end() || col->second.size() != 1 || col->second.begin()->second < 2 ||
              (eq.size() < 2 && use.order_by.empty() && use.range.empty())) {  // keep one key column
            ++it;
            continue;
          }
          constant_where.push_back(db::QuoteIdentifier(db::Engine::kPostgres, *it) + " = " + col->second.begin()->first);
          c.constants_seen += col->second.begin()->second;
          it = eq.erase(it);
        }
      }
      for (const std::string& j : use.join) {
        if (std::find(eq.begin(), eq.end(), j) == eq.end()) eq.push_back(j);
      }
      std::stable_sort(eq.begin(), eq.end(),
                       [&](const std::string& a, const std::string& b) { return Distinct(*t, a) > Distinct(*t, b); });
      for (const std::string& e : eq) c.columns.push_back({e, false});
      bool sorted = !use.order_by.empty();
      for (const SortColumn& s : use.order_by) sorted = sorted && t->FindColumn(s.column);
      if (sorted) {
        for (const SortColumn& s : use.order_by) {
          if (std::find(eq.begin(), eq.end(), s.column) == eq.end()) c.columns.push_back(s);
        }
      } else if (!use.range.empty()) {
        c.columns.push_back({use.range.front(), false});
      }
      if (c.columns.empty()) continue;
      for (const std::string& f : use.constant_filters) {
        if (pg && (f.ends_with(" IS NULL") || f.ends_with(" IS NOT NULL"))) {
          c.where += (c.where.empty() ? "" : " AND ") + f;
        }
      }
      for (const std::string& f : constant_where) c.where += (c.where.empty() ? "" : " AND ") + f;
      const bool star = std::find(use.selected.begin(), use.selected.end(), "*") != use.selected.end();
      std::vector<std::string> extra;
      for (const std::string& s : use.selected) {
        const bool in_key = std::any_of(c.columns.begin(), c.columns.end(), [&](const SortColumn& k) { return k.column == s; });
        if (!in_key && t->FindColumn(s)) extra.push_back(s);
      }
      if (pg && shape.statement == "select" && !star && !extra.empty() && extra.size() <= 3) c.include = extra;
      if (Covered(*t, c)) continue;
      auto& entry = candidates[Key(c)];
      entry.first = c;
      std::map<std::string, std::string> fixed;
      if (auto seen = constants.find(statement.id); seen != constants.end()) {
        for (const auto& [column, values] : seen->second) {
          fixed[column] = std::max_element(values.begin(), values.end(), [](const auto& a, const auto& b) {
                            return a.second < b.second;
                          })->first;
        }
      }
      entry.second.push_back({sql, shape, statement.calls, fixed});
    }
  }
  if (workload.unparsed > 0) {
    notes.push_back(fmt::format("{} statement(s) did not parse and were left out", workload.unparsed));
  }

  Planner planner(conn);
  // A statement's cost without any new index, planned once however many candidates serve it.
  std::map<std::string, std::optional<double>> cost_now;
  std::vector<WorkloadFinding> out;
  for (auto& [key, entry] : candidates) {
    WorkloadFinding f;
    f.index = entry.first;
    f.measured_with = hypo ? "hypopg" : "statistics";
    const db::TableInfo* t = schema.FindWritten(f.index.schema + "." + f.index.table);
    f.table_writes = writes[f.index.schema + "." + f.index.table];
    for (const Served& s : entry.second) {
      f.statements.push_back(s.sql);
      f.calls += s.calls;
      if (hypo) {
        auto known = cost_now.find(s.sql);
        if (known == cost_now.end()) known = cost_now.emplace(s.sql, planner.Cost(s.sql, s.shape, s.fixed)).first;
        const std::optional<double> before = known->second;
        conn.Query("SELECT indexrelid FROM hypopg_create_index($1)", {f.index.Definition(false)});
        std::optional<double> after = planner.Cost(s.sql, s.shape, s.fixed);
        db::ResultSet size = conn.Query("SELECT hypopg_relation_size(indexrelid) AS b FROM hypopg_list_indexes LIMIT 1");
        if (!size.rows.empty()) f.size_bytes = std::stoll(size.Text(0, "b"));
        conn.Query("SELECT hypopg_reset()");
        if (!before || !after) continue;
        f.cost_before += *before * static_cast<double>(s.calls);
        f.cost_after += *after * static_cast<double>(s.calls);
      } else {
        // Statistics alone: a scan of the table against a probe for the rows the key selects.
        const double rows = std::max<double>(1, static_cast<double>(t ? t->row_estimate : 1));
        double selected = rows;
        const TableUse* use = nullptr;
        for (const TableUse& u : s.shape.tables) {
          if (t && schema.FindWritten(u.table) == t) use = &u;
        }
        for (const SortColumn& c : f.index.columns) {
          // Only equality columns are counted: a sort or range column narrows less predictably.
          if (!use || std::find(use->equality.begin(), use->equality.end(), c.column) == use->equality.end()) continue;
          const db::ColumnStats* st = t->FindStats(c.column);
          selected /= st && st->distinct ? Distinct(*t, c.column) : SampledDistinct(conn, *t, c.column);
        }
        // MariaDB's own plan says how many rows the statement reads today; a statement that
        // already reads few rows through another index gains little.
        double read_now = rows;
        if (!pg && t) {
          if (std::optional<ExplainedRead> e = ExplainMariadb(conn, s.sql, s.shape, t->name)) {
            read_now = std::max(1.0, e->rows);
            f.explained.push_back(fmt::format("EXPLAIN reads ~{:.0f} rows of {} ({})", e->rows, t->name,
                                              e->access == "ALL" ? "a full scan" : "access " + e->access));
          }
        }
        f.cost_before += read_now * static_cast<double>(s.calls);
        f.cost_after += std::min(read_now, std::max(1.0, selected) + std::log2(rows)) * static_cast<double>(s.calls);
      }
    }
    if (!hypo && !f.explained.empty()) f.measured_with = "explain";
    if (f.cost_before <= 0 || (f.cost_before - f.cost_after) < kWorthIt * f.cost_before) continue;
    // Each write to the table also descends the new index: about its height in page reads at the
    // random-page cost (PostgreSQL's default 4 units), a fanout of some 200 keys a page.
    const double rows = std::max(2.0, static_cast<double>(t ? t->row_estimate : 2));
    f.write_cost = static_cast<double>(f.table_writes) * (std::ceil(std::log(rows) / std::log(200.0)) + 1) * 4.0;
    f.net_benefit = f.cost_before - f.cost_after - f.write_cost;
    if (f.net_benefit <= 0) {
      notes.push_back(fmt::format("{} would save {:.0f} planner units but cost about {:.0f} in {} writes: not advised",
                                  f.index.Name(), f.cost_before - f.cost_after, f.write_cost, f.table_writes));
      continue;
    }
    if (f.index.constants_seen > 0) {
      f.why = fmt::format("the predicate's constant was the same in all {} executions pg_qualstats saw; ",
                          f.index.constants_seen);
    }
    f.why += fmt::format("{} call(s) of {} statement(s) would cost {:.0f} instead of {:.0f} {} ({:.0f}% less, "
                        "{}){}; the table's {} writes would cost about {:.0f} more to keep it: net benefit {:.0f}",
                        f.calls, f.statements.size(), f.cost_after, f.cost_before,
                        hypo ? "planner units" : "rows read", 100 * (1 - f.cost_after / f.cost_before),
                        hypo ? "measured with a HypoPG hypothetical index"
                        : !f.explained.empty()
                            ? "rows the server's plan reads now against rows the index selects; " + f.explained.front()
                            : "estimated from statistics: rows read by a scan against rows the index selects",
                        f.size_bytes > 0 ? fmt::format("; about {} bytes", f.size_bytes) : "", f.table_writes,
                        f.write_cost, f.net_benefit);
    out.push_back(f);
  }
  // A candidate whose columns lead a better one is dropped: the wider one serves its statements.
  std::sort(out.begin(), out.end(), [](const WorkloadFinding& a, const WorkloadFinding& b) {
    return a.net_benefit > b.net_benefit;
  });
  std::vector<WorkloadFinding> kept;
  for (const WorkloadFinding& f : out) {
    bool covered = false;
    for (const WorkloadFinding& k : kept) {
      if (k.index.table != f.index.table || k.index.schema != f.index.schema || k.index.where != f.index.where ||
          k.index.columns.size() < f.index.columns.size()) {
        continue;
      }
      covered = std::equal(f.index.columns.begin(), f.index.columns.end(), k.index.columns.begin());
      if (covered) break;
    }
    if (!covered) kept.push_back(f);
  }
  return kept;
}

}  // namespace shardshift::planner
