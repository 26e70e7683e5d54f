#include "planner/move_group.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "db/error.h"

namespace shardshift::planner {

MoveGroupCheck CheckMoveGroup(db::Connection& conn, const db::SchemaInfo& schema, const std::vector<std::string>& tables) {
  const bool pg = conn.engine() == db::Engine::kPostgres;
  MoveGroupCheck out;
  std::set<const db::TableInfo*> moved;
  for (const std::string& t : tables) {
    if (const db::TableInfo* info = schema.FindWritten(t)) moved.insert(info);
  }
  // Foreign keys in both directions.
  for (const db::TableInfo& t : schema.tables) {
    for (const db::ForeignKeyInfo& fk : t.foreign_keys) {
      const db::TableInfo* ref = pg ? schema.FindTable(fk.ref_schema.empty() ? t.schema : fk.ref_schema, fk.ref_table)
                                    : schema.FindWritten(fk.ref_table);
      const bool from = moved.count(&t) > 0;
      const bool to = ref && moved.count(ref) > 0;
      if (!from && !to) continue;
      const std::string text = fmt::format("{}.{} -> {} ({})", t.name, fmt::join(fk.columns, ","),
                                           ref ? ref->name : fk.ref_table, fk.name);
      (from && to ? out.carried_foreign_keys : out.cut_foreign_keys).push_back(text);
      (from && to ? out.carried : out.cut).push_back({&t, &fk, ref});
    }
  }
  for (const db::TableInfo* t : moved) {
    // The counters new rows draw their keys from: they must be set past the source's at the cutover.
    if (pg) {
      try {
        db::ResultSet r = conn.Query(
            "SELECT a.attname AS col, pg_get_serial_sequence($1, a.attname) AS seq FROM pg_attribute a "
            "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND "
            "pg_get_serial_sequence($1, a.attname) IS NOT NULL ORDER BY a.attnum",
            {db::QuoteTable(db::Engine::kPostgres, {t->schema, t->name})});
        for (size_t i = 0; i < r.rows.size(); ++i) {
          out.counters.push_back(fmt::format("{}.{}: sequence {}", t->name, r.Text(i, "col"), r.Text(i, "seq")));
          out.counter_columns.emplace_back(t, r.Text(i, "col"));
        }
      } catch (const db::Error&) {
      }
    } else {
      for (const db::ColumnInfo& c : t->columns) {
        if (c.identity) {
          out.counters.push_back(fmt::format("{}.{}: auto_increment", t->name, c.name));
          out.counter_columns.emplace_back(t, c.name);
        }
        if (c.default_value && c.default_value->find("nextval(") != std::string::npos) {
          out.counters.push_back(fmt::format("{}.{}: {}", t->name, c.name, *c.default_value));
        }
      }
    }
    for (const std::string& trigger : t->triggers) out.dependents.push_back(fmt::format("trigger {} on {}", trigger, t->name));
  }
  // Views and routines that name a moved table (PostgreSQL views by their dependencies; routines,
  // and MariaDB's views, by the table's name in their text: a routine's body is not parsed).
  try {
    for (const db::TableInfo* t : moved) {
      if (pg) {
        db::ResultSet v = conn.Query(
            "SELECT DISTINCT 'view ' || c.oid::regclass::text AS d FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
            "JOIN pg_class c ON c.oid = r.ev_class WHERE d.refobjid = $1::regclass AND c.oid <> d.refobjid "
            "UNION SELECT DISTINCT 'function ' || p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON "
            "n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prosrc ~* "
            "('\\m' || $2 || '\\M') ORDER BY 1",
            {db::QuoteTable(db::Engine::kPostgres, {t->schema, t->name}), t->name});
        for (size_t i = 0; i < v.rows.size(); ++i) out.dependents.push_back(v.Text(i, "d") + " uses " + t->name);
      } else {
        db::ResultSet v = conn.Query(
            "SELECT CONCAT('view ', TABLE_NAME) AS d FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() AND "
            "VIEW_DEFINITION REGEXP CONCAT('`', ?, '`') UNION SELECT CONCAT(LOWER(ROUTINE_TYPE), ' ', ROUTINE_NAME) FROM "
            "information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_DEFINITION REGEXP "
            "CONCAT('[[:<:]]', ?, '[[:>:]]') ORDER BY 1",
            {t->name, t->name});
        for (size_t i = 0; i < v.rows.size(); ++i) out.dependents.push_back(v.Text(i, "d") + " uses " + t->name);
      }
    }
  } catch (const db::Error& e) {
    out.dependents.push_back(std::string("(views and routines could not be read: ") + e.what() + ")");
  }
  for (auto* list : {&out.carried_foreign_keys, &out.cut_foreign_keys, &out.counters, &out.dependents}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  return out;
}

}  // namespace shardshift::planner
