// The statements a database ran, parsed: PostgreSQL's pg_stat_statements (this database's, by
// total time) or MariaDB's performance_schema statement digests (rewritten into PostgreSQL's
// spelling for libpg-query). What the shard and split advisors weigh their candidates by.
// Read-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "db/connection.h"
#include "db/schema.h"
#include "planner/query_shape.h"

namespace shardshift::planner {

struct WorkloadStatement {
  std::string id;   // PostgreSQL's queryid (pg_qualstats refers to it); "" on MariaDB
  std::string sql;  // normalized text, as the server keeps it
  QueryShape shape;
  int64_t calls = 0;
  int64_t rows = 0;
};

struct Workload {
  bool known = false;   // false: the server keeps no statement statistics (note says why)
  std::string note;
  int unparsed = 0;     // statements libpg-query could not parse, left out
  std::vector<WorkloadStatement> statements;
};

// MariaDB digest text (`name`, ?) in PostgreSQL's spelling ("name", $n), for libpg-query.
std::string PostgresSpelling(const std::string& digest);

// At most the `limit` statements that took the most time; shardshift's own are left out: those
// that name a `_shardshift…` identifier (the advisors alias their sampling queries so), EXPLAIN,
// transaction control and other utility statements, which no index or shard key serves.
Workload ReadWorkload(db::Connection& conn, const db::SchemaInfo& schema, int limit = 500);

// Asks the server not to count this session's statements in the workload statistics the advisors
// read (PostgreSQL: pg_stat_statements.track = none, which needs a superuser; MariaDB: the
// session's thread uninstrumented in performance_schema.threads, which needs UPDATE there). Best
// effort: without the privilege the statements are still left out by ReadWorkload's filters.
// Returns whether the server agreed.
bool StopCountingThisSession(db::Connection& conn);

}  // namespace shardshift::planner
