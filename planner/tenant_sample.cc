#include "planner/tenant_sample.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pg_query.h>

#include "planner/ascii.h"
#include "db/binlog_stream.h"
#include "db/error.h"
#include "planner/workload.h"

namespace shardshift::planner {

namespace {

using nlohmann::json;

// A constant's text (integers in decimal, strings unquoted); nothing for NULL, booleans, $n. sql:
// the statement's text, where an integer's ival is empty: 0, and (libpg-query 15's JSON) a negated
// one, whose location is its minus sign.
std::optional<std::string> ConstText(const json& node, const std::string& sql) {
  if (node.contains("TypeCast")) return ConstText(node["TypeCast"]["arg"], sql);
  if (!node.contains("A_Const")) return std::nullopt;
  const json& c = node["A_Const"];
  if (c.contains("ival")) {
    if (c["ival"].contains("ival")) return std::to_string(c["ival"].value("ival", int64_t{0}));
    size_t at = static_cast<size_t>(std::max(0, c.value("location", 0)));
    if (at < sql.size() && sql[at] == '-') {
      size_t digits = sql.find_first_not_of(" \t\n", at + 1);
      size_t end = digits == std::string::npos ? digits : sql.find_first_not_of("0123456789", digits);
      if (digits != std::string::npos && end != digits) {
        return "-" + sql.substr(digits, end == std::string::npos ? std::string::npos : end - digits);
      }
    }
    return "0";
  }
  if (c.contains("fval")) return c["fval"].value("fval", "");
  if (c.contains("sval")) return c["sval"].value("sval", "");
  return std::nullopt;
}

bool NamesColumn(const json& node, const std::string& column) {
  if (!node.contains("ColumnRef")) return false;
  const json& fields = node["ColumnRef"]["fields"];
  return !fields.empty() && fields.back().contains("String") &&
         fields.back()["String"].value("sval", "") == column;
}

class Collector {
 public:
  Collector(const std::string& sql, const std::string& column,
            const std::map<std::string, std::vector<std::string>>& columns_of)
      : sql_(sql), column_(column), columns_of_(columns_of) {}

  void Walk(const json& node) {
    if (node.is_array()) {
      for (const json& n : node) Walk(n);
      return;
    }
    if (!node.is_object()) return;
    if (node.contains("RangeVar")) relations.insert(AsciiLower(node["RangeVar"].value("relname", "")));
    // INSERT, UPDATE and DELETE name theirs bare.
    if (node.contains("relation") && node["relation"].is_object() && node["relation"].contains("relname")) {
      relations.insert(AsciiLower(node["relation"].value("relname", "")));
    }
    if (node.contains("A_Expr")) Expr(node["A_Expr"]);
    if (node.contains("InsertStmt")) Insert(node["InsertStmt"]);
    for (const auto& [k, v] : node.items()) Walk(v);
  }

  std::set<std::string> relations;
  std::vector<std::string> values;

 private:
  void Add(const json& node) {
    if (auto v = ConstText(node, sql_)) {
      if (std::find(values.begin(), values.end(), *v) == values.end()) values.push_back(*v);
    }
  }
  void Expr(const json& e) {
    const std::string kind = e.value("kind", "");
    const json& l = e.contains("lexpr") ? e["lexpr"] : json::object();
    const json& r = e.contains("rexpr") ? e["rexpr"] : json::object();
    if (kind == "AEXPR_OP") {
      const json& name = e.contains("name") ? e["name"] : json::array();
      if (name.size() != 1 || name[0].value("String", json::object()).value("sval", "") != "=") return;
      if (NamesColumn(l, column_)) Add(r);
      if (NamesColumn(r, column_)) Add(l);
    } else if (kind == "AEXPR_IN" && NamesColumn(l, column_) && r.contains("List")) {
      for (const json& item : r["List"].value("items", json::array())) Add(item);
    }
  }
  void Insert(const json& ins) {
    const std::string table = AsciiLower(ins.value("relation", json::object()).value("relname", ""));
    std::vector<std::string> cols;
    for (const json& c : ins.value("cols", json::array())) cols.push_back(c.value("ResTarget", json::object()).value("name", ""));
    if (cols.empty()) {
      auto it = columns_of_.find(table);
      if (it != columns_of_.end()) cols = it->second;
    }
    const auto at = std::find(cols.begin(), cols.end(), column_);
    if (at == cols.end() || !ins.contains("selectStmt")) return;
    const size_t pos = static_cast<size_t>(at - cols.begin());
    const json& select = ins["selectStmt"].value("SelectStmt", json::object());
    for (const json& row : select.value("valuesLists", json::array())) {
      const json items = row.value("List", json::object()).value("items", json::array());
      if (pos < items.size()) Add(items[pos]);
    }
  }

