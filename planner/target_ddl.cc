#include "planner/target_ddl.h"

#include <fmt/format.h>

#include "db/error.h"

namespace shardshift::planner {

std::string KeyPart(db::Engine engine, const db::IndexColumn& c) {
  std::string out = c.name.empty() ? "(" + c.expression + ")" : db::QuoteIdentifier(engine, c.name);
  if (c.prefix_length > 0) out += "(" + std::to_string(c.prefix_length) + ")";
  if (!c.opclass.empty()) out += " " + c.opclass;
  if (c.descending) out += " DESC";
  return out;
}

TargetDdl BuildTargetDdl(db::Engine engine, const db::TableInfo& source, const db::TableName& target) {
  TargetDdl out;
  auto q = [&](const std::string& name) { return db::QuoteIdentifier(engine, name); };
  const std::string table = db::QuoteTable(engine, target);
  std::vector<std::string> defs;
  for (const db::ColumnInfo& c : source.columns) {
    if (!c.generated.empty()) {
      throw db::Error(db::ErrorKind::kBadInput,
                      fmt::format("table {} has a generated column '{}': moving generated columns is not "
                                  "supported yet", source.name, c.name));
    }
    std::string def = q(c.name) + " " + c.type;
    if (!c.nullable) def += " NOT NULL";
    if (c.default_value) {
      if (c.default_value->find("nextval(") != std::string::npos) {
        out.notes.push_back(fmt::format("column {} loses its sequence default on the targets: values come "
                                        "from the source", c.name));
      } else {
        def += " DEFAULT " + *c.default_value;
      }
    }
    if (c.identity) {
      out.notes.push_back(fmt::format("column {} is not an identity / auto_increment column on the targets: "
                                      "values come from the source", c.name));
    }
    defs.push_back(def);
  }
  if (!source.primary_key.empty()) {
    std::string pk;
    for (const std::string& k : source.primary_key) pk += (pk.empty() ? "" : ", ") + q(k);
    defs.push_back("PRIMARY KEY (" + pk + ")");
  }
  std::vector<std::string> pg_indexes;
  for (const db::IndexInfo& idx : source.indexes) {
    if (idx.primary) continue;
    if (!idx.valid) {
      out.notes.push_back("index " + idx.name + " is invalid on the source and is not created on the targets");
      continue;
    }
    std::string parts;
    for (const db::IndexColumn& c : idx.columns) parts += (parts.empty() ? "" : ", ") + KeyPart(engine, c);
    if (engine == db::Engine::kMySQL) {
      defs.push_back(std::string(idx.unique ? "UNIQUE KEY " : "KEY ") + q(idx.name) + " (" + parts + ")");
      continue;
    }
    // PostgreSQL index names are unique per schema: a table under another name (perhaps in the
    // source's own database) gets its own, or IF NOT EXISTS would skip the index silently.
    const std::string name = target.name == source.name ? idx.name : (target.name + "_" + idx.name).substr(0, 63);
    std::string sql = std::string("CREATE ") + (idx.unique ? "UNIQUE " : "") + "INDEX IF NOT EXISTS " +
                      q(name) + " ON " + table + " USING " + idx.method + " (" + parts + ")";
    if (!idx.include.empty()) {
      std::string inc;
      for (const std::string& c : idx.include) inc += (inc.empty() ? "" : ", ") + q(c);
      sql += " INCLUDE (" + inc + ")";
    }
    if (!idx.predicate.empty()) sql += " WHERE " + idx.predicate;
    pg_indexes.push_back(sql);
  }
  for (const db::ForeignKeyInfo& fk : source.foreign_keys) {
    out.notes.push_back(fmt::format("foreign key {} ({}) -> {} is not created on the targets: a hash shard "
                                    "cannot reference rows on other shards", fk.name,
                                    fmt::join(fk.columns, ", "), fk.ref_table));
  }
  std::string create = "CREATE TABLE IF NOT EXISTS " + table + " (\n  " + fmt::format("{}", fmt::join(defs, ",\n  ")) + "\n)";
  if (engine == db::Engine::kMySQL) create += " ENGINE=InnoDB";
  out.create.push_back(create);
  out.create.insert(out.create.end(), pg_indexes.begin(), pg_indexes.end());
  out.drop.push_back("DROP TABLE IF EXISTS " + table);
  return out;
}

}  // namespace shardshift::planner
