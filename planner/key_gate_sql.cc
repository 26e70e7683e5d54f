#include "planner/key_gate_sql.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <tuple>

#include "planner/fence_sql.h"

namespace shardshift::planner {

namespace {

uint64_t Hash(const std::string& text) { return XXH64(text.data(), text.size(), 0); }

}  // namespace

KeyGateSql BuildKeyGate(db::Engine engine, const db::TableName& table, const std::string& migration,
                        const std::string& column, const std::vector<std::string>& keys, const std::string& state,
                        const std::string& message) {
  const bool pg = engine == db::Engine::kPostgres;
  auto lit = [&](const std::string& s) { return SqlLiteral(engine, s); };
  const db::TableName gates{table.schema, "_shardshift_key_gates"};
  const std::string g = db::QuoteTable(engine, gates);
  const std::string t = db::QuoteTable(engine, table);
  const std::string c = db::QuoteIdentifier(engine, column);
  std::string in;
  for (const std::string& k : keys) in += (in.empty() ? "" : ", ") + lit(k);
  const std::string name =
      fmt::format("_shardshift_{:08x}_gate", static_cast<uint32_t>(Hash(migration + "\n" + table.schema + "\n" + table.name)));
  const std::string where = "migration = " + lit(migration);
  KeyGateSql out;
  out.state_sql = "SELECT state FROM " + g + " WHERE " + where;
  out.fence = {"UPDATE " + g + " SET state = 'fenced' WHERE " + where};
  out.open = {"UPDATE " + g + " SET state = 'open' WHERE " + where};
  out.remove_row = {"DELETE FROM " + g + " WHERE " + where};
  if (pg) {
    // A signed 64-bit advisory key of the migration.
    const int64_t lock = static_cast<int64_t>(Hash("shardshift key gate\n" + migration));
    // The tables of a move create it at once from parallel sessions, and PostgreSQL's IF NOT EXISTS
    // can then fail on the row type's name: the one that loses finds it made.
    out.create = {
        "DO " + db::DollarQuote("BEGIN CREATE TABLE IF NOT EXISTS " + g +
                                " (migration text PRIMARY KEY, state text NOT NULL, updated_at timestamptz NOT NULL "
                                "DEFAULT now()); EXCEPTION WHEN unique_violation OR duplicate_table THEN NULL; END"),
        "INSERT INTO " + g + " (migration, state) VALUES (" + lit(migration) + ", " + lit(state) +
            ") ON CONFLICT (migration) DO NOTHING",
    };
    const std::string fn = db::QuoteTable(engine, {table.schema, name});
    out.create.push_back(
        "CREATE OR REPLACE FUNCTION " + fn + "() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM "
        "CURRENT AS " +
        db::DollarQuote(fmt::format(
            "\nDECLARE s text;\nBEGIN\n"
            "  IF coalesce(current_setting('shardshift.session', true), '') <> 'on' THEN\n"
            "    PERFORM pg_advisory_xact_lock_shared({});\n"
            "    SELECT state INTO s FROM {} WHERE {} FOR SHARE;\n"
            "    IF s = 'fenced' THEN RAISE EXCEPTION USING ERRCODE = 'SSF01', MESSAGE = TG_ARGV[0]; END IF;\n"
            "  END IF;\n"
            "  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n  RETURN NEW;\nEND\n",
            lock, g, where)));
    const std::string msg = lit(CutText(message, 4000));
    for (const auto& [suffix, event, when] :
         {std::tuple{"_i", "INSERT", fmt::format("NEW.{} IN ({})", c, in)},
          std::tuple{"_u", "UPDATE", fmt::format("OLD.{0} IN ({1}) OR NEW.{0} IN ({1})", c, in)},
          std::tuple{"_d", "DELETE", fmt::format("OLD.{} IN ({})", c, in)}}) {
      const std::string trigger = name + suffix;
      out.create.push_back("CREATE OR REPLACE TRIGGER " + db::QuoteIdentifier(engine, trigger) + " BEFORE " + event +
                           " ON " + t + " FOR EACH ROW WHEN (" + when + ") EXECUTE FUNCTION " + fn + "(" + msg + ")");
      out.remove.push_back("DROP TRIGGER IF EXISTS " + db::QuoteIdentifier(engine, trigger) + " ON " + t);
      out.triggers.push_back(trigger);
    }
    out.remove.push_back("DROP FUNCTION IF EXISTS " + fn + "()");
    out.hold = {fmt::format("SELECT pg_advisory_xact_lock({})", lock)};
    return out;
  }
  out.create = {
      "CREATE TABLE IF NOT EXISTS " + g +
          " (migration VARCHAR(200) NOT NULL PRIMARY KEY, state VARCHAR(16) NOT NULL, updated_at TIMESTAMP(6) NOT NULL "
          "DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
          "COLLATE=utf8mb4_bin",
      "INSERT IGNORE INTO " + g + " (migration, state) VALUES (" + lit(migration) + ", " + lit(state) + ")",
  };
  const std::string msg = lit(CutText(message, 500));
  for (const auto& [suffix, event, when] :
       {std::tuple{"_bi", "INSERT", fmt::format("NEW.{} IN ({})", c, in)},
        std::tuple{"_bu", "UPDATE", fmt::format("OLD.{0} IN ({1}) OR NEW.{0} IN ({1})", c, in)},
        std::tuple{"_bd", "DELETE", fmt::format("OLD.{} IN ({})", c, in)}}) {
    const std::string trigger = name + suffix;
    const std::string q = db::QuoteIdentifier(engine, trigger);
    const std::string qualified = table.schema.empty() ? q : db::QuoteIdentifier(engine, table.schema) + "." + q;
    out.create.push_back("CREATE TRIGGER IF NOT EXISTS " + qualified + " BEFORE " + event + " ON " + t +
                         " FOR EACH ROW BEGIN DECLARE s VARCHAR(16); IF @shardshift_session IS NULL AND (" + when +
                         ") THEN SELECT state INTO s FROM " + g + " WHERE " + where +
                         " LOCK IN SHARE MODE; IF s = 'fenced' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = " + msg +
                         ", MYSQL_ERRNO = 1644; END IF; END IF; END");
    out.remove.push_back("DROP TRIGGER IF EXISTS " + qualified);
    out.triggers.push_back(trigger);
  }
  out.hold = {"SELECT state FROM " + g + " WHERE " + where + " FOR UPDATE"};
  return out;
}

}  // namespace shardshift::planner
