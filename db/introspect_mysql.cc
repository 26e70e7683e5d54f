// MySQL/MariaDB introspection from information_schema, for the connection's current database,
// read in one consistent snapshot. Statistics: index cardinality, and MariaDB's engine-independent
// statistics (mysql.column_stats) where the server keeps them and we may read them.
#include <map>

#include "db/engines.h"
#include "db/error.h"

namespace shardshift::db {

namespace {

constexpr const char* kMyTablesSql = R"(
SELECT TABLE_NAME AS name, COALESCE(TABLE_ROWS, -1) AS row_estimate,
       COALESCE(DATA_LENGTH, -1) AS data_bytes, COALESCE(INDEX_LENGTH, -1) AS index_bytes,
       COALESCE(ENGINE, '') AS storage_engine, COALESCE(TABLE_COLLATION, '') AS collation,
       (SELECT co.CHARACTER_SET_NAME FROM information_schema.COLLATIONS co
         WHERE co.COLLATION_NAME = TABLES.TABLE_COLLATION) AS charset,
       COALESCE(TABLE_COMMENT, '') AS comment, COALESCE(CREATE_OPTIONS, '') AS create_options,
       (SELECT GROUP_CONCAT(tr.TRIGGER_NAME ORDER BY tr.TRIGGER_NAME SEPARATOR '\n') FROM information_schema.TRIGGERS tr
         WHERE tr.EVENT_OBJECT_SCHEMA = DATABASE() AND tr.EVENT_OBJECT_TABLE = TABLES.TABLE_NAME
           AND tr.TRIGGER_NAME NOT LIKE '\\_shardshift\\_%') AS triggers
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND (? = '' OR TABLE_NAME = ?)
ORDER BY TABLE_NAME)";

constexpr const char* kMyColumnsSql = R"(
SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
       COLUMN_DEFAULT AS default_expr, EXTRA AS extra, GENERATION_EXPRESSION AS generated,
       COALESCE(CHARACTER_SET_NAME, '') AS charset, COALESCE(COLLATION_NAME, '') AS collation,
       COLUMN_COMMENT AS comment
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND (? = '' OR TABLE_NAME = ?)
ORDER BY TABLE_NAME, ORDINAL_POSITION)";

// In the server's order (no ORDER BY): each table's keys as SHOW CREATE TABLE lists them (the
// primary key first), each key's parts in sequence; a copy keeps that order.
constexpr const char* kMyIndexesSql = R"(
SELECT TABLE_NAME AS tbl, INDEX_NAME AS name, NON_UNIQUE AS non_unique, COLUMN_NAME AS col,
       SUB_PART AS sub_part, COLLATION AS collation, INDEX_TYPE AS method,
       CARDINALITY AS cardinality, SEQ_IN_INDEX AS seq
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND (? = '' OR TABLE_NAME = ?))";

constexpr const char* kMyForeignKeysSql = R"(
SELECT k.TABLE_NAME AS tbl, k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS col,
       k.REFERENCED_TABLE_SCHEMA AS ref_schema, k.REFERENCED_TABLE_NAME AS ref_table,
       k.REFERENCED_COLUMN_NAME AS ref_col, r.UPDATE_RULE AS on_update, r.DELETE_RULE AS on_delete
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
 AND r.TABLE_NAME = k.TABLE_NAME
WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
  AND (? = '' OR k.TABLE_NAME = ?)
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION)";

// Column-level constraints (LEVEL 'Column', named after their column: a json column's
// json_valid) and table-level ones, in the server's order (the order of definition, as SHOW
// CREATE TABLE lists them).
constexpr const char* kMyChecksSql = R"(
SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, LEVEL AS level, CHECK_CLAUSE AS clause
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE() AND (? = '' OR TABLE_NAME = ?))";

// The CREATE_OPTIONS a copy keeps (information_schema spells them as CREATE TABLE takes them);
// "partitioned" and anything unknown are left to the planner's notes.
bool KeptOption(const std::string& key) {
  static const char* const kKept[] = {"row_format", "key_block_size", "stats_persistent", "stats_auto_recalc",
                                      "stats_sample_pages", "page_compressed", "page_compression_level",
                                      "checksum", "pack_keys", "delay_key_write", "max_rows", "min_rows",
                                      "avg_row_length", "transactional", "encrypted", "encryption_key_id"};
  for (const char* k : kKept) {
    if (key == k) return true;
  }
  return false;
}

