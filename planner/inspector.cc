#include "planner/inspector.h"

#include "db/connection.h"
#include "db/error.h"

namespace shardshift::planner {

db::SchemaInfo EngineSchemaReader::Read(const std::string& database,
                                        const db::IntrospectOptions& options) {
  auto conn = catalog_.Connect(database);
  return conn->Introspect(options);
}

void MemorySchemaReader::Add(const std::string& database, db::SchemaInfo schema) {
  schemas_[database] = std::move(schema);
}

db::SchemaInfo MemorySchemaReader::Read(const std::string& database,
                                        const db::IntrospectOptions& options) {
  auto it = schemas_.find(database);
  if (it == schemas_.end()) {
    throw db::Error(db::ErrorKind::kBadInput, "unknown database '" + database + "'");
  }
  db::SchemaInfo out = it->second;
  std::erase_if(out.tables, [&](const db::TableInfo& t) {
    return (!options.schema.empty() && t.schema != options.schema) ||
           (!options.table.empty() && t.name != options.table);
  });
  if (!options.statistics) {
    for (db::TableInfo& t : out.tables) t.stats.clear();
  }
  return out;
}

ColumnSample SampleColumn(db::Connection& conn, const db::TableInfo& table, const std::string& column, int64_t rows,
                          bool top) {
  ColumnSample out;
  const std::string col = db::QuoteIdentifier(conn.engine(), column);
  const std::string from =
      "(SELECT " + col + " AS v FROM " +
      db::QuoteTable(conn.engine(), {conn.engine() == db::Engine::kPostgres ? table.schema : "", table.name}) +
      " LIMIT " + std::to_string(rows) + ") _shardshift_s";  // the alias keeps it out of the advisors' workload
  try {
    db::ResultSet n = conn.Query("SELECT COUNT(*) AS n, COUNT(DISTINCT v) AS d FROM " + from);
    const double total = std::stod(n.Text(0, "n"));
    if (total <= 0) return out;
    const double d = std::stod(n.Text(0, "d"));
    out.distinct = d > 0.9 * total ? std::max(d, static_cast<double>(table.row_estimate)) : d;
    if (!top) return out;
    db::ResultSet t = conn.Query("SELECT v, COUNT(*) AS n FROM " + from + " GROUP BY v ORDER BY n DESC LIMIT 1");
    if (!t.rows.empty()) {
      out.top_value = t.At(0, "v").value_or("NULL");
      out.top_share = std::stod(t.Text(0, "n")) / total;
    }
  } catch (const db::Error&) {
  }
  return out;
}

}  // namespace shardshift::planner
