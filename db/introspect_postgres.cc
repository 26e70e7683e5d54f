// PostgreSQL introspection from pg_catalog, read in one REPEATABLE READ snapshot so that tables,
// columns, indexes and statistics describe the same moment.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/engines.h"

namespace shardshift::db {

namespace {

// The tables to describe; $1 = schema or '', $2 = table or ''.
constexpr const char* kTablesSql = R"(
SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name,
       c.reltuples::bigint AS row_estimate,
       pg_relation_size(c.oid) AS data_bytes, pg_indexes_size(c.oid) AS index_bytes,
       pg_total_relation_size(c.oid) AS total_bytes, c.relkind = 'p' AS partitioned,
       COALESCE(obj_description(c.oid, 'pg_class'), '') AS comment,
       array_to_json(c.reloptions) AS reloptions,
       (SELECT string_agg(t.tgname, E'\n' ORDER BY t.tgname) FROM pg_trigger t
         WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgname NOT LIKE '\_shardshift\_%') AS triggers,
       (SELECT string_agg(DISTINCT v.oid::regclass::text, E'\n') FROM pg_depend d
          JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
         WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = c.oid AND v.oid <> c.oid) AS views
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND ($1 = '' OR n.nspname = $1) AND ($2 = '' OR c.relname = $2)
ORDER BY n.nspname, c.relname)";

constexpr const char* kColumnsSql = R"(
SELECT a.attrelid::text AS oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       a.attidentity <> '' AS identity, a.attgenerated <> '' AS generated,
       CASE WHEN a.attcollation <> t.typcollation THEN
         (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co
            JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation,
       COALESCE(col_description(a.attrelid, a.attnum), '') AS comment,
       CASE WHEN a.attstorage <> t.typstorage THEN
         CASE a.attstorage WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external' WHEN 'm' THEN 'main'
                           WHEN 'x' THEN 'extended' END END AS storage,
       CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END AS compression
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum)";

// Key parts come back as JSON: name for a column, expr for an expression, desc, opclass when not
// the default. indoption and indclass are 0-based vectors; indkey includes INCLUDE columns.
constexpr const char* kIndexesSql = R"(
SELECT i.indrelid::text AS oid, ic.relname AS name, i.indisunique AS is_unique,
       i.indisprimary AS is_primary, i.indisvalid AS is_valid, am.amname AS method,
       i.indnkeyatts AS key_count, pg_get_expr(i.indpred, i.indrelid) AS predicate,
       COALESCE(con.contype::text, '') AS constraint_type, con.conname AS constraint_name,
       pg_get_constraintdef(con.oid) AS constraint_def,
       COALESCE(pg_relation_size(i.indexrelid), -1) AS size_bytes,
       (SELECT json_agg(json_build_object(
                 'name', a.attname,
                 'expr', CASE WHEN k.attnum = 0 THEN pg_get_indexdef(i.indexrelid, k.n::int, true) END,
                 'desc', k.n <= i.indnkeyatts AND (i.indoption[k.n - 1] & 1) = 1,
                 'opclass', CASE WHEN k.n <= i.indnkeyatts AND NOT oc.opcdefault THEN oc.opcname END)
               ORDER BY k.n)
          FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
          LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
          LEFT JOIN pg_opclass oc ON k.n <= i.indnkeyatts AND oc.oid = i.indclass[k.n - 1]) AS parts
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
     AND con.contype IN ('p', 'u', 'x')
WHERE i.indrelid = ANY($1::oid[])
ORDER BY i.indrelid, ic.relname)";

constexpr const char* kForeignKeysSql = R"(
SELECT con.conrelid::text AS oid, con.conname AS name, fn.nspname AS ref_schema,
       fc.relname AS ref_table,
       (SELECT json_agg(a.attname ORDER BY k.n) FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, n)
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
       (SELECT json_agg(a.attname ORDER BY k.n) FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, n)
          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS ref_columns,
       con.confupdtype AS on_update, con.confdeltype AS on_delete