constexpr const char* kColumnStatsSql = R"(
SELECT table_name AS tbl, column_name AS col, nulls_ratio, avg_frequency, avg_length
FROM mysql.column_stats AS _shardshift_cs WHERE db_name = DATABASE() AND (? = '' OR table_name = ?))";  // the alias: not the application's workload (planner/workload.h)

}  // namespace

SchemaInfo IntrospectMySQL(Connection& conn, const IntrospectOptions& options) {
  SchemaInfo schema;
  schema.engine = Engine::kMySQL;
  schema.database = conn.url().database;
  schema.server_version = conn.ServerVersion();
  const Params filter = {options.table, options.table};
  Transaction tx(conn, TxOptions::Snapshot());
  std::map<std::string, size_t> by_name;
  ResultSet tables = conn.Query(kMyTablesSql, filter);
  for (size_t i = 0; i < tables.rows.size(); ++i) {
    TableInfo t;
    t.schema = "";
    t.name = tables.Text(i, "name");
    t.row_estimate = std::stoll(tables.Text(i, "row_estimate"));
    t.data_bytes = std::stoll(tables.Text(i, "data_bytes"));
    t.index_bytes = std::stoll(tables.Text(i, "index_bytes"));
    t.total_bytes = t.data_bytes >= 0 && t.index_bytes >= 0 ? t.data_bytes + t.index_bytes : -1;
    t.storage_engine = tables.Text(i, "storage_engine");
    t.triggers = SplitLines(tables.At(i, "triggers").value_or(""));
    t.collation = tables.Text(i, "collation");
    t.charset = tables.At(i, "charset").value_or("");
    t.comment = tables.Text(i, "comment");
    std::string options = tables.Text(i, "create_options");
    for (size_t at = 0; at < options.size();) {
      size_t end = options.find(' ', at);
      if (end == std::string::npos) end = options.size();
      std::string token = options.substr(at, end - at);
      at = end + 1;
      if (token == "partitioned") {
        t.partitioned = true;
        continue;
      }
      const size_t eq = token.find('=');
      if (eq == std::string::npos) continue;
      std::string key = token.substr(0, eq);
      std::erase(key, '`');
      for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (KeptOption(key)) t.options.push_back(key + "=" + token.substr(eq + 1));
    }
    by_name[t.name] = schema.tables.size();
    schema.tables.push_back(std::move(t));
  }
  auto find = [&](const std::string& name) -> TableInfo* {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : &schema.tables[it->second];
  };

  ResultSet cols = conn.Query(kMyColumnsSql, filter);
  for (size_t i = 0; i < cols.rows.size(); ++i) {
    TableInfo* t = find(cols.Text(i, "tbl"));
    if (!t) continue;  // a view
    ColumnInfo c;
    c.name = cols.Text(i, "name");
    c.type = cols.Text(i, "type");
    c.nullable = cols.Text(i, "nullable") == "YES";
    const std::string extra = cols.At(i, "extra").value_or("");
    c.identity = extra.find("auto_increment") != std::string::npos;
    c.invisible = extra.find("INVISIBLE") != std::string::npos;
    c.generated_stored = extra.find("STORED GENERATED") != std::string::npos;
    if (size_t on = extra.find("on update "); on != std::string::npos) {
      c.on_update = extra.substr(on + 10);
      if (size_t space = c.on_update.find(' '); space != std::string::npos) c.on_update.resize(space);
    }
    c.charset = cols.Text(i, "charset");
    c.collation = cols.Text(i, "collation");
    c.comment = cols.At(i, "comment").value_or("");
    const Value& gen = cols.At(i, "generated");
    if (gen && !gen->empty()) {
      c.generated = *gen;
    } else {
      const Value& def = cols.At(i, "default_expr");
      if (def && *def != "NULL") c.default_value = def;
    }
    t->columns.push_back(std::move(c));
  }

  ResultSet idx = conn.Query(kMyIndexesSql, filter);
  std::map<std::pair<std::string, std::string>, double> first_cardinality;
  for (size_t i = 0; i < idx.rows.size(); ++i) {
    TableInfo* t = find(idx.Text(i, "tbl"));
    if (!t) continue;
    const std::string name = idx.Text(i, "name");
    if (idx.Text(i, "seq") == "1") {
      IndexInfo index;
      index.name = name;
      index.primary = name == "PRIMARY";
      index.unique = idx.Text(i, "non_unique") == "0";
      index.method = idx.At(i, "method").value_or("");
      for (char& ch : index.method) ch = static_cast<char>(std::tolower(ch));
      index.constraint = index.primary ? "primary" : index.unique ? "unique" : "";
      t->indexes.push_back(std::move(index));
    }
    IndexInfo& index = t->indexes.back();
    IndexColumn col;
    col.name = idx.At(i, "col").value_or("");
    if (col.name.empty()) col.expression = "(expression)";
    if (const Value& sub = idx.At(i, "sub_part")) col.prefix_length = std::stoi(*sub);
    col.descending = idx.At(i, "collation").value_or("A") == "D";
    if (index.primary) t->primary_key.push_back(col.name);
    if (idx.Text(i, "seq") == "1" && idx.At(i, "cardinality") && col.prefix_length == 0) {
      double card = std::stod(*idx.At(i, "cardinality"));
      auto key = std::make_pair(t->name, col.name);
      first_cardinality[key] = std::max(first_cardinality[key], card);
    }
    index.columns.push_back(std::move(col));
  }

  ResultSet fks = conn.Query(kMyForeignKeysSql, filter);
  for (size_t i = 0; i < fks.rows.size(); ++i) {
    TableInfo* t = find(fks.Text(i, "tbl"));
    if (!t) continue;
    const std::string name = fks.Text(i, "name");
    if (t->foreign_keys.empty() || t->foreign_keys.back().name != name) {
      ForeignKeyInfo fk;
      fk.name = name;
      fk.ref_schema = fks.Text(i, "ref_schema");
      fk.ref_table = fks.Text(i, "ref_table");
      fk.on_update = fks.Text(i, "on_update");
      fk.on_delete = fks.Text(i, "on_delete");
      t->foreign_keys.push_back(std::move(fk));
    }
    t->foreign_keys.back().columns.push_back(fks.Text(i, "col"));
    t->foreign_keys.back().ref_columns.push_back(fks.Text(i, "ref_col"));
  }

  ResultSet checks = conn.Query(kMyChecksSql, filter);
  for (size_t i = 0; i < checks.rows.size(); ++i) {
    TableInfo* t = find(checks.Text(i, "tbl"));
    if (!t) continue;
    const std::string name = checks.Text(i, "name");
    const std::string clause = checks.Text(i, "clause");
    ColumnInfo* column = nullptr;
    if (checks.Text(i, "level") == "Column") {
      for (ColumnInfo& c : t->columns) {
        if (c.name == name) column = &c;
      }
    }
    if (column) {
      column->check = clause;
    } else {
      t->checks.push_back(CheckInfo{name, clause, {}, true});
    }
  }

  if (options.statistics) {
    for (const auto& [key, card] : first_cardinality) {
      TableInfo* t = find(key.first);
      ColumnStats s;
      s.column = key.second;
      s.distinct = card;
      t->stats.push_back(std::move(s));
    }
    // Engine-independent statistics need ANALYZE ... PERSISTENT and the privilege to read them.
    try {
      ResultSet cs = conn.Query(kColumnStatsSql, filter);
      for (size_t i = 0; i < cs.rows.size(); ++i) {
        TableInfo* t = find(cs.Text(i, "tbl"));
        if (!t) continue;
        const std::string col = cs.Text(i, "col");
        ColumnStats* s = nullptr;
        for (ColumnStats& existing : t->stats) {
          if (existing.column == col) s = &existing;
        }
        if (!s) {
          t->stats.push_back(ColumnStats{col, {}, {}, {}, {}, {}});
          s = &t->stats.back();
        }
        if (const Value& nr = cs.At(i, "nulls_ratio")) s->null_fraction = std::stod(*nr);
        if (const Value& al = cs.At(i, "avg_length")) s->avg_width = std::stod(*al);
        if (const Value& af = cs.At(i, "avg_frequency")) {
          double freq = std::stod(*af);
          if (freq > 0 && t->row_estimate > 0) {
            s->distinct = static_cast<double>(t->row_estimate) / freq;
          }
        }
      }
    } catch (const Error& e) {
      if (!e.connection_usable()) throw;
    }
    for (TableInfo& t : schema.tables) {
      std::sort(t.stats.begin(), t.stats.end(),
                [](const ColumnStats& a, const ColumnStats& b) { return a.column < b.column; });
    }
  }
  tx.Commit();
  for (TableInfo& t : schema.tables) DeriveUniqueKeys(t);
  return schema;
}

}  // namespace shardshift::db
