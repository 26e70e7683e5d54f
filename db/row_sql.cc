#include "db/row_sql.h"

#include <fmt/format.h>

namespace shardshift::db {

RowSql::RowSql(Engine engine, TableName table, std::vector<std::string> key, std::vector<std::string> columns,
               std::string filter)
    : engine_(engine), table_(std::move(table)), key_(std::move(key)), columns_(std::move(columns)),
      filter_(std::move(filter)) {}

std::string RowSql::ColumnList() const {
  std::string out;
  for (size_t i = 0; i < columns_.size(); ++i) out += (i ? ", " : "") + QuoteIdentifier(engine_, columns_[i]);
  return out;
}

std::string RowSql::KeyList() const {
  std::string out;
  for (size_t i = 0; i < key_.size(); ++i) out += (i ? ", " : "") + QuoteIdentifier(engine_, key_[i]);
  return out;
}

std::string RowSql::Placeholder(Params& params, const std::string& value) const {
  params.emplace_back(value);
  return engine_ == Engine::kPostgres ? "$" + std::to_string(params.size()) : "?";
}

// op is ">" or "<=": strict after, or at most.
std::string RowSql::Compare(const KeyValues& bound, const char* op, Params& params) const {
  const bool strict = std::string_view(op) == ">";
  if (key_.size() == 1) {
    return QuoteIdentifier(engine_, key_[0]) + " " + op + " " + Placeholder(params, bound[0]);
  }
  if (engine_ == Engine::kPostgres) {
    std::string lhs = "(" + KeyList() + ")";
    std::string rhs = "(";
    for (size_t i = 0; i < bound.size(); ++i) rhs += (i ? ", " : "") + Placeholder(params, bound[i]);
    return lhs + " " + op + " " + rhs + ")";
  }
  // (a, b) > (x, y)  ==  a > x OR (a = x AND b > y); <= is the same with the last term <=.
  std::string out = "(";
  for (size_t i = 0; i < key_.size(); ++i) {
    std::string term;
    for (size_t j = 0; j < i; ++j) term += QuoteIdentifier(engine_, key_[j]) + " = " + Placeholder(params, bound[j]) + " AND ";
    const bool last = i + 1 == key_.size();
    const char* cmp = strict ? ">" : (last ? "<=" : "<");
    term += QuoteIdentifier(engine_, key_[i]) + " " + cmp + " " + Placeholder(params, bound[i]);
    out += (i ? " OR (" : "(") + term + ")";
  }
  return out + ")";
}

std::string RowSql::KeyAfter(const KeyValues& bound, Params& params) const { return Compare(bound, ">", params); }
std::string RowSql::KeyAtMost(const KeyValues& bound, Params& params) const { return Compare(bound, "<=", params); }

std::string RowSql::RangeWhere(const std::optional<KeyValues>& after, const std::optional<KeyValues>& upto,
                               Params& params) const {
  std::vector<std::string> terms;
  if (after) terms.push_back(KeyAfter(*after, params));
  if (upto) terms.push_back(KeyAtMost(*upto, params));
  if (!filter_.empty()) terms.push_back("(" + filter_ + ")");
  if (terms.empty()) return "";
  std::string out = " WHERE " + terms[0];
  for (size_t i = 1; i < terms.size(); ++i) out += " AND " + terms[i];
  return out;
}

SqlText RowSql::SelectChunk(const std::optional<KeyValues>& after, const std::optional<KeyValues>& upto,
                            int64_t limit) const {
  SqlText out;
  out.sql = "SELECT " + ColumnList() + " FROM " + QuotedTable() + RangeWhere(after, upto, out.params) +
            " ORDER BY " + KeyList() + " LIMIT " + std::to_string(limit);
  return out;
}

namespace {
// A PostgreSQL array literal of text forms, each element quoted: {"1","2"}.
std::string ArrayLiteral(const std::vector<KeyValues>& keys) {
  std::string out = "{";
  for (size_t r = 0; r < keys.size(); ++r) {
    out += r ? ",\"" : "\"";
    for (char ch : keys[r][0]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

// A JSON array of objects, one per key, each key column named with its value as a string:
// [{"a":"1","b":"x"}]. Written here rather than with nlohmann::json, whose dump refuses bytes that
// are not UTF-8: a database in another encoding (SQL_ASCII) can hold such keys, and the server takes
// this text in its own encoding, as it does a placeholder's.
std::string JsonKeys(const std::vector<std::string>& key, const std::vector<KeyValues>& keys) {
  auto quoted = [](std::string& out, const std::string& text) {
    out += '"';
    for (char ch : text) {
      const auto u = static_cast<unsigned char>(ch);
      if (ch == '"' || ch == '\\') {
        out += '\\';
        out += ch;
      } else if (u < 0x20) {
        out += fmt::format("\\u{:04x}", u);
      } else {
        out += ch;
      }
    }
    out += '"';
  };
  std::string out = "[";
  for (size_t r = 0; r < keys.size(); ++r) {
    out += r ? ",{" : "{";
    for (size_t i = 0; i < key.size(); ++i) {
      if (i) out += ',';
      quoted(out, key[i]);
      out += ':';
      quoted(out, keys[r][i]);
    }
    out += '}';
  }
  return out + "]";
}

// PostgreSQL with a one-column key: "k = ANY($1)", one array parameter whose type the server infers
// from the column. A list of a thousand placeholders costs the server 3-10x as much to plan.
// PostgreSQL with a key of several columns: "(a, b) IN (SELECT k.a, k.b FROM
// json_populate_recordset(NULL::table, $1::json) k)", one parameter whose values the server
// converts with each column's type, as it does a placeholder's text. A list of a thousand (row)
// placeholders took the server half a second to plan (an OR of a thousand conditions), and under a
// filter on the key's first column (a key move's tenants) it could read every row of the tenant
// for each list: replay ran at 1,100 keys/s under a flat-out writer. This plans in a millisecond
// and probes the key's index once per key.
// Otherwise (MariaDB) an IN list of (row) placeholders, which its range optimizer reads as index
// ranges.
std::string KeysIn(Engine engine, const std::string& table, const std::vector<std::string>& key,
                   const std::vector<KeyValues>& keys, const std::function<std::string(const std::string&)>& placeholder) {
  if (engine == Engine::kPostgres && key.size() == 1) {
    return QuoteIdentifier(engine, key[0]) + " = ANY(" + placeholder(ArrayLiteral(keys)) + ")";
  }
  if (engine == Engine::kPostgres) {
    std::string lhs, picked;
    for (size_t i = 0; i < key.size(); ++i) {
      lhs += (i ? ", " : "") + QuoteIdentifier(engine, key[i]);
      picked += (i ? ", _ss_k." : "_ss_k.") + QuoteIdentifier(engine, key[i]);
    }
    return "(" + lhs + ") IN (SELECT " + picked + " FROM json_populate_recordset(NULL::" + table + ", " +
           placeholder(JsonKeys(key, keys)) + "::json) _ss_k)";
  }
  std::string lhs;
  for (size_t i = 0; i < key.size(); ++i) lhs += (i ? ", " : "") + QuoteIdentifier(engine, key[i]);
  if (key.size() > 1) lhs = "(" + lhs + ")";
  std::string rhs;
  for (size_t r = 0; r < keys.size(); ++r) {
    rhs += r ? ", " : "";
    if (key.size() > 1) rhs += "(";
    for (size_t i = 0; i < key.size(); ++i) rhs += (i ? ", " : "") + placeholder(keys[r][i]);
    if (key.size() > 1) rhs += ")";
  }
  return lhs + " IN (" + rhs + ")";
}
}  // namespace

SqlText RowSql::SelectByKeys(const std::vector<KeyValues>& keys) const {
  SqlText out;
  out.sql = "SELECT " + ColumnList() + " FROM " + QuotedTable() + " WHERE " +
            KeysIn(engine_, QuotedTable(), key_, keys, [&](const std::string& v) { return Placeholder(out.params, v); });
  if (!filter_.empty()) out.sql += " AND (" + filter_ + ")";
  return out;
}

SqlText RowSql::DeleteByKeys(const std::vector<KeyValues>& keys) const {
  SqlText out;
  out.sql = "DELETE FROM " + QuotedTable() + " WHERE " +
            KeysIn(engine_, QuotedTable(), key_, keys, [&](const std::string& v) { return Placeholder(out.params, v); });
  if (!filter_.empty()) out.sql += " AND (" + filter_ + ")";
  return out;
}

SqlText RowSql::KeyAtOffset(const std::optional<KeyValues>& after, int64_t offset) const {
  SqlText out;
  out.sql = "SELECT " + KeyList() + " FROM " + QuotedTable() + RangeWhere(after, std::nullopt, out.params) +
            " ORDER BY " + KeyList() + " LIMIT 1 OFFSET " + std::to_string(std::max<int64_t>(0, offset - 1));
  return out;
}

// A 64-bit hash of the row's canonical text, as a number the database can sum. PostgreSQL's
// canonical text is the row value's text, hashed by hashtextextended (the hash behind hash
// partitioning, so stable across versions and platforms; under "C" its input is the bytes): half
// the cost of md5's hex digits per row (0.75 s against 1.45 s for 1M rows here). MySQL's joins each
// value's hex with '|', NULL as '-' (distinct from the empty string, which is ''), and takes the
// first 16 hex digits of its MD5 (MariaDB has no cheaper 64-bit hash in SQL).
std::string RowSql::RowHashExpr() const {
  if (engine_ == Engine::kPostgres) {
    std::string row = "ROW(";
    for (size_t i = 0; i < columns_.size(); ++i) row += (i ? ", " : "") + QuoteIdentifier(engine_, columns_[i]);
    row += ")::text";
    return "hashtextextended(" + row + " COLLATE \"C\", 0)";
  }
  std::string parts;
  for (size_t i = 0; i < columns_.size(); ++i) {
    parts += (i ? ", " : "") + fmt::format("COALESCE(HEX(CONCAT({})), '-')", QuoteIdentifier(engine_, columns_[i]));
  }
  return "CAST(CONV(SUBSTR(MD5(CONCAT_WS('|', " + parts + ")), 1, 16), 16, 10) AS UNSIGNED)";
}

// Both engines sum 64-bit integers without overflow (PostgreSQL in 128 bits, MySQL in DECIMAL).
SqlText RowSql::Checksum(const std::optional<KeyValues>& after, const std::optional<KeyValues>& upto) const {
  SqlText out;
  out.sql = "SELECT COUNT(*) AS n, COALESCE(SUM(" + RowHashExpr() + "), 0) AS h FROM " + QuotedTable() +
            RangeWhere(after, upto, out.params);
  return out;
}

SqlText RowSql::ChecksumNext(const std::optional<KeyValues>& after, int64_t rows) const {
  SqlText out;
  std::string desc;
  for (size_t i = 0; i < key_.size(); ++i) desc += (i ? ", " : "") + QuoteIdentifier(engine_, key_[i]) + " DESC";
  // The counts are window aggregates over the whole segment, computed before the outer LIMIT keeps
  // its last row (the highest key).
  out.sql = "SELECT COUNT(*) OVER () AS _shardshift_n, SUM(_shardshift_h) OVER () AS _shardshift_h, " + KeyList() +
            " FROM (SELECT " + KeyList() + ", " + RowHashExpr() + " AS _shardshift_h FROM " + QuotedTable() +
            RangeWhere(after, std::nullopt, out.params) + " ORDER BY " + KeyList() + " LIMIT " + std::to_string(rows) +
            ") s ORDER BY " + desc + " LIMIT 1";
  return out;
}

SqlText RowSql::RowHashes(const std::optional<KeyValues>& after, const std::optional<KeyValues>& upto) const {
  SqlText out;
  out.sql = "SELECT " + KeyList() + ", " + RowHashExpr() + " AS h FROM " + QuotedTable() +
            RangeWhere(after, upto, out.params) + " ORDER BY " + KeyList();
  return out;
}

}  // namespace shardshift::db
