// How the planner reads schemas: through SchemaReader, with a real implementation that connects
// to the databases of a catalog and an in-memory fake for planner unit tests (the pattern of
// leveldb's Env / NewMemEnv). The fake never stands in for a database in an integration test.
// Reading is read-only: the planner never writes to a user database.
#pragma once

#include <map>
#include <string>

#include "db/catalog.h"
#include "db/schema.h"

namespace shardshift::planner {

class SchemaReader {
 public:
  virtual ~SchemaReader() = default;
  // The schema of the named database. Throws db::Error (unknown database, unreachable server).
  virtual db::SchemaInfo Read(const std::string& database, const db::IntrospectOptions& options) = 0;
};

// Connects through the catalog for each read. The catalog must outlive the reader.
class EngineSchemaReader : public SchemaReader {
 public:
  explicit EngineSchemaReader(const db::Catalog& catalog) : catalog_(catalog) {}
  db::SchemaInfo Read(const std::string& database, const db::IntrospectOptions& options) override;

 private:
  const db::Catalog& catalog_;
};

// Schemas held in memory, by database name; filters by options.schema and options.table.
class MemorySchemaReader : public SchemaReader {
 public:
  void Add(const std::string& database, db::SchemaInfo schema);
  db::SchemaInfo Read(const std::string& database, const db::IntrospectOptions& options) override;

 private:
  std::map<std::string, db::SchemaInfo> schemas_;
};

// A column measured on a bounded sample of rows (read-only): distinct values (nearly all
// distinct in the sample counts as about as distinct as the table is large) and, with top, the
// most common value and its share. Zeros when the sample cannot be read.
struct ColumnSample {
  double distinct = 0;
  double top_share = 0;
  std::string top_value;
};
ColumnSample SampleColumn(db::Connection& conn, const db::TableInfo& table, const std::string& column, int64_t rows,
                          bool top);

}  // namespace shardshift::planner