FROM pg_constraint con
JOIN pg_class fc ON fc.oid = con.confrelid
JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype = 'f' AND con.conrelid = ANY($1::oid[])
ORDER BY con.conrelid, con.conname)";

constexpr const char* kChecksSql = R"(
SELECT con.conrelid::text AS oid, con.conname AS name, pg_get_constraintdef(con.oid) AS def,
       con.convalidated AS valid,
       (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
         WHERE a.attrelid = con.conrelid AND a.attnum = ANY(con.conkey)) AS columns
FROM pg_constraint con
WHERE con.contype = 'c' AND con.conrelid = ANY($1::oid[])
ORDER BY con.conrelid, con.conname)";

}  // namespace

const char* const kPgTypeDefinitionSql = R"(CASE t.typtype
  WHEN 'e' THEN format('CREATE TYPE %s AS ENUM (%s)', t.oid::regtype,
    (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e
      WHERE e.enumtypid = t.oid))
  WHEN 'd' THEN format('CREATE DOMAIN %s AS %s', t.oid::regtype, format_type(t.typbasetype, t.typtypmod))
    || CASE WHEN t.typcollation <> 0 AND t.typcollation <> (SELECT b.typcollation FROM pg_type b WHERE b.oid = t.typbasetype)
       THEN (SELECT format(' COLLATE %I.%I', cn.nspname, co.collname) FROM pg_collation co
               JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation) ELSE '' END
    || COALESCE(' DEFAULT ' || t.typdefault, '') || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
    || COALESCE((SELECT string_agg(format(' CONSTRAINT %I %s', c.conname, pg_get_constraintdef(c.oid)), '' ORDER BY c.conname)
                   FROM pg_constraint c WHERE c.contypid = t.oid), '')
  END)";

namespace {

// The enums and domains the tables' columns use (arrays of them too, domains over them too), the
// bases first; and the collations outside pg_catalog that columns use.
std::string TypesSql() {
  return fmt::format(R"(
WITH RECURSIVE used(rel, typ, depth) AS (
  SELECT a.attrelid, CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END, 0
  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
  WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
  UNION
  SELECT u.rel, t.typbasetype, u.depth + 1 FROM used u JOIN pg_type t ON t.oid = u.typ
  WHERE t.typtype = 'd' AND u.depth < 16
)
SELECT u.rel::text AS oid, CASE t.typtype WHEN 'e' THEN 'enum' ELSE 'domain' END AS kind,
       t.oid::regtype::text AS name, {} AS definition, max(u.depth) AS depth
FROM used u JOIN pg_type t ON t.oid = u.typ JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
GROUP BY u.rel, t.oid
UNION ALL
SELECT DISTINCT a.attrelid::text, 'collation', format('%I.%I', cn.nspname, co.collname),
       format('CREATE COLLATION IF NOT EXISTS %I.%I (provider = %s, locale = %L, deterministic = %s)',
              cn.nspname, co.collname, CASE co.collprovider WHEN 'i' THEN 'icu' ELSE 'libc' END,
              COALESCE(co.colliculocale, co.collcollate),
              CASE WHEN co.collisdeterministic THEN 'true' ELSE 'false' END), 1000
FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation
JOIN pg_namespace cn ON cn.oid = co.collnamespace
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped AND cn.nspname <> 'pg_catalog'
ORDER BY 1, 5 DESC, 3)", kPgTypeDefinitionSql);
}

constexpr const char* kStatsSql = R"(
SELECT c.oid::text AS oid, s.attname AS name, s.null_frac, s.n_distinct,
       array_to_json(s.most_common_vals::text::text[]) AS mcv,
       array_to_json(s.most_common_freqs) AS mcf, s.avg_width, s.correlation
FROM pg_stats s
JOIN pg_namespace n ON n.nspname = s.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
WHERE c.oid = ANY($1::oid[]) AND NOT s.inherited
ORDER BY c.oid, s.attname)";

