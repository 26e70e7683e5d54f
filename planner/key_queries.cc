#include "planner/key_queries.h"

#include <fmt/format.h>

namespace shardshift::planner {

namespace {

std::string Columns(db::Engine engine, const std::vector<std::string>& key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) out += (i ? ", " : "") + db::QuoteIdentifier(engine, key[i]);
  return out;
}

// "(a, b)" for composite keys, "a" for one column.
std::string RowValue(db::Engine engine, const std::vector<std::string>& key) {
  return key.size() == 1 ? Columns(engine, key) : "(" + Columns(engine, key) + ")";
}

std::string Placeholders(db::Engine engine, size_t count, int& next) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    out += i ? ", " : "";
    out += engine == db::Engine::kPostgres ? "$" + std::to_string(next++) : "?";
  }
  return count == 1 ? out : "(" + out + ")";
}

}  // namespace

Statement KeySampleQuery(db::Engine engine, const db::TableName& table,
                         const std::vector<std::string>& key, double fraction) {
  // The alias keeps the sample out of the workload the advisors read (planner/workload.h).
  std::string sql = "SELECT " + Columns(engine, key) + " FROM " + db::QuoteTable(engine, table) + " AS _shardshift_k";
  if (fraction < 1.0) {
    double pct = std::max(fraction, 1e-6) * 100.0;
    if (engine == db::Engine::kPostgres) {
      sql += fmt::format(" TABLESAMPLE SYSTEM ({:.6f}) REPEATABLE (42)", pct);
    } else {
      sql += fmt::format(" WHERE RAND(42) < {:.8f}", fraction);
    }
  }
  return {sql, {}};
}

Statement OutsideRangeQuery(db::Engine engine, const db::TableName& table,
                            const std::vector<std::string>& key,
                            const std::optional<std::vector<std::string>>& from,
                            const std::optional<std::vector<std::string>>& to) {
  const std::string k = RowValue(engine, key);
  int next = 1;
  db::Params params;
  std::string below = "0";
  std::string above = "0";
  std::vector<std::string> conditions;
  if (from) {
    std::string p = Placeholders(engine, from->size(), next);
    below = "SUM(CASE WHEN " + k + " < " + p + " THEN 1 ELSE 0 END)";
    for (const std::string& v : *from) params.emplace_back(v);
  }
  if (to) {
    std::string p = Placeholders(engine, to->size(), next);
    above = "SUM(CASE WHEN " + k + " >= " + p + " THEN 1 ELSE 0 END)";
    for (const std::string& v : *to) params.emplace_back(v);
  }
  // The WHERE repeats the bounds so that an index on the key limits the scan to the violators.
  std::string where;
  if (from) conditions.push_back(k + " < " + Placeholders(engine, from->size(), next));
  if (to) conditions.push_back(k + " >= " + Placeholders(engine, to->size(), next));
  if (from) for (const std::string& v : *from) params.emplace_back(v);
  if (to) for (const std::string& v : *to) params.emplace_back(v);
  if (conditions.empty()) {
    where = " WHERE 1 = 0";
  } else {
    where = " WHERE " + conditions[0] + (conditions.size() > 1 ? " OR " + conditions[1] : "");
  }
  std::string sql = "SELECT COALESCE(" + below + ", 0) AS below, COALESCE(" + above + ", 0) AS above FROM " +
                    db::QuoteTable(engine, table) + " AS _shardshift_k" + where;
  return {sql, params};
}

}  // namespace shardshift::planner
