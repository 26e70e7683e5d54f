#include "planner/workload.h"

#include <map>
#include <set>

#include "db/error.h"

namespace shardshift::planner {

std::string PostgresSpelling(const std::string& digest) {
  std::string out;
  int param = 0;
  bool in_string = false;
  for (char ch : digest) {
    if (ch == '\'') in_string = !in_string;
    if (!in_string && ch == '`') {
      out += '"';
    } else if (!in_string && ch == '?') {
      out += "$" + std::to_string(++param);
    } else {
      out += ch;
    }
  }
  return out;
}

Workload ReadWorkload(db::Connection& conn, const db::SchemaInfo& schema, int limit) {
  Workload w;
  const bool pg = conn.engine() == db::Engine::kPostgres;
  db::ResultSet r;
  try {
    if (pg) {
      if (conn.Query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").rows.empty()) {
        w.note = "no workload: pg_stat_statements is not installed in this database (CREATE EXTENSION "
                 "pg_stat_statements; it must also be in shared_preload_libraries)";
        return w;
      }
      r = conn.Query(
          "SELECT s.queryid::text AS queryid, s.query, s.calls, s.rows FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE "
          "d.datname = current_database() AND s.query NOT LIKE '%\\_shardshift%' AND s.query NOT ILIKE '%pg\\_catalog%' "
          "AND s.query NOT ILIKE '%information\\_schema%' AND s.query NOT ILIKE '%pg\\_stat%' "
          "AND s.query !~* '^\\s*(EXPLAIN|DEALLOCATE|ANALYZE|SET|SHOW|BEGIN|START|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\\M' "
          "ORDER BY s.total_exec_time DESC LIMIT " + std::to_string(limit));
    } else {
      r = conn.Query(
          "SELECT DIGEST_TEXT AS query, COUNT_STAR AS calls, SUM_ROWS_AFFECTED AS `rows` FROM "
          "performance_schema.events_statements_summary_by_digest WHERE SCHEMA_NAME = DATABASE() AND DIGEST_TEXT IS "
          "NOT NULL AND DIGEST_TEXT NOT LIKE '%information\\_schema%' AND DIGEST_TEXT NOT LIKE '%performance\\_schema%' "
          "AND DIGEST_TEXT NOT LIKE '%\\_shardshift%' AND DIGEST_TEXT NOT REGEXP '^[[:space:]]*(EXPLAIN|SHOW|ANALYZE|SET|DESCRIBE|START|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|XA|LOCK|UNLOCK|USE|FLUSH|KILL|DROP TEMPORARY)([[:space:]]|$)' "
          "ORDER BY SUM_TIMER_WAIT DESC LIMIT " + std::to_string(limit));
    }
  } catch (const db::Error& e) {
    w.note = std::string(pg ? "no workload: pg_stat_statements cannot be read ("
                            : "no workload: performance_schema's statement digests cannot be read (") +
             e.what() + ")";
    return w;
  }
  std::map<std::string, std::set<std::string>> columns_of;
  for (const db::TableInfo& t : schema.tables) {
    for (const db::ColumnInfo& c : t.columns) {
      columns_of[t.name].insert(c.name);
      columns_of[t.schema + "." + t.name].insert(c.name);
    }
  }
  w.known = true;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const std::string sql = r.Text(i, "query");
    QueryShape shape = AnalyzeQuery(pg ? sql : PostgresSpelling(sql), columns_of);
    if (!shape.ok) {
      ++w.unparsed;
      continue;
    }
    w.statements.push_back({pg ? r.Text(i, "queryid") : "", sql, std::move(shape), std::stoll(r.Text(i, "calls")),
                            std::stoll(r.Text(i, "rows"))});
  }
  return w;
}

bool StopCountingThisSession(db::Connection& conn) {
  try {
    if (conn.engine() == db::Engine::kPostgres) {
      conn.Execute("SET pg_stat_statements.track = 'none'");
    } else {
      conn.Execute("UPDATE performance_schema.threads SET INSTRUMENTED = 'NO' WHERE PROCESSLIST_ID = CONNECTION_ID()");
    }
    return true;
  } catch (const db::Error&) {
    return false;
  }
}

}  // namespace shardshift::planner
