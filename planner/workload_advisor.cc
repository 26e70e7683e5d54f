#include "planner/workload_advisor.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "planner/inspector.h"
#include "planner/workload.h"
#include "plans/spec.h"

namespace shardshift::planner {

namespace {

constexpr double kWorthIt = 0.3;  // recommend when the served statements get at least 30% cheaper

std::string Quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A sampled value standing in for a LIKE parameter: its first half as a prefix pattern.
std::string AsPrefix(const std::string& value) {
  std::string p = value.substr(0, std::max<size_t>(3, value.size() / 2));
  std::string out;
  for (char c : p) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

// The operator class a LIKE-prefix key column needs: none under the C collation, else the type's
// *_pattern_ops (PostgreSQL cannot read a range of a linguistic ordering for LIKE).
std::string PatternOpclass(const db::ColumnInfo& c, const std::string& database_collation) {
  std::string collation = c.collation.empty() ? database_collation : c.collation;
  std::erase(collation, '"');
  if (collation == "C" || collation == "POSIX" || collation == "pg_catalog.C" || collation == "pg_catalog.POSIX") return "";
  if (c.type.starts_with("character varying") || c.type.starts_with("varchar")) return "varchar_pattern_ops";
  if (c.type.starts_with("character") || c.type.starts_with("bpchar")) return "bpchar_pattern_ops";
  return "text_pattern_ops";
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
  std::string key;  // the index it reads through, "" for none
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
      db::ResultSet r = conn.Query("SELECT " + db::QuoteIdentifier(db::Engine::kMySQL, it->second.second) + " AS _shardshift_v FROM " +
                                   db::QuoteTable(db::Engine::kMySQL, {"", t.name}) + " WHERE " +
                                   db::QuoteIdentifier(db::Engine::kMySQL, it->second.second) + " IS NOT NULL LIMIT 1");
      if (r.rows.empty()) return std::nullopt;
      sql += Quote(shape.like_params.count(param) ? AsPrefix(r.Text(0, "_shardshift_v")) : r.Text(0, "_shardshift_v"));
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
          found = ExplainedRead{j["rows"].get<double>(), j.value("access_type", ""),
                                j.contains("key") && j["key"].is_string() ? j["key"].get<std::string>() : ""};
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

// MariaDB has no hypothetical indexes. Whether its optimizer would read the table through a
// candidate is asked of the server itself, on a sample copy: a temporary table (this session's
// only, out of the binary log) with the table's definition and its first kProbeRows rows, the
// candidate added, standing in for the table under its name while each statement is EXPLAINed.
// Nothing else is touched: only DROP TEMPORARY TABLE runs against the table's name, and the rows
// are read without locks (READ COMMITTED). nullopt when
// the copy cannot be made (no CREATE TEMPORARY TABLES privilege, say); else for each statement the
// rows the optimizer expects to read through the candidate, scaled from the copy to the table, or
// nullopt where it would not choose the candidate.
constexpr int kProbeRows = 20'000;
std::optional<std::vector<std::optional<double>>> MariadbWouldUse(db::Connection& conn, const db::TableInfo& t, const IndexCandidate& c,
                                                 const std::vector<std::pair<std::string, QueryShape>>& statements,
                                                 std::string& error) {
  const db::Engine my = db::Engine::kMySQL;
  const std::string probe = db::QuoteIdentifier(my, "_shardshift_probe");
  std::vector<std::string> columns;
  for (const db::ColumnInfo& col : t.columns) {
    if (col.generated.empty()) columns.push_back(db::QuoteIdentifier(my, col.name));
  }
  std::vector<std::string> key;
  for (const SortColumn& k : c.columns) key.push_back(db::QuoteIdentifier(my, k.column) + (k.descending ? " DESC" : ""));
  bool shadowing = false;
  std::optional<std::vector<std::optional<double>>> out;
  try {
    try {
      conn.Execute("SET SESSION sql_log_bin = 0");
    } catch (const db::Error&) {
      // Without the privilege the temporary table is logged only under binlog_format = STATEMENT.
    }
    conn.Execute("DROP TEMPORARY TABLE IF EXISTS " + probe);
    conn.Execute("CREATE TEMPORARY TABLE " + probe + " LIKE " + db::QuoteTable(my, {"", t.name}));
    // Under REPEATABLE READ, INSERT … SELECT takes shared locks on the rows it reads: it would wait
    // for the application's writers and make them wait. Under READ COMMITTED it is a consistent
    // read and locks nothing.
    const std::string isolation = conn.Query("SELECT @@session.tx_isolation AS i").Text(0, "i");
    conn.Execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    try {
      conn.Execute(fmt::format("INSERT INTO {0} ({1}) SELECT {1} FROM {2} LIMIT {3}", probe, fmt::join(columns, ", "),
                               db::QuoteTable(my, {"", t.name}), kProbeRows));
    } catch (const db::Error&) {
      conn.Execute("SET SESSION tx_isolation = " + Quote(isolation));
      throw;
    }
    conn.Execute("SET SESSION tx_isolation = " + Quote(isolation));
    conn.Execute(fmt::format("ALTER TABLE {} ADD INDEX {} ({})", probe, db::QuoteIdentifier(my, c.Name()), fmt::join(key, ", ")));
    conn.Query("ANALYZE TABLE " + probe);
    const double copied = std::stod(conn.Query("SELECT COUNT(*) AS n FROM " + probe).Text(0, "n"));
    const double scale = copied > 0 ? std::max(1.0, static_cast<double>(t.row_estimate) / copied) : 1;
    conn.Execute("ALTER TABLE " + probe + " RENAME TO " + db::QuoteIdentifier(my, t.name));
    shadowing = true;
    std::vector<std::optional<double>> used;
    for (const auto& [sql, shape] : statements) {
      std::optional<ExplainedRead> e = ExplainMariadb(conn, sql, shape, t.name);
      if (e && e->key.find(c.Name()) != std::string::npos) {
        used.push_back(std::max(1.0, e->rows * scale));
      } else {
        used.push_back(std::nullopt);
      }
    }
    out = used;
  } catch (const db::Error& e) {
    error = e.what();
  }
  try {
    conn.Execute("DROP TEMPORARY TABLE IF EXISTS " + (shadowing ? db::QuoteIdentifier(my, t.name) : probe));
  } catch (const db::Error&) {
  }
  return out;
}

class Planner {
 public:
  explicit Planner(db::Connection& conn) : conn_(conn) {}

  // The statement's total planner cost with sampled values, or nullopt when it cannot be planned.
  // fixed: column -> an SQL literal the statement was seen to use (pg_qualstats), used before a sample.
  std::optional<double> Cost(const std::string& sql, const QueryShape& shape,
                             const std::map<std::string, std::string>& fixed = {}) {
    std::optional<nlohmann::json> plan = Plan(sql, shape, fixed);
    if (!plan) return std::nullopt;
    try {
      return plan->at(0).at("Plan").at("Total Cost").get<double>();
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // EXPLAIN (FORMAT JSON) of the statement with sampled values, or nullopt.
  std::optional<nlohmann::json> Plan(const std::string& sql, const QueryShape& shape,
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
      values.push_back(Quote(shape.like_params.count(n) ? AsPrefix(*v) : *v));
    }
    try {
      conn_.Execute("DEALLOCATE ALL");
      conn_.Execute("PREPARE _shardshift_advice AS " + sql);
      std::string args = values.empty() ? "" : "(" + fmt::format("{}", fmt::join(values, ", ")) + ")";
      db::ResultSet r = conn_.Query("EXPLAIN (FORMAT JSON) EXECUTE _shardshift_advice" + args);
      conn_.Execute("DEALLOCATE _shardshift_advice");
      return nlohmann::json::parse(*r.rows.at(0).at(0));
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
      db::ResultSet r = conn_.Query("SELECT " + db::QuoteIdentifier(db::Engine::kPostgres, column) + "::text AS _shardshift_v FROM " +
                                    db::QuoteTable(db::Engine::kPostgres, t) + " WHERE " +
                                    db::QuoteIdentifier(db::Engine::kPostgres, column) + " IS NOT NULL LIMIT 1");
      if (!r.rows.empty()) v = r.Text(0, "_shardshift_v");
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
  if (!name.empty()) return name;
  std::string n = table;
  for (const auto& c : columns) n += "_" + plans::IndexNamePart(c.column);
  return (n + (where.empty() ? "_idx" : "_partial_idx")).substr(0, 63);
}

std::string IndexCandidate::Definition(bool concurrently) const {
  std::vector<std::string> cols;
  for (const auto& c : columns) {
    cols.push_back((c.expression ? "(" + c.column + ")" : db::QuoteIdentifier(engine, c.column)) +
                   (c.opclass.empty() ? "" : " " + c.opclass) + (c.descending ? " DESC" : ""));
  }
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
                                                const Workload& workload, const std::string& only_table,
                                                std::vector<std::string>& notes) {
  const bool pg = conn.engine() == db::Engine::kPostgres;
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
    if (hypo) {
      try {  // installed, but this user may not be allowed to use it
        conn.Query("SELECT hypopg_reset()");
        conn.Query("SELECT count(*) AS n FROM hypopg_list_indexes");
      } catch (const db::Error& e) {
        hypo = false;
        notes.push_back(std::string("HypoPG is installed but cannot be used by this user (") + e.what() +
                        "): benefits are estimated from statistics alone");
      }
    }
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
    notes.push_back(fmt::format("MariaDB has no hypothetical indexes: each candidate is built on a temporary copy of "
                                "its table's first {} rows, and the rows the optimizer expects to read through it "
                                "(scaled to the table) are weighed against what the statement reads today; candidates "
                                "have no INCLUDE, partial or expression form",
                                kProbeRows));
  }
  struct Served {
    std::string sql;
    QueryShape shape;
    int64_t calls;
    std::map<std::string, std::string> fixed;  // column -> the constant pg_qualstats saw most
  };
  std::map<std::string, std::pair<IndexCandidate, std::vector<Served>>> candidates;
  std::vector<std::string> expression_notes;  // table:expression already noted (MariaDB)
  std::string database_collation;
  if (pg) {
    try {
      database_collation =
          conn.Query("SELECT datcollate FROM pg_database WHERE datname = current_database()").Text(0, "datcollate");
    } catch (const db::Error&) {
    }
  }
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
      for (const std::string& e : eq) c.columns.push_back({e, false, false, ""});
      for (const std::string& e : use.expressions) {
        if (pg) {
          c.columns.push_back({e, false, true, ""});
        } else if (std::find(expression_notes.begin(), expression_notes.end(), t->name + ":" + e) == expression_notes.end()) {
          expression_notes.push_back(t->name + ":" + e);
          std::string expr = e;
          std::replace(expr.begin(), expr.end(), '"', '`');
          notes.push_back(fmt::format("{} is filtered by {} in {} call(s): MariaDB 10.11 cannot index an expression, "
                                      "so no index is advised for it; an indexed virtual column can serve it (ALTER "
                                      "TABLE {} ADD COLUMN {}_v <type> AS ({}) VIRTUAL, ADD INDEX ({}_v)) once the "
                                      "statement compares that column",
                                      t->name, expr, statement.calls, t->name, plans::IndexNamePart(e), expr, plans::IndexNamePart(e)));
        }
      }
      bool sorted = !use.order_by.empty();
      for (const SortColumn& s : use.order_by) sorted = sorted && t->FindColumn(s.column);
      if (sorted) {
        for (const SortColumn& s : use.order_by) {
          if (std::find(eq.begin(), eq.end(), s.column) == eq.end()) c.columns.push_back(s);
        }
      } else if (!use.range.empty()) {
        c.columns.push_back({use.range.front(), false, false, ""});
      } else if (!use.prefix.empty()) {
        const db::ColumnInfo* col = t->FindColumn(use.prefix.front());
        if (col) c.columns.push_back({col->name, false, false, pg ? PatternOpclass(*col, database_collation) : ""});
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
  double min_saving = 12;  // three random page reads at PostgreSQL's default random_page_cost
  if (hypo) {
    try {
      min_saving = 3 * std::stod(conn.Query("SELECT current_setting('random_page_cost') AS c").Text(0, "c"));
    } catch (const std::exception&) {
    }
  }
  // A statement's cost without any new index, planned once however many candidates serve it.
  std::map<std::string, std::optional<double>> cost_now;
  std::vector<WorkloadFinding> out;
  for (auto& [key, entry] : candidates) {
    WorkloadFinding f;
    f.index = entry.first;
    f.measured_with = hypo ? "hypopg" : "statistics";
    const db::TableInfo* t = schema.FindWritten(f.index.schema + "." + f.index.table);
    f.table_writes = writes[f.index.schema + "." + f.index.table];
    std::vector<double> read_now_of;  // MariaDB: rows each served statement reads today
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
        read_now_of.push_back(read_now);
      }
    }
    if (!hypo && !f.explained.empty()) f.measured_with = "explain";
    if (!pg && t && f.cost_before > 0) {
      // The server's own estimate, from the candidate built on a sample copy, replaces the one from
      // statistics; a candidate it would not choose is not advised.
      std::vector<std::pair<std::string, QueryShape>> served;
      for (const Served& s : entry.second) served.emplace_back(s.sql, s.shape);
      std::string error;
      std::optional<std::vector<std::optional<double>>> used = MariadbWouldUse(conn, *t, f.index, served, error);
      if (!used) {
        notes.push_back(fmt::format("{} could not be tried on a sample copy of {} ({}): estimated from statistics, "
                                    "and the server's choice of it is not checked",
                                    f.index.Name(), t->name, error));
      } else if (std::none_of(used->begin(), used->end(), [](const auto& r) { return r.has_value(); })) {
        notes.push_back(fmt::format("{} was built on a sample copy of {} (its first {} rows) and MariaDB's optimizer did "
                                    "not choose it for the statements it would serve (it reads the table another way): "
                                    "not advised",
                                    f.index.Name(), t->name, kProbeRows));
        continue;
      } else {
        f.cost_after = 0;
        int chosen = 0;
        for (size_t i = 0; i < used->size(); ++i) {
          const double now = read_now_of.at(i);
          const double through = (*used)[i] ? std::min(now, *(*used)[i]) : now;
          chosen += (*used)[i] ? 1 : 0;
          f.cost_after += through * static_cast<double>(entry.second[i].calls);
        }
        f.measured_with = "sample";
        f.explained.insert(f.explained.begin(),
                           fmt::format("built on a sample copy of {} (its first {} rows), the optimizer chose it for {} "
                                       "of {} statement(s)",
                                       t->name, kProbeRows, chosen, used->size()));
      }
    }
    if (f.cost_before <= 0 || (f.cost_before - f.cost_after) < kWorthIt * f.cost_before) continue;
    // A margin worth an index's size: a call must save at least a few page reads. A covering copy
    // of the primary key saves a lookup's one heap page (4 units) and costs megabytes.
    if (hypo && f.calls > 0 && (f.cost_before - f.cost_after) / static_cast<double>(f.calls) < min_saving) {
      notes.push_back(fmt::format("{} would save {:.1f} planner units a call ({:.0f} instead of {:.0f} over {} calls; "
                                  "the indexes there serve the statements already): under {:.0f}, three page reads, "
                                  "not worth {}: not advised",
                                  f.index.Name(), (f.cost_before - f.cost_after) / static_cast<double>(f.calls),
                                  f.cost_after, f.cost_before, f.calls, min_saving,
                                  f.size_bytes > 0 ? fmt::format("{:.1f} MB", static_cast<double>(f.size_bytes) / 1e6)
                                                   : std::string("its size")));
      continue;
    }
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
                        : f.measured_with == "sample"
                            ? "rows the server's plan reads now against those its optimizer expects through the index; " +
                                  fmt::format("{}", fmt::join(f.explained, "; "))
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

std::map<std::pair<std::string, std::string>, std::vector<IndexReader>> IndexesReadNow(db::Connection& conn,
                                                                                    const db::SchemaInfo& schema,
                                                                                    const Workload& workload,
                                                                                    const std::string& only_table) {
  const bool pg = conn.engine() == db::Engine::kPostgres;
  std::map<std::pair<std::string, std::string>, std::vector<IndexReader>> out;
  if (!workload.known) return out;
  Planner planner(conn);
  for (const WorkloadStatement& statement : workload.statements) {
    if (statement.shape.statement == "insert" || statement.shape.statement == "other") continue;
    for (const TableUse& use : statement.shape.tables) {
      const db::TableInfo* t = schema.FindWritten(use.table);
      if (!t) continue;
      if (!only_table.empty() && t->name != only_table && t->schema + "." + t->name != only_table) continue;
      const std::string table = pg ? t->schema + "." + t->name : t->name;
      std::set<std::string> read;
      if (pg) {
        std::optional<nlohmann::json> plan = planner.Plan(statement.sql, statement.shape);
        if (!plan) continue;
        std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& j) {
          if (j.is_object()) {
            if (j.contains("Index Name") && j.value("Relation Name", t->name) == t->name) {
              read.insert(j["Index Name"].get<std::string>());
            }
            for (const auto& [k, v] : j.items()) walk(v);
          } else if (j.is_array()) {
            for (const auto& v : j) walk(v);
          }
        };
        walk(*plan);
      } else if (std::optional<ExplainedRead> e = ExplainMariadb(conn, statement.sql, statement.shape, t->name)) {
        if (!e->key.empty()) read.insert(e->key);
      }
      for (const std::string& index : read) out[{table, index}].push_back({statement.sql, statement.calls});
    }
  }
  return out;
}

}  // namespace shardshift::planner
