// The neutral schema model both engines introspect into, so that the planner and advisors reason
// about one shape. Types stay in each engine's own spelling ("numeric(30,10)", "varchar(255)").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "db/url.h"

namespace shardshift::db {

struct ColumnInfo {
  std::string name;
  std::string type;
  bool nullable = true;
  std::optional<std::string> default_value;  // the default expression as the engine prints it
  std::string generated;                      // generation expression, "" if not generated
  bool identity = false;                      // identity / auto_increment
  // What a faithful copy of the column needs beyond its type (DDL spelling, "" when none):
  std::string charset;      // MySQL: the column's character set (text columns)
  std::string collation;    // MySQL: its collation; PostgreSQL: a non-default one, quoted ("pg_catalog"."C")
  std::string comment;      // the column's comment
  std::string on_update;    // MySQL: ON UPDATE expression (current_timestamp())
  std::string check;        // MySQL: the column-level CHECK clause (json_valid(`doc`) for a json column)
  bool invisible = false;   // MySQL: INVISIBLE
  std::string storage;      // PostgreSQL: SET STORAGE when not the type's default (external, main, ...)
  std::string compression;  // PostgreSQL: SET COMPRESSION when set (pglz, lz4)
  bool generated_stored = false;  // a generated column that is stored (PostgreSQL's are; MariaDB PERSISTENT)

  // A column with only a name, a type and nullability, for shapes built by hand.
  static ColumnInfo Plain(std::string name, std::string type, bool nullable) {
    ColumnInfo c;
    c.name = std::move(name);
    c.type = std::move(type);
    c.nullable = nullable;
    return c;
  }
};

// A table-level CHECK constraint.
struct CheckInfo {
  std::string name;
  std::string expression;            // PostgreSQL: pg_get_constraintdef ("CHECK (qty > 0)"); MySQL: the clause
  std::vector<std::string> columns;  // the columns it reads, where the engine says (PostgreSQL)
  bool valid = true;                 // false for PostgreSQL's NOT VALID
};

// A PostgreSQL type a column needs that a fresh database lacks: an enum or a domain (or a
// collation), with the statement that creates it, as pg_catalog describes it.
struct UserType {
  std::string kind;        // "enum", "domain", "collation"
  std::string name;        // as the column's type (or COLLATE clause) spells it
  std::string definition;  // CREATE TYPE / CREATE DOMAIN / CREATE COLLATION statement
};

struct IndexColumn {
  std::string name;        // the column; "" when the key part is an expression
  std::string expression;  // the expression, for expression key parts
  bool descending = false;
  std::string opclass;     // a non-default operator class (PostgreSQL), else ""
  int prefix_length = 0;   // MySQL prefix index length, 0 for the whole column
};

struct IndexInfo {
  std::string name;
  std::vector<IndexColumn> columns;  // key columns, in order
  std::vector<std::string> include;  // covering (INCLUDE) columns
  bool unique = false;
  bool primary = false;
  bool valid = true;       // false for a failed CREATE INDEX CONCURRENTLY leftover
  std::string method;      // btree, hash, gin, ...
  std::string predicate;   // partial index WHERE clause, "" if none
  std::string constraint;  // "primary", "unique", "exclusion" when it backs one, else ""
  int64_t size_bytes = -1;
  std::string constraint_name;  // PostgreSQL: that constraint's name
  std::string constraint_def;   // PostgreSQL: pg_get_constraintdef ("UNIQUE (a)", "EXCLUDE USING gist (...)")