  const std::string& sql_;
  std::string column_;
  const std::map<std::string, std::vector<std::string>>& columns_of_;
};

// MariaDB: the performance_schema table of statements with literals that is being filled: the
// history if its consumer is on, else the current ones; "" when neither (or performance_schema is off).
std::string StatementsTable(db::Connection& conn) {
  if (conn.Query("SELECT @@performance_schema AS on_").Text(0, "on_") != "1") return "";
  db::ResultSet r = conn.Query(
      "SELECT NAME AS n FROM performance_schema.setup_consumers WHERE ENABLED = 'YES' AND NAME IN "
      "('events_statements_history', 'events_statements_current')");
  std::string found;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    if (r.Text(i, "n") == "events_statements_history" || found.empty()) found = r.Text(i, "n");
  }
  return found;
}

}  // namespace

StatementKeys KeysNamed(const std::string& sql, const std::string& column, const std::set<std::string>& tables,
                        const std::map<std::string, std::vector<std::string>>& columns_of) {
  StatementKeys out;
  PgQueryParseResult parsed = pg_query_parse(sql.c_str());
  if (parsed.error) {
    pg_query_free_parse_result(parsed);
    return out;
  }
  json tree = json::parse(parsed.parse_tree, nullptr, false);
  pg_query_free_parse_result(parsed);
  if (tree.is_discarded() || !tree.contains("stmts") || tree["stmts"].size() != 1) return out;
  const json& stmt = tree["stmts"][0].value("stmt", json::object());
  Collector c(sql, AsciiLower(column), columns_of);
  c.Walk(stmt);
  out.on_tables = std::any_of(c.relations.begin(), c.relations.end(), [&](const std::string& r) { return tables.count(r) > 0; });
  if (!out.on_tables) return out;
  out.write = stmt.contains("InsertStmt") || stmt.contains("UpdateStmt") || stmt.contains("DeleteStmt");
  out.values = std::move(c.values);
  return out;
}

