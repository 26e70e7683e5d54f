#include "planner/capture_sql.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "db/error.h"
#include "planner/fence_sql.h"

namespace shardshift::planner {

namespace {

std::string Short(const std::string& text, size_t n) {
  std::string out;
  for (char c : text) {
    if (out.size() >= n) break;
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  }
  return out;
}

std::string Tag(const db::TableInfo& table, const std::string& migration, const std::string& role) {
  const std::string ident = migration + "\n" + table.schema + "\n" + table.name + (role.empty() ? "" : "\n" + role);
  return fmt::format("{:08x}", static_cast<uint32_t>(XXH64(ident.data(), ident.size(), 0)));
}

}  // namespace

CaptureSql BuildCapture(db::Engine engine, const db::TableInfo& table,
                        const std::vector<std::string>& key, const std::string& migration,
                        const std::string& role, const CaptureFilter& only) {
  const std::string tag = Tag(table, migration, role);
  const std::string base = "_shardshift_" + tag;
  auto q = [&](const std::string& name) { return db::QuoteIdentifier(engine, name); };
  const db::TableName source{table.schema, table.name};
  CaptureSql out;
  out.changelog = {table.schema, "_shardshift_log_" + Short(table.name, 24) + "_" + tag};
  const std::string src = db::QuoteTable(engine, source);
  const std::string log = db::QuoteTable(engine, out.changelog);

  std::string key_defs;
  std::string key_cols;
  for (const std::string& k : key) {
    const db::ColumnInfo* c = table.FindColumn(k);
    if (!c) throw db::Error(db::ErrorKind::kBadInput, "table " + table.name + " has no column '" + k + "'");
    // The changelog holds the key columns beside its own; MariaDB's names ignore case.
    for (const char* own : {"_ss_id", "_ss_op", "_ss_at"}) {
      const bool same = engine == db::Engine::kPostgres
                            ? k == own
                            : std::equal(k.begin(), k.end(), own, own + std::strlen(own),
                                         [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
      if (same) {
        throw db::Error(db::ErrorKind::kBadInput,
                        fmt::format("key column '{}' of table {} has the name of a column of shardshift's changelog "
                                    "(_ss_id, _ss_op, _ss_at): capture cannot record it; nothing was changed",
                                    k, table.name));
      }
    }
    // In the column's own collation: replay takes only keys the copy has passed, compared in the
    // changelog, and the copy walks them in the table's order. The database's default collation
    // ordered some keys otherwise, and replay took them ahead of the copy (a delete lost so).
    key_defs += ", " + q(k) + " " + c->type;
    if (engine == db::Engine::kMySQL && !c->charset.empty()) key_defs += " CHARACTER SET " + c->charset;
    if (!c->collation.empty()) key_defs += " COLLATE " + c->collation;
    key_cols += (key_cols.empty() ? "" : ", ") + q(k);
  }
  auto row_of = [&](const char* which) {
    std::string out;
    for (const std::string& k : key) out += (out.empty() ? "" : ", ") + std::string(which) + "." + q(k);
    return out;
  };

  // The filter's condition on a row image ("NEW", "OLD"), "" without one.
  auto matches = [&](const char* which) -> std::string {
    if (only.column.empty()) return "";
    std::string in;
    for (const std::string& v : only.values) in += (in.empty() ? "" : ", ") + SqlLiteral(engine, v);
    return std::string(which) + "." + q(only.column) + " IN (" + in + ")";
  };
  auto when = [&](const std::vector<const char*>& images) -> std::string {
    if (only.column.empty()) return "";
    std::string any;
    for (const char* i : images) any += (any.empty() ? "" : " OR ") + matches(i);
    return any;
  };
  out.insert_trigger = base + (engine == db::Engine::kPostgres ? "_ins" : "_ai");
  if (engine == db::Engine::kPostgres) {
    // Three small triggers rather than one that branches on TG_OP: each change costs one short
    // PL/pgSQL call and one insert into the changelog (the key change of an UPDATE, rare, a second).
    const db::TableName fn_new{table.schema, base + "_new"};
    const db::TableName fn_old{table.schema, base + "_old"};
    auto function = [&](const db::TableName& fn, const char* which) {
      return "CREATE OR REPLACE FUNCTION " + db::QuoteTable(engine, fn) + "() RETURNS trigger LANGUAGE plpgsql AS " +
             db::DollarQuote("\nBEGIN\n"
                             "  IF current_setting('shardshift.session', true) = 'on' THEN RETURN NULL; END IF;\n"
                             "  INSERT INTO " + log + " (" + key_cols + ", _ss_op) VALUES (" + row_of(which) +
                             ", left(TG_OP, 1));\n"
                             "  RETURN NULL;\nEND\n");
    };
    auto pg_when = [](const std::string& cond) { return cond.empty() ? std::string() : " WHEN (" + cond + ")"; };
    std::string key_changed;
    for (const std::string& k : key) {
      key_changed += (key_changed.empty() ? "" : " OR ") + std::string("OLD.") + q(k) + " IS DISTINCT FROM NEW." + q(k);
    }
    out.install = {
        "CREATE TABLE IF NOT EXISTS " + log + " (_ss_id bigserial PRIMARY KEY" + key_defs +
            ", _ss_op char(1) NOT NULL, _ss_at timestamptz NOT NULL DEFAULT now())",
        "CREATE INDEX IF NOT EXISTS " + q(base + "_log_key") + " ON " + log + " (" + key_cols + ")",
        function(fn_new, "NEW"),
        function(fn_old, "OLD"),
        "CREATE OR REPLACE TRIGGER " + q(base + "_ins") + " AFTER INSERT ON " + src + " FOR EACH ROW" +
            pg_when(when({"NEW"})) + " EXECUTE FUNCTION " + db::QuoteTable(engine, fn_new) + "()",
        "CREATE OR REPLACE TRIGGER " + q(base + "_upd") + " AFTER UPDATE ON " + src + " FOR EACH ROW" +
            pg_when(when({"OLD", "NEW"})) + " EXECUTE FUNCTION " + db::QuoteTable(engine, fn_old) + "()",
        "CREATE OR REPLACE TRIGGER " + q(base + "_updkey") + " AFTER UPDATE ON " + src + " FOR EACH ROW WHEN ((" +
            key_changed + ")" + (only.column.empty() ? "" : " AND (" + when({"OLD", "NEW"}) + ")") +
            ") EXECUTE FUNCTION " + db::QuoteTable(engine, fn_new) + "()",
        "CREATE OR REPLACE TRIGGER " + q(base + "_del") + " AFTER DELETE ON " + src + " FOR EACH ROW" +
            pg_when(when({"OLD"})) + " EXECUTE FUNCTION " + db::QuoteTable(engine, fn_old) + "()",
    };
    out.remove = {
        "DROP TRIGGER IF EXISTS " + q(base + "_ins") + " ON " + src,
        "DROP TRIGGER IF EXISTS " + q(base + "_upd") + " ON " + src,
        "DROP TRIGGER IF EXISTS " + q(base + "_updkey") + " ON " + src,
        "DROP TRIGGER IF EXISTS " + q(base + "_del") + " ON " + src,
        "DROP FUNCTION IF EXISTS " + db::QuoteTable(engine, fn_new) + "()",
        "DROP FUNCTION IF EXISTS " + db::QuoteTable(engine, fn_old) + "()",
        "DROP TABLE IF EXISTS " + log,
    };
    return out;
  }

  auto my_and = [](const std::string& cond) { return cond.empty() ? std::string() : " AND (" + cond + ")"; };
  std::string changed;
  for (const std::string& k : key) {
    changed += (changed.empty() ? "" : " AND ") + std::string("OLD.") + q(k) + " <=> NEW." + q(k);
  }
  out.install = {
      "CREATE TABLE IF NOT EXISTS " + log + " (_ss_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY" + key_defs +
          ", _ss_op CHAR(1) NOT NULL, _ss_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY " +
          q(base + "_log_key") + " (" + key_cols + ")) ENGINE=InnoDB",
      "CREATE TRIGGER IF NOT EXISTS " + q(base + "_ai") + " AFTER INSERT ON " + src +
          " FOR EACH ROW IF @shardshift_session IS NULL" + my_and(when({"NEW"})) + " THEN INSERT INTO " + log + " (" +
          key_cols + ", _ss_op) VALUES (" + row_of("NEW") + ", 'I'); END IF",
      "CREATE TRIGGER IF NOT EXISTS " + q(base + "_au") + " AFTER UPDATE ON " + src + " FOR EACH ROW\n"
          "IF @shardshift_session IS NULL" + my_and(when({"OLD", "NEW"})) + " THEN\n"
          "  INSERT INTO " + log + " (" + key_cols + ", _ss_op) VALUES (" + row_of("OLD") + ", 'U');\n"
          "  IF NOT (" + changed + ") THEN\n"
          "    INSERT INTO " + log + " (" + key_cols + ", _ss_op) VALUES (" + row_of("NEW") + ", 'U');\n"
          "  END IF;\nEND IF",
      "CREATE TRIGGER IF NOT EXISTS " + q(base + "_ad") + " AFTER DELETE ON " + src +
          " FOR EACH ROW IF @shardshift_session IS NULL" + my_and(when({"OLD"})) + " THEN INSERT INTO " + log + " (" +
          key_cols + ", _ss_op) VALUES (" + row_of("OLD") + ", 'D'); END IF",
  };
  out.remove = {
      "DROP TRIGGER IF EXISTS " + q(base + "_ai"),
      "DROP TRIGGER IF EXISTS " + q(base + "_au"),
      "DROP TRIGGER IF EXISTS " + q(base + "_ad"),
      "DROP TABLE IF EXISTS " + log,
  };
  return out;
}

CaptureSql BuildLogCapture(const db::TableInfo& table, const std::vector<std::string>& key,
                           const std::string& migration, const std::string& source) {
  const db::Engine engine = db::Engine::kPostgres;
  CaptureSql triggers = BuildCapture(engine, table, key, migration);  // the changelog and its key index
  CaptureSql out;
  out.changelog = triggers.changelog;
  // A publication belongs to its database; a slot to the whole server.
  out.publication = "shardshift_" + Tag(table, migration, "");
  out.slot = "shardshift_" + Tag(table, migration, "slot\n" + source);
  const std::string src = db::QuoteTable(engine, {table.schema, table.name});
  out.install = {triggers.install.at(0), triggers.install.at(1),
                 "DO " + db::DollarQuote("\nBEGIN\n  IF NOT EXISTS (SELECT FROM pg_publication WHERE pubname = '" +
                                         out.publication + "') THEN\n    CREATE PUBLICATION " + out.publication +
                                         " FOR TABLE " + src + ";\n  END IF;\nEND\n"),
                 "SELECT pg_create_logical_replication_slot('" + out.slot + "', 'pgoutput') WHERE NOT EXISTS "
                 "(SELECT FROM pg_replication_slots WHERE slot_name = '" + out.slot + "')"};
  // A slot in use (by a stream that a killed run left, whose server side has not noticed yet)
  // cannot be dropped: its session is ended first.
  out.remove = {"SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '" + out.slot +
                    "' AND active_pid IS NOT NULL",
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" + out.slot +
                    "'",
                "DROP PUBLICATION IF EXISTS " + out.publication, triggers.remove.back()};
  return out;
}

CaptureSql BuildBinlogCapture(const db::TableInfo& table, const std::vector<std::string>& key,
                              const std::string& migration, const std::string& source) {
  const db::Engine engine = db::Engine::kMySQL;
  CaptureSql triggers = BuildCapture(engine, table, key, migration);  // the changelog, with its key index
  CaptureSql out;
  out.changelog = triggers.changelog;
  const std::string tag = Tag(table, migration, "binlog\n" + source);
  out.position = {table.schema, "_shardshift_pos_" + tag};
  out.server_id = 0x40000000u + static_cast<uint32_t>(std::stoul(tag, nullptr, 16) % 0x3fffffffu);
  const std::string pos = db::QuoteTable(engine, out.position);
  out.install = {triggers.install.at(0),
                 "CREATE TABLE IF NOT EXISTS " + pos +
                     " (id TINYINT NOT NULL PRIMARY KEY, gtid TEXT NOT NULL, at VARCHAR(255) NOT NULL DEFAULT '', "
                     "saved_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB",
                 "INSERT IGNORE INTO " + pos + " (id, gtid) VALUES (1, @@gtid_binlog_pos)"};
  out.remove = {"DROP TABLE IF EXISTS " + pos, triggers.remove.back()};
  return out;
}

}  // namespace shardshift::planner