  // True when every key part is a plain column (no expression, no prefix).
  bool PlainColumns() const;
};

struct ForeignKeyInfo {
  std::string name;
  std::vector<std::string> columns;
  std::string ref_schema;
  std::string ref_table;
  std::vector<std::string> ref_columns;
  std::string on_update;  // "NO ACTION", "CASCADE", ...
  std::string on_delete;
};

struct ColumnStats {
  std::string column;
  std::optional<double> distinct;       // estimated distinct values
  std::optional<double> null_fraction;  // 0..1
  std::vector<std::pair<std::string, double>> most_common;  // value, frequency (0..1)
  std::optional<double> avg_width;      // average stored bytes of a value
  std::optional<double> correlation;    // PostgreSQL: physical order against value order, -1..1
};

struct TableInfo {
  std::string schema;
  std::string name;
  std::vector<ColumnInfo> columns;
  std::vector<std::string> primary_key;
  // Every key that makes rows unique and is usable as a row key: the primary key and each valid,
  // non-partial unique index over plain NOT NULL columns.
  std::vector<std::vector<std::string>> unique_keys;
  std::vector<IndexInfo> indexes;
  std::vector<ForeignKeyInfo> foreign_keys;
  int64_t row_estimate = -1;  // -1 = the engine has no estimate (never analyzed)
  int64_t data_bytes = -1;
  int64_t index_bytes = -1;
  int64_t total_bytes = -1;
  std::vector<ColumnStats> stats;
  // Not part of the shape (Fingerprint): what a rebuild of the table must know about.
  std::string storage_engine;                // MySQL's ENGINE (InnoDB, Aria, ...); "" on PostgreSQL
  bool partitioned = false;                  // a PostgreSQL partitioned table
  std::vector<std::string> triggers;         // the user's triggers on it (not shardshift's own)
  std::vector<std::string> dependent_views;  // PostgreSQL views that use it (they follow the table, not its name)
  // Part of the shape, for a faithful copy (BuildTargetDdl):
  std::vector<CheckInfo> checks;             // table-level CHECK constraints
  std::string comment;                       // the table's comment
  std::string charset;                       // MySQL: the table's default character set
  std::string collation;                     // MySQL: the table's default collation
  std::vector<std::string> options;          // MySQL: CREATE_OPTIONS kept (row_format=DYNAMIC); PostgreSQL: reloptions
  std::vector<UserType> types;               // PostgreSQL: enums, domains and collations its columns use, bases first

  // schema.name, or the name alone when the schema is not known (MySQL).
  std::string Shown() const { return schema.empty() ? name : schema + "." + name; }
  const ColumnInfo* FindColumn(std::string_view column) const;
  const ColumnStats* FindStats(std::string_view column) const;
};

struct SchemaInfo {
  Engine engine = Engine::kPostgres;
  std::string database;
  std::string server_version;
  std::vector<TableInfo> tables;  // ordered by schema, then name

  const TableInfo* FindTable(std::string_view schema, std::string_view name) const;
  // A table as a user writes it, "name" (any schema) or "schema.name".
  const TableInfo* FindWritten(std::string_view written) const;
};

// PostgreSQL: an SQL expression over `pg_type t` giving the statement that creates type t (an enum
// or a domain), as UserType::definition holds it; a target compares its own type with it.
extern const char* const kPgTypeDefinitionSql;

// shardshift's own tables (run state, changelogs, shadow tables): never advised on or replicated.
bool IsShardshiftTable(std::string_view name);

struct IntrospectOptions {
  std::string schema;  // PostgreSQL: one schema ("" = all user schemas); MySQL: ignored
  std::string table;   // one table ("" = all)
  bool statistics = true;
};

// Derives TableInfo::unique_keys from primary_key, indexes and column nullability.
void DeriveUniqueKeys(TableInfo& table);

// Hex xxHash64 over the shape of the schema (tables, columns, types, nullability, defaults, keys,
// indexes, foreign keys) but not estimates or statistics, which change without DDL.
std::string Fingerprint(const SchemaInfo& schema);
std::string Fingerprint(const TableInfo& table);

nlohmann::json ToJson(const SchemaInfo& schema);
// A compact human listing, one block per table.
std::string RenderText(const SchemaInfo& schema);

}  // namespace shardshift::db
