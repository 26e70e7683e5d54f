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

}  // namespace shardshift::planner
