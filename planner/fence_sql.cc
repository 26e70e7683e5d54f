#include "planner/fence_sql.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <tuple>

namespace shardshift::planner {

std::string SqlLiteral(db::Engine engine, const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "''";
    } else if (c == '\\' && engine == db::Engine::kMySQL) {
      out += "\\\\";
    } else if (c == '\0') {
      continue;
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string CutText(const std::string& text, size_t n) {
  if (text.size() <= n) return text;
  size_t end = n;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

namespace {

// The fence's trigger (and PostgreSQL function) name: derived from the migration, the kind of fence
// and the table, so that re-planning gives the same name and two migrations never share one.
std::string FenceName(const std::string& kind, const std::string& migration,
                      const db::TableName& table) {
  const std::string ident = migration + "\n" + kind + "\n" + table.schema + "\n" + table.name;
  return "_shardshift_" +
         fmt::format("{:08x}", static_cast<uint32_t>(XXH64(ident.data(), ident.size(), 0))) +
         "_fence";
}

// A MariaDB trigger name in the table's schema.
std::string QualifiedTrigger(const db::TableName& table, const std::string& trigger) {
  const std::string q = db::QuoteIdentifier(db::Engine::kMySQL, trigger);
  return table.schema.empty() ? q : db::QuoteIdentifier(db::Engine::kMySQL, table.schema) + "." + q;
}

// PostgreSQL: a PL/pgSQL function that lets shardshift's own sessions by (returning pass) and
// otherwise runs body, and the trigger that calls it with the message on events (e.g. "BEFORE
// INSERT OR UPDATE"), for_each "ROW" or "STATEMENT".
FenceSql PostgresFence(const db::TableName& table, const std::string& name, const std::string& pass,
                       const std::string& body, const std::string& events, const std::string& for_each,
                       const std::string& message) {
  const db::Engine engine = db::Engine::kPostgres;
  const std::string fn = db::QuoteTable(engine, {table.schema, name});
  const std::string trigger = db::QuoteIdentifier(engine, name);
  const std::string t = db::QuoteTable(engine, table);
  FenceSql out;
  out.fence = {
      "CREATE OR REPLACE FUNCTION " + fn + "() RETURNS trigger LANGUAGE plpgsql AS " +
          db::DollarQuote("\nBEGIN\n  IF current_setting('shardshift.session', true) = 'on' THEN RETURN " + pass +
                          "; END IF;\n" + body + "END\n"),
      "CREATE OR REPLACE TRIGGER " + trigger + " " + events + " ON " + t + " FOR EACH " + for_each +
          " EXECUTE FUNCTION " + fn + "(" + SqlLiteral(engine, CutText(message, 4000)) + ")",
  };
  out.unfence = {"DROP TRIGGER IF EXISTS " + trigger + " ON " + t};
  out.triggers = {name};
  return out;
}

}  // namespace

FenceSql BuildFence(db::Engine engine, const db::TableName& table, const std::string& migration,
                    const std::string& message) {
  const std::string name = FenceName("fence", migration, table);
  const std::string t = db::QuoteTable(engine, table);
  if (engine == db::Engine::kPostgres) {
    return PostgresFence(table, name, "NULL",
                         "  RAISE EXCEPTION USING ERRCODE = 'SSF01', MESSAGE = TG_ARGV[0];\n",
                         "BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE", "STATEMENT", message);
  }
  FenceSql out;
  // MariaDB carries at most 512 characters in MESSAGE_TEXT.
  const std::string text = SqlLiteral(engine, CutText(message, 500));
  for (const auto& [suffix, event] :
       {std::pair{"_bi", "INSERT"}, {"_bu", "UPDATE"}, {"_bd", "DELETE"}}) {
    const std::string trigger = name + suffix;
    const std::string qualified = QualifiedTrigger(table, trigger);
    out.fence.push_back(
        "CREATE TRIGGER IF NOT EXISTS " + qualified + " BEFORE " + event + " ON " + t +
        " FOR EACH ROW IF @shardshift_session IS NULL THEN SIGNAL SQLSTATE '45000' SET "
        "MESSAGE_TEXT = " +
        text + ", MYSQL_ERRNO = 1644; END IF");
    out.unfence.push_back("DROP TRIGGER IF EXISTS " + qualified);
    out.triggers.push_back(trigger);
  }
  return out;
}

FenceSql BuildColumnFence(db::Engine engine, const db::TableName& table,
                          const std::string& migration,
                          const std::vector<std::pair<std::string, bool>>& moved,
                          const std::string& message) {
  const std::string name = FenceName("column fence", migration, table);
  auto q = [&](const std::string& id) { return db::QuoteIdentifier(engine, id); };
  const std::string t = db::QuoteTable(engine, table);
  std::string changed;  // any moved column changed by an UPDATE
  std::string given;    // any nullable moved column given a value by an INSERT
  for (const auto& [column, nullable] : moved) {
    if (engine == db::Engine::kPostgres) {
      changed += (changed.empty() ? "" : " OR ") +
                 fmt::format("NEW.{0} IS DISTINCT FROM OLD.{0}", q(column));
    } else {
      changed +=
          (changed.empty() ? "" : " OR ") + fmt::format("NOT (NEW.{0} <=> OLD.{0})", q(column));
    }
    if (nullable)
      given += (given.empty() ? "" : " OR ") + fmt::format("NEW.{} IS NOT NULL", q(column));
  }
  if (given.empty()) given = "FALSE";
  if (engine == db::Engine::kPostgres) {
    return PostgresFence(table, name, "NEW",
                         "  IF (TG_OP = 'UPDATE' AND (" + changed + ")) OR (TG_OP = 'INSERT' AND (" + given +
                             ")) THEN\n    RAISE EXCEPTION USING ERRCODE = 'SSF01', MESSAGE = TG_ARGV[0];\n  END IF;\n"
                             "  RETURN NEW;\n",
                         "BEFORE INSERT OR UPDATE", "ROW", message);
  }
  FenceSql out;
  const std::string text = SqlLiteral(engine, CutText(message, 500));
  for (const auto& [suffix, event, when] :
       {std::tuple{"_bi", "INSERT", given}, std::tuple{"_bu", "UPDATE", changed}}) {
    if (when == "FALSE") continue;
    const std::string trigger = name + suffix;
    const std::string qualified = QualifiedTrigger(table, trigger);
    out.fence.push_back("CREATE TRIGGER IF NOT EXISTS " + qualified + " BEFORE " + event + " ON " +
                        t + " FOR EACH ROW IF @shardshift_session IS NULL AND (" + when +
                        ") THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = " + text +
                        ", MYSQL_ERRNO = 1644; END IF");
    out.unfence.push_back("DROP TRIGGER IF EXISTS " + qualified);
    out.triggers.push_back(trigger);
  }
  return out;
}

}  // namespace shardshift::planner
