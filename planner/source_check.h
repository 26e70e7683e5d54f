// The checks a reshard spec must pass against the live schemas before anything is planned: the
// table exists on every source with one shape, the key is the primary key or a unique key of NOT
// NULL columns, and a target either lacks the table or has it in the same shape (a resumed run).
// A failure is the user's input meeting reality: plans::InputError located at the spec's field
// (exit 2), saying what differs and where. Read-only.
#pragma once

#include <string>
#include <vector>

#include "db/schema.h"
#include "planner/inspector.h"
#include "plans/spec.h"

namespace shardshift::planner {

struct SourceSchemas {
  db::TableInfo table;                    // the table as the first source has it
  std::vector<std::string> fingerprints;  // per source, the database schema's fingerprint
  std::vector<int64_t> row_estimates;     // per source, the table's estimated rows (-1 unknown)
  std::vector<bool> target_has_table;     // per target
};

SourceSchemas CheckReshardSources(SchemaReader& reader, const plans::Spec& spec);

// "" when a and b have the same columns (names, types, character sets, collations, nullability,
// defaults other than a sequence's, order) and primary key;
// otherwise the first difference, in words.
std::string ShapeDifference(const db::TableInfo& a, const std::string& a_name,
                            const db::TableInfo& b, const std::string& b_name);

// A key as messages show it: "(a, b)".
std::string KeyText(const std::vector<std::string>& key);

}  // namespace shardshift::planner
