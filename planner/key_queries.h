// SQL the planner reads keys with, per engine: pure functions returning text and parameters, with
// identifiers quoted by the engine's rules. Read-only statements only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"
#include "db/value.h"

namespace shardshift::planner {

struct Statement {
  std::string sql;
  db::Params params;
};

// The key columns of every row (fraction >= 1), or of a deterministic sample of about that
// fraction of rows: TABLESAMPLE SYSTEM ... REPEATABLE on PostgreSQL, RAND(seed) on MySQL, so that
// re-planning unchanged data reads the same sample.
Statement KeySampleQuery(db::Engine engine, const db::TableName& table,
                         const std::vector<std::string>& key, double fraction);

// Counts the rows whose key lies below `from` (inclusive bound) or at/above `to` (exclusive
// bound), columns "below" and "above". Composite keys compare as row values. A missing bound
// counts nothing on its side.
Statement OutsideRangeQuery(db::Engine engine, const db::TableName& table,
                            const std::vector<std::string>& key,
                            const std::optional<std::vector<std::string>>& from,
                            const std::optional<std::vector<std::string>>& to);

}  // namespace shardshift::planner
