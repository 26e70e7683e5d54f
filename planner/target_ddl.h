// The statements that create a source table's twin on a target database, faithfully: its columns
// (types, character sets and collations, nullability, defaults, generated columns, comments, ON
// UPDATE, INVISIBLE, storage), primary key, unique, exclusion and CHECK constraints, secondary
// indexes (partial, covering, descending, expression, prefix, FULLTEXT), table options, and on
// PostgreSQL the enums, domains and collations its columns use; each idempotent (IF NOT EXISTS)
// so a resumed run may repeat them (docs/resharding.md, "What the targets get"). What does not
// carry over, and why, is returned as notes for the plan's warnings: foreign keys (a hash shard
// cannot point at rows on another shard), sequence defaults and identity (keys come from the
// source), triggers, partitioning, NOT VALID checks. Pure: no database is touched.
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

// One key part of an existing index as CREATE INDEX spells it: column or (expression), prefix
// length, operator class, DESC.
std::string KeyPart(db::Engine engine, const db::IndexColumn& c);

// Generated columns are created as generated (the target computes them); the copy moves the other
// columns: these, in order.
std::vector<std::string> CopiedColumns(const db::TableInfo& table);

// keep_counters (a move_tables plan, whose target takes the application's inserts after the switch):
// sequence defaults, identity and auto_increment columns stay what they are on the source (an
// identity becomes BY DEFAULT, so that the copy may write the source's values), and each sequence a
// default names is created; the cutover sets them past the source's values.
TargetDdl BuildTargetDdl(db::Engine engine, const db::TableInfo& source, const db::TableName& target,
                         bool keep_counters = false);

}  // namespace shardshift::planner
