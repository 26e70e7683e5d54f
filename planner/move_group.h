// What moving a group of tables to another database touches (functional partitioning, issue 21):
// the foreign keys among the moved tables (carried), those between a moved and a staying table
// (which cannot cross databases), the sequences and auto-increment counters the moved tables draw
// from, and the views, functions and triggers that use a moved table. Read-only; what `advise
// split --functional` shows for each group, and what a move_tables plan must refuse or carry.
#pragma once

#include <string>
#include <vector>

#include "db/connection.h"
#include "db/schema.h"

namespace shardshift::planner {

// A foreign key of table (the referencing side) that a move touches.
struct MovedForeignKey {
  const db::TableInfo* table = nullptr;
  const db::ForeignKeyInfo* fk = nullptr;
  const db::TableInfo* ref = nullptr;  // the referenced table, when the schema has it
};

struct MoveGroupCheck {
  std::vector<MovedForeignKey> carried, cut;      // the same keys as the two lists below, for the planner
  std::vector<std::pair<const db::TableInfo*, std::string>> counter_columns;  // (table, column) with a counter
  std::vector<std::string> carried_foreign_keys;  // "orders.user_id -> users", both tables moved
  std::vector<std::string> cut_foreign_keys;      // one side moved, the other staying
  std::vector<std::string> counters;              // "users.id: sequence public.users_id_seq", "orders.id: auto_increment"
  std::vector<std::string> dependents;            // "view public.order_totals", "function f(integer)", "trigger t on users"
};

// tables: schema.name (PostgreSQL) or name (MariaDB), each a table of schema.
MoveGroupCheck CheckMoveGroup(db::Connection& conn, const db::SchemaInfo& schema, const std::vector<std::string>& tables);

}  // namespace shardshift::planner