namespace {

// The text quoted at line[p] (by line[p]'s character, doubled inside), p moved past it.
std::string Unquote(const std::string& line, size_t& p) {
  const char quote = line[p];
  std::string out;
  for (++p; p < line.size(); ++p) {
    if (line[p] != quote) {
      out += line[p];
    } else if (p + 1 < line.size() && line[p + 1] == quote) {
      out += quote;
      ++p;
    } else {
      ++p;
      break;
    }
  }
  return out;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> DecodedValue(const std::string& line, const std::string& column) {
  if (!line.starts_with("table ")) return std::nullopt;
  const size_t colon = line.find(": ", 6);
  if (colon == std::string::npos) return std::nullopt;
  std::string table = line.substr(6, colon - 6);
  if (const size_t dot = table.rfind('.'); dot != std::string::npos) table = table.substr(dot + 1);
  if (table.size() >= 2 && table.front() == '"' && table.back() == '"') table = table.substr(1, table.size() - 2);
  size_t p = line.find(": ", colon + 2);  // after the operation
  if (p == std::string::npos) return std::nullopt;
  p += 2;
  if (const size_t n = line.find("new-tuple: ", p); n != std::string::npos) p = n + 11;
  while (p < line.size()) {
    std::string name;
    if (line[p] == '"') {
      name = Unquote(line, p);
    } else {
      const size_t b = line.find('[', p);
      if (b == std::string::npos) return std::nullopt;
      name = line.substr(p, b - p);
      p = b;
    }
    if (p >= line.size() || line[p] != '[') return std::nullopt;
    for (int depth = 0; p < line.size(); ++p) {  // the type, brackets and all ("integer[]")
      if (line[p] == '[') ++depth;
      if (line[p] == ']' && --depth == 0) break;
    }
    if (p + 1 >= line.size() || line[p + 1] != ':') return std::nullopt;
    p += 2;
    std::string value;
    if (p < line.size() && line[p] == '\'') {
      value = Unquote(line, p);
    } else {
      const size_t end = line.find(' ', p);
      value = line.substr(p, end == std::string::npos ? std::string::npos : end - p);
      p = end == std::string::npos ? line.size() : end;
    }
    if (name == column) {
      if (value == "null") return std::nullopt;
      return std::make_pair(table, value);
    }
    while (p < line.size() && line[p] == ' ') ++p;
  }
  return std::nullopt;
}

namespace {

// The rows written per value of column in the window, from PostgreSQL's log: a temporary logical
// slot (gone with its session, whatever happens) made before the window, read at its end.
class PgWrites {
 public:
  PgWrites(const db::Catalog& catalog, const std::string& database, CallSample& out) : out_(out) {
    try {
      conn_ = catalog.Connect(database);
      db::ResultSet r = conn_->Query("SELECT current_setting('wal_level') AS w");
      if (r.Text(0, "w") != "logical") {
        out_.rows_note = "rows written per tenant need wal_level = logical";
        conn_.reset();
        return;
      }
      // Building the slot's snapshot waits for the transactions open now; not for long.
      conn_->Execute("SET statement_timeout = 5000");
      slot_ = fmt::format("_shardshift_sample_{}", conn_->Query("SELECT pg_backend_pid() AS p").Text(0, "p"));
      conn_->Query("SELECT pg_create_logical_replication_slot($1, 'test_decoding', true)", {slot_});
      conn_->Execute("SET statement_timeout = 0");
    } catch (const db::Error& e) {
      out_.rows_note = std::string("rows written per tenant not read from the log: ") + e.what() +
                       " (it needs the REPLICATION attribute and a free replication slot)";
      conn_.reset();
    }
  }
  void Finish(const std::string& column, const std::set<std::string>& tables) {
    if (!conn_) return;
    try {
      // Up to the window's end: what commits while the changes are read is not counted.
      const std::string end = conn_->Query("SELECT pg_current_wal_lsn()::text AS l").Text(0, "l");
      db::ResultSet r = conn_->Query(
          "SELECT data FROM pg_logical_slot_get_changes($1, $2::pg_lsn, NULL, 'skip-empty-xacts', '1', "
          "'include-xids', '0') WHERE data LIKE 'table %'",
          {slot_, end});
      for (size_t i = 0; i < r.rows.size(); ++i) {
        const auto v = DecodedValue(r.Text(i, "data"), column);
        if (!v || tables.count(AsciiLower(v->first)) == 0) continue;
        ++out_.rows_by_tenant[v->second];
        ++out_.rows_written;
      }
      out_.rows_known = true;
      out_.rows_note = "rows written counted from the WAL (a temporary logical slot)";
    } catch (const db::Error& e) {
      out_.rows_note = std::string("rows written per tenant not read from the log: ") + e.what();
    }
    conn_.reset();  // the temporary slot goes with its session
  }

 private:
  CallSample& out_;
  std::unique_ptr<db::Connection> conn_;
  std::string slot_;
};

// The same from MariaDB's binary log: its position before and after the window, then the rows
// events between them (as a replica reads them, with a replica id of its own).
class BinlogWrites {
 public:
  BinlogWrites(const db::Catalog& catalog, const std::string& database, CallSample& out)
      : catalog_(catalog), database_(database), out_(out) {
    try {
      conn_ = catalog.Connect(database);
      db::ResultSet r = conn_->Query("SELECT @@log_bin AS b, @@binlog_format AS f, @@gtid_binlog_pos AS g");
      if (r.Text(0, "b") != "1" || r.Text(0, "f") != "ROW") {
        out_.rows_note = "rows written per tenant need the binary log on in ROW format";
        conn_.reset();
        return;
      }
      gtid_ = r.Text(0, "g");
    } catch (const db::Error& e) {
      out_.rows_note = std::string("rows written per tenant not read from the log: ") + e.what();
      conn_.reset();
    }
  }
  void Finish(const std::string& column, const std::vector<db::TableInfo>& infos) {
    if (!conn_) return;
    try {
      const db::Lsn end = db::BinlogStream::ServerPosition(*conn_).lsn();
      std::vector<db::StreamTable> keys;
      for (const db::TableInfo& t : infos) keys.push_back({{t.schema, t.name}, {column}, {}});
      // A replica id of its own, unlikely to be any real replica's or another sampler's.
      const uint32_t server_id =
          0x7ff00000u +
          static_cast<uint32_t>(std::hash<std::string>{}(database_ + "/" + std::to_string(getpid())) % 0xfffff);
      db::BinlogStream stream(catalog_.Url(database_), database_, server_id, gtid_, std::move(keys));
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      // Small batches: the last may run past the window's end (the stream does not say where each
      // transaction in a batch committed), by at most one batch.
      for (;;) {
        db::StreamBatch b = stream.Read(std::chrono::milliseconds(200), 100);
        for (const db::RowChange& c : b.changes) {
          if (c.key.empty()) continue;
          ++out_.rows_by_tenant[c.key.front()];
          ++out_.rows_written;
        }
        if (b.committed >= end || (b.changes.empty() && b.received >= end)) break;
        if (std::chrono::steady_clock::now() > deadline) throw db::Error(db::ErrorKind::kStatement, "the binary log did not reach the window's end in 10 s");
      }
      out_.rows_known = true;
      out_.rows_note = "rows written counted from the binary log";
    } catch (const db::Error& e) {
      out_.rows_note = std::string("rows written per tenant not read from the binary log: ") + e.what() +
                       " (it needs REPLICATION SLAVE and BINLOG MONITOR, and a FULL row image or the column in the "
                       "primary key)";
    }
    conn_.reset();
  }

 private:
  const db::Catalog& catalog_;
  std::string database_;
  CallSample& out_;
  std::unique_ptr<db::Connection> conn_;
  std::string gtid_;
};

}  // namespace

CallSample SampleCalls(const db::Catalog& catalog, const std::string& database, const std::string& column,
                       const std::vector<db::TableInfo>& infos, std::chrono::milliseconds duration,
                       const std::atomic<bool>* stop) {
  CallSample out;
  auto owned = catalog.Connect(database);
  db::Connection& conn = *owned;
  std::set<std::string> tables;
  std::map<std::string, std::vector<std::string>> columns_of;
  for (const db::TableInfo& t : infos) {
    tables.insert(AsciiLower(t.name));
    for (const db::ColumnInfo& c : t.columns) columns_of[AsciiLower(t.name)].push_back(AsciiLower(c.name));
  }
  const bool pg = conn.engine() == db::Engine::kPostgres;
  std::string sql;
  bool history = false;
  if (pg) {
    sql =
        "SELECT pid::text AS p, query_start::text AS s, query AS q FROM pg_stat_activity WHERE datname = "
        "current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND "
        "COALESCE(application_name, '') NOT IN ('shardshift', 'shardshift-capture') AND query_start IS NOT NULL";
    if (conn.Query("SELECT 1 AS x FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER') AND rolname IN "
                   "('pg_read_all_stats', 'pg_monitor') UNION ALL SELECT 1 FROM pg_roles WHERE rolname = current_user "
                   "AND rolsuper")
            .rows.empty()) {
      out.note = "only this role's sessions are visible (pg_stat_activity hides other roles' queries without "
                 "pg_read_all_stats: GRANT pg_read_all_stats TO the role); ";
    }
    out.note += "sampled pg_stat_activity";
  } else if (const std::string table = StatementsTable(conn); !table.empty()) {
    // With the history (the last 10 statements of each thread) a thread that runs up to 10
    // statements between two polls is counted in full; (thread, event id) counts each once.
    history = table != "events_statements_current";
    sql = fmt::format(
        "SELECT CONCAT(s.THREAD_ID, '/', s.EVENT_ID) AS p, s.EVENT_ID AS s, s.SQL_TEXT AS q FROM "
        "performance_schema.{} s JOIN performance_schema.threads t ON t.THREAD_ID = s.THREAD_ID WHERE "
        "s.CURRENT_SCHEMA = DATABASE() AND t.PROCESSLIST_ID <> CONNECTION_ID() AND s.SQL_TEXT IS NOT NULL AND "
        "t.PROCESSLIST_ID NOT IN (SELECT PROCESSLIST_ID FROM performance_schema.session_connect_attrs WHERE "
        "ATTR_NAME = 'program_name' AND ATTR_VALUE IN ('shardshift', 'shardshift-capture'))",
        table);
    out.note = "sampled performance_schema." + table;
  } else {
    sql =
        "SELECT ID AS p, INFO AS s, INFO AS q FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> "
        "CONNECTION_ID() AND INFO IS NOT NULL";
    out.note = "sampled information_schema.PROCESSLIST (performance_schema's statement consumers are off: only "
               "statements running at each poll are seen)";
  }
  std::optional<PgWrites> pg_writes;
  std::optional<BinlogWrites> binlog_writes;
  if (pg) {
    pg_writes.emplace(catalog, database, out);
  } else {
    binlog_writes.emplace(catalog, database, out);
  }
  std::map<std::string, std::string> last;  // session -> the statement last counted
  const auto started = std::chrono::steady_clock::now();
  const auto poll = std::chrono::milliseconds(10);
  bool first_poll = true;
  for (;;) {
    const auto at = std::chrono::steady_clock::now();
    if (at - started >= duration || (stop != nullptr && *stop)) break;
    db::ResultSet r = conn.Query(sql);
    for (size_t i = 0; i < r.rows.size(); ++i) {
      const auto q = r.At(i, "q");
      if (!q || q->empty()) continue;
      const std::string session = r.Text(i, "p");
      const std::string seen = r.Text(i, "s");
      auto it = last.find(session);
      if (it != last.end() && it->second == seen) continue;  // the same statement as the last poll's
      last[session] = seen;
      if (history && it == last.end() && first_poll) continue;  // what ran before the window
      const StatementKeys k = KeysNamed(pg ? *q : PostgresSpelling(*q), column, tables, columns_of);
      if (!k.on_tables) continue;
      ++out.statements;
      if (k.write) ++out.writes;
      if (k.values.empty()) continue;
      ++out.attributed;
      for (const std::string& v : k.values) {
        TenantCalls& t = out.tenants[v];
        ++t.calls;
        if (k.write) ++t.writes;
      }
    }
    first_poll = false;
    const auto next = at + poll;
    if (std::chrono::steady_clock::now() < next) std::this_thread::sleep_until(next);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (pg_writes) pg_writes->Finish(AsciiLower(column), tables);
  if (binlog_writes) binlog_writes->Finish(column, infos);
  out.known = true;
  return out;
}

}  // namespace shardshift::planner
