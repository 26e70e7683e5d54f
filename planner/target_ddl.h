// The statements that create a source table's twin on a target database: its columns (types,
// nullability, defaults), primary key and secondary indexes (unique, partial, covering,
// descending, expression, prefix), each idempotent (IF NOT EXISTS) so a resumed run may repeat
// them. What does not carry over, and why, is returned as notes for the plan's warnings: foreign
// keys (a hash shard cannot point at rows on another shard) and sequence defaults (keys come from
// the source). Pure: no database is touched.
#pragma once

#include <string>
#include <vector>

#include "db/connection.h"
#include "db/schema.h"

namespace shardshift::planner {

struct TargetDdl {
  std::vector<std::string> create;  // run in order
  std::vector<std::string> drop;    // the undo
  std::vector<std::string> notes;   // what was left out, for a human
};

// Throws db::Error(kBadInput) for what cannot be moved row by row: generated columns.
// One key part of an existing index as CREATE INDEX spells it: column or (expression), prefix
// length, operator class, DESC.
std::string KeyPart(db::Engine engine, const db::IndexColumn& c);

TargetDdl BuildTargetDdl(db::Engine engine, const db::TableInfo& source, const db::TableName& target);

}  // namespace shardshift::planner
