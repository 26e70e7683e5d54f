#include "planner/target_ddl.h"

#include <algorithm>

#include <fmt/format.h>

#include "db/error.h"
#include "planner/fence_sql.h"

namespace shardshift::planner {

std::string KeyPart(db::Engine engine, const db::IndexColumn& c) {
  std::string out = c.name.empty() ? "(" + c.expression + ")" : db::QuoteIdentifier(engine, c.name);
  if (c.prefix_length > 0) out += "(" + std::to_string(c.prefix_length) + ")";
  if (!c.opclass.empty()) out += " " + c.opclass;
  if (c.descending) out += " DESC";
  return out;
}

namespace {

// A PostgreSQL enum or domain the table needs: created when the target lacks it; when the target
// has one of that name, it must be the same type (compared as the source described it), or the
// statement fails before any row is copied, naming both definitions. Several tables' runners may
// make the same type at once (a move of tables that share it): the one that loses the race finds
// it made, and compares it.
std::string EnsureType(const db::UserType& type) {
  if (type.kind == "collation") return type.definition;  // CREATE COLLATION IF NOT EXISTS
  const std::string name = SqlLiteral(db::Engine::kPostgres, type.name);
  const std::string body = fmt::format(
      "DECLARE\n  made boolean := false;\n"
      "BEGIN\n"
      "  IF to_regtype({0}) IS NULL THEN\n"
      "    BEGIN\n      {1};\n      made := true;\n"
      "    EXCEPTION WHEN duplicate_object OR unique_violation THEN\n      NULL;\n    END;\n"
      "  END IF;\n"
      "  IF NOT made AND (SELECT {2} FROM pg_type t WHERE t.oid = to_regtype({0})) IS DISTINCT FROM {3} THEN\n"
      "    RAISE EXCEPTION 'type % exists on this database as \"%\", but the source has \"%\"; make them equal "
      "or drop it here', {0}, (SELECT {2} FROM pg_type t WHERE t.oid = to_regtype({0})), {3};\n"
      "  END IF;\nEND",
      name, type.definition, db::kPgTypeDefinitionSql, SqlLiteral(db::Engine::kPostgres, type.definition));
  return "DO " + db::DollarQuote(body);
}

std::string MysqlColumn(const db::ColumnInfo& c) {
  std::string def = db::QuoteIdentifier(db::Engine::kMySQL, c.name) + " " + c.type;
  // Stated outright, so that a target database or server with other defaults gets the same column.
  if (!c.charset.empty()) def += " CHARACTER SET " + c.charset;
  if (!c.collation.empty()) def += " COLLATE " + c.collation;
  if (!c.generated.empty()) {
    // Computed by the target as by the source; the copy leaves it out (CopiedColumns).
    def += " GENERATED ALWAYS AS (" + c.generated + ")" + (c.generated_stored ? " STORED" : " VIRTUAL");
  } else {
    def += c.nullable ? " NULL" : " NOT NULL";  // NULL too: a TIMESTAMP is NOT NULL unless told
  }
  if (c.invisible) def += " INVISIBLE";
  if (c.default_value) def += " DEFAULT " + *c.default_value;
  if (!c.on_update.empty()) def += " ON UPDATE " + c.on_update;
  if (!c.comment.empty()) def += " COMMENT " + SqlLiteral(db::Engine::kMySQL, c.comment);
  if (!c.check.empty()) def += " CHECK (" + c.check + ")";
  return def;
}

}  // namespace

std::vector<std::string> CopiedColumns(const db::TableInfo& table) {
  std::vector<std::string> out;
  for (const db::ColumnInfo& c : table.columns) {
    if (c.generated.empty()) out.push_back(c.name);
  }
  return out;
}

TargetDdl BuildTargetDdl(db::Engine engine, const db::TableInfo& source, const db::TableName& target,
                         bool keep_counters) {
  TargetDdl out;
  std::vector<std::string> sequences;  // PostgreSQL, keep_counters: created before the table
  const bool pg = engine == db::Engine::kPostgres;
  auto q = [&](const std::string& name) { return db::QuoteIdentifier(engine, name); };
  const std::string table = db::QuoteTable(engine, target);
  // PostgreSQL index and constraint names are unique per schema: a table under another name
  // (perhaps in the source's own database) gets its own, or IF NOT EXISTS would skip one silently.
  const bool same_name = target.name == source.name;
  auto own = [&](const std::string& name) { return same_name ? name : (target.name + "_" + name).substr(0, 63); };
  std::vector<std::string> defs;
  std::vector<std::string> after;  // PostgreSQL: comments, storage, compression
  for (const db::ColumnInfo& c : source.columns) {
    db::ColumnInfo col = c;
    const bool sequence_default = col.default_value && col.default_value->find("nextval(") != std::string::npos;
    if (keep_counters && sequence_default && pg) {
      // nextval('users_id_seq'::regclass): the same name on the target, resolved the same way.
      const std::string& d = *col.default_value;
      const size_t from = d.find("nextval('") + 9;
      const size_t to = d.find("'::regclass", from);
      if (to != std::string::npos) {
        const std::string seq = d.substr(from, to - from);
        sequences.push_back("CREATE SEQUENCE IF NOT EXISTS " + seq);
        after.push_back(fmt::format("ALTER SEQUENCE {} OWNED BY {}.{}", seq, table, q(col.name)));
      }
    } else if (sequence_default) {
      out.notes.push_back(fmt::format("column {} loses its sequence default on the targets: values come "
                                      "from the source", c.name));
      col.default_value.reset();
    }
    if (c.identity && keep_counters) {
      if (!pg) col.type += " AUTO_INCREMENT";
    } else if (c.identity) {
      out.notes.push_back(fmt::format("column {} is not an identity / auto_increment column on the targets: "
                                      "values come from the source", c.name));
    }
    if (!pg) {
      defs.push_back(MysqlColumn(col));
      continue;
    }
    std::string def = q(col.name) + " " + col.type;
    if (!col.collation.empty()) def += " COLLATE " + col.collation;
    if (!col.nullable) def += " NOT NULL";
    if (col.default_value) def += " DEFAULT " + *col.default_value;
    if (!col.generated.empty()) def += " GENERATED ALWAYS AS (" + col.generated + ") STORED";
    if (c.identity && keep_counters) def += " GENERATED BY DEFAULT AS IDENTITY";
    defs.push_back(def);
    const std::string column = table + "." + q(col.name);
    if (!col.comment.empty()) {
      after.push_back(fmt::format("COMMENT ON COLUMN {} IS {}", column, SqlLiteral(engine, col.comment)));
    }
    if (!col.storage.empty()) {
      after.push_back(fmt::format("ALTER TABLE {} ALTER COLUMN {} SET STORAGE {}", table, q(col.name), col.storage));
    }
    if (!col.compression.empty()) {
      after.push_back(fmt::format("ALTER TABLE {} ALTER COLUMN {} SET COMPRESSION {}", table, q(col.name),
                                  col.compression));
    }
  }
  if (!source.primary_key.empty()) {
    std::string pk;
    for (const std::string& k : source.primary_key) pk += (pk.empty() ? "" : ", ") + q(k);
    std::string name;
    for (const db::IndexInfo& idx : source.indexes) {
      if (idx.primary && pg && same_name && !idx.constraint_name.empty()) name = "CONSTRAINT " + q(idx.name) + " ";
    }
    defs.push_back(name + "PRIMARY KEY (" + pk + ")");
  }
  std::vector<std::string> pg_indexes;
  for (const db::IndexInfo& idx : source.indexes) {
    if (idx.primary) continue;
    if (!idx.valid) {
      out.notes.push_back("index " + idx.name + " is invalid on the source and is not created on the targets");
      continue;
    }
    if (pg && (idx.constraint == "unique" || idx.constraint == "exclusion") && !idx.constraint_def.empty()) {
      // A constraint stays a constraint (pg_dump and ON CONFLICT ON CONSTRAINT see the difference).
      defs.push_back("CONSTRAINT " + q(own(idx.constraint_name.empty() ? idx.name : idx.constraint_name)) + " " +
                     idx.constraint_def);
      continue;
    }
    std::string parts;
    for (const db::IndexColumn& c : idx.columns) parts += (parts.empty() ? "" : ", ") + KeyPart(engine, c);
    if (!pg) {
      const std::string kind = idx.method == "fulltext" ? "FULLTEXT KEY "
                               : idx.method == "spatial" ? "SPATIAL KEY "
                               : idx.unique              ? "UNIQUE KEY "
                                                         : "KEY ";
      defs.push_back(kind + q(idx.name) + " (" + parts + ")" + (idx.method == "hash" ? " USING HASH" : ""));
      continue;
    }
    std::string sql = std::string("CREATE ") + (idx.unique ? "UNIQUE " : "") + "INDEX IF NOT EXISTS " +
                      q(own(idx.name)) + " ON " + table + " USING " + idx.method + " (" + parts + ")";
    if (!idx.include.empty()) {
      std::string inc;
      for (const std::string& c : idx.include) inc += (inc.empty() ? "" : ", ") + q(c);
      sql += " INCLUDE (" + inc + ")";
    }
    if (!idx.predicate.empty()) sql += " WHERE " + idx.predicate;
    pg_indexes.push_back(sql);
  }
  for (const db::CheckInfo& check : source.checks) {
    if (!check.valid) {
      out.notes.push_back(fmt::format("check constraint {} is NOT VALID on the source (rows there may break it) "
                                      "and is not created on the targets; add it there after the migration",
                                      check.name));
      continue;
    }
    defs.push_back("CONSTRAINT " + q(pg ? own(check.name) : check.name) + " " +
                   (pg ? check.expression : "CHECK (" + check.expression + ")"));
  }
  for (const db::ForeignKeyInfo& fk : source.foreign_keys) {
    out.notes.push_back(fmt::format("foreign key {} ({}) -> {} is not created on the targets: a hash shard "
                                    "cannot reference rows on other shards", fk.name,
                                    fmt::join(fk.columns, ", "), fk.ref_table));
  }
  for (const std::string& trigger : source.triggers) {
    out.notes.push_back(fmt::format("trigger {} is not created on the targets: create it there after the "
                                    "migration if the application needs it", trigger));
  }
  if (source.partitioned) {
    out.notes.push_back(fmt::format("{} is partitioned on the source; the targets are not", source.name));
  }
  for (const db::UserType& type : source.types) out.create.push_back(EnsureType(type));
  out.create.insert(out.create.end(), sequences.begin(), sequences.end());
  std::string create = "CREATE TABLE IF NOT EXISTS " + table + " (\n  " + fmt::format("{}", fmt::join(defs, ",\n  ")) + "\n)";
  if (pg) {
    if (!source.options.empty()) create += fmt::format(" WITH ({})", fmt::join(source.options, ", "));
  } else {
    create += " ENGINE=" + (source.storage_engine.empty() ? std::string("InnoDB") : source.storage_engine);
    if (!source.charset.empty()) create += " DEFAULT CHARSET=" + source.charset;
    if (!source.collation.empty()) create += " COLLATE=" + source.collation;
    for (const std::string& option : source.options) create += " " + option;
    if (!source.comment.empty()) create += " COMMENT=" + SqlLiteral(engine, source.comment);
  }
  out.create.push_back(create);
  out.create.insert(out.create.end(), pg_indexes.begin(), pg_indexes.end());
  if (pg && !source.comment.empty()) {
    out.create.push_back(fmt::format("COMMENT ON TABLE {} IS {}", table, SqlLiteral(engine, source.comment)));
  }
  out.create.insert(out.create.end(), after.begin(), after.end());
  out.drop.push_back("DROP TABLE IF EXISTS " + table);
  return out;
}

}  // namespace shardshift::planner