std::string FkAction(const std::string& code) {
  if (code == "a") return "NO ACTION";
  if (code == "r") return "RESTRICT";
  if (code == "c") return "CASCADE";
  if (code == "n") return "SET NULL";
  if (code == "d") return "SET DEFAULT";
  return code;
}

std::vector<std::string> JsonStrings(const Value& v) {
  std::vector<std::string> out;
  if (!v) return out;
  for (const auto& item : nlohmann::json::parse(*v)) out.push_back(item.is_null() ? "" : item.get<std::string>());
  return out;
}

}  // namespace

SchemaInfo IntrospectPostgres(Connection& conn, const IntrospectOptions& options) {
  SchemaInfo schema;
  schema.engine = Engine::kPostgres;
  schema.database = conn.url().database;
  schema.server_version = conn.ServerVersion();
  Transaction tx(conn, TxOptions::Snapshot());
  ResultSet tables = conn.Query(kTablesSql, {options.schema, options.table});
  std::map<std::string, size_t> by_oid;
  std::string oids = "{";
  for (size_t i = 0; i < tables.rows.size(); ++i) {
    TableInfo t;
    t.schema = tables.Text(i, "schema");
    t.name = tables.Text(i, "name");
    t.row_estimate = std::stoll(tables.Text(i, "row_estimate"));
    t.data_bytes = std::stoll(tables.Text(i, "data_bytes"));
    t.index_bytes = std::stoll(tables.Text(i, "index_bytes"));
    t.total_bytes = std::stoll(tables.Text(i, "total_bytes"));
    t.partitioned = tables.Text(i, "partitioned") == "t";
    t.triggers = SplitLines(tables.At(i, "triggers").value_or(""));
    t.dependent_views = SplitLines(tables.At(i, "views").value_or(""));
    t.comment = tables.Text(i, "comment");
    t.options = JsonStrings(tables.At(i, "reloptions"));
    by_oid[tables.Text(i, "oid")] = schema.tables.size();
    oids += (i ? "," : "") + tables.Text(i, "oid");
    schema.tables.push_back(std::move(t));
  }
  oids += "}";
  auto table_of = [&](const ResultSet& rs, size_t row) -> TableInfo& {
    return schema.tables[by_oid.at(rs.Text(row, "oid"))];
  };

  ResultSet cols = conn.Query(kColumnsSql, {oids});
  for (size_t i = 0; i < cols.rows.size(); ++i) {
    ColumnInfo c;
    c.name = cols.Text(i, "name");
    c.type = cols.Text(i, "type");
    c.nullable = cols.Text(i, "not_null") != "t";
    c.identity = cols.Text(i, "identity") == "t";
    c.collation = cols.At(i, "collation").value_or("");
    c.comment = cols.Text(i, "comment");
    c.storage = cols.At(i, "storage").value_or("");
    c.compression = cols.At(i, "compression").value_or("");
    const Value& def = cols.At(i, "default_expr");
    if (cols.Text(i, "generated") == "t") {
      c.generated = def.value_or("");
      c.generated_stored = true;  // PostgreSQL 15 has no virtual generated columns
    } else {
      c.default_value = def;
    }
    table_of(cols, i).columns.push_back(std::move(c));
  }

  ResultSet idx = conn.Query(kIndexesSql, {oids});
  for (size_t i = 0; i < idx.rows.size(); ++i) {
    IndexInfo index;
    index.name = idx.Text(i, "name");
    index.unique = idx.Text(i, "is_unique") == "t";
    index.primary = idx.Text(i, "is_primary") == "t";
    index.valid = idx.Text(i, "is_valid") == "t";
    index.method = idx.Text(i, "method");
    index.predicate = idx.At(i, "predicate").value_or("");
    index.size_bytes = std::stoll(idx.Text(i, "size_bytes"));
    std::string ct = idx.Text(i, "constraint_type");
    index.constraint = ct == "p" ? "primary" : ct == "u" ? "unique" : ct == "x" ? "exclusion" : "";
    index.constraint_name = idx.At(i, "constraint_name").value_or("");
    index.constraint_def = idx.At(i, "constraint_def").value_or("");
    size_t key_count = std::stoul(idx.Text(i, "key_count"));
    auto parts = nlohmann::json::parse(idx.At(i, "parts").value_or("[]"));
    for (size_t k = 0; k < parts.size(); ++k) {
      const auto& p = parts[k];
      std::string name = p["name"].is_null() ? "" : p["name"].get<std::string>();
      if (k >= key_count) {
        index.include.push_back(name);
        continue;
      }
      IndexColumn col;
      col.name = name;
      col.expression = p["expr"].is_null() ? "" : p["expr"].get<std::string>();
      col.descending = p["desc"].get<bool>();
      col.opclass = p["opclass"].is_null() ? "" : p["opclass"].get<std::string>();
      index.columns.push_back(std::move(col));
    }
    TableInfo& t = table_of(idx, i);
    if (index.primary) {
      for (const IndexColumn& c : index.columns) t.primary_key.push_back(c.name);
    }
    t.indexes.push_back(std::move(index));
  }

  ResultSet fks = conn.Query(kForeignKeysSql, {oids});
  for (size_t i = 0; i < fks.rows.size(); ++i) {
    ForeignKeyInfo fk;
    fk.name = fks.Text(i, "name");
    fk.columns = JsonStrings(fks.At(i, "columns"));
    fk.ref_schema = fks.Text(i, "ref_schema");
    fk.ref_table = fks.Text(i, "ref_table");
    fk.ref_columns = JsonStrings(fks.At(i, "ref_columns"));
    fk.on_update = FkAction(fks.Text(i, "on_update"));
    fk.on_delete = FkAction(fks.Text(i, "on_delete"));
    table_of(fks, i).foreign_keys.push_back(std::move(fk));
  }

  ResultSet checks = conn.Query(kChecksSql, {oids});
  for (size_t i = 0; i < checks.rows.size(); ++i) {
    table_of(checks, i).checks.push_back(CheckInfo{checks.Text(i, "name"), checks.Text(i, "def"),
                                                   JsonStrings(checks.At(i, "columns")),
                                                   checks.Text(i, "valid") == "t"});
  }

  ResultSet types = conn.Query(TypesSql(), {oids});
  for (size_t i = 0; i < types.rows.size(); ++i) {
    table_of(types, i).types.push_back(UserType{types.Text(i, "kind"), types.Text(i, "name"),
                                                types.Text(i, "definition")});
  }

  if (options.statistics) {
    ResultSet stats = conn.Query(kStatsSql, {oids});
    for (size_t i = 0; i < stats.rows.size(); ++i) {
      TableInfo& t = table_of(stats, i);
      ColumnStats s;
      s.column = stats.Text(i, "name");
      if (const Value& nf = stats.At(i, "null_frac")) s.null_fraction = std::stod(*nf);
      if (const Value& nd = stats.At(i, "n_distinct")) {
        double d = std::stod(*nd);
        // Negative: minus the fraction of rows that are distinct (scales with the table).
        if (d < 0 && t.row_estimate > 0) {
          s.distinct = -d * static_cast<double>(t.row_estimate);
        } else if (d >= 0) {
          s.distinct = d;
        }
      }
      std::vector<std::string> vals = JsonStrings(stats.At(i, "mcv"));
      if (const Value& f = stats.At(i, "mcf")) {
        auto freqs = nlohmann::json::parse(*f);
        for (size_t k = 0; k < vals.size() && k < freqs.size(); ++k) {
          s.most_common.emplace_back(vals[k], freqs[k].get<double>());
        }
      }
      if (const Value& w = stats.At(i, "avg_width")) s.avg_width = std::stod(*w);
      if (const Value& c = stats.At(i, "correlation")) s.correlation = std::stod(*c);
      t.stats.push_back(std::move(s));
    }
  }
  tx.Commit();
  for (TableInfo& t : schema.tables) DeriveUniqueKeys(t);
  return schema;
}

}  // namespace shardshift::db
