// Functional partitioning advice (`advise split --functional`): which groups of tables could live
// in databases of their own (a user service, an order service), from the foreign-key graph and the
// workload. Tables that statements touch together stay together; a foreign key with no statement
// across it, or one whose statements are a small share of its tables' calls, is where a cut goes.
// Each group comes with what moving it costs and changes: the statements that would cross the cut
// (a join the application must then do itself) and their share of calls, the foreign keys that
// cannot cross databases, its bytes and its write rate. Read-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "db/connection.h"
#include "db/schema.h"
#include "planner/workload.h"

namespace shardshift::planner {

struct CrossingStatement {
  std::string statement;  // normalized text
  int64_t calls = 0;
  std::vector<std::string> outside;  // the tables it touches outside the group
};

struct FunctionalGroup {
  std::vector<std::string> tables;   // schema.name (MariaDB: name), sorted
  int64_t bytes = 0;
  int64_t rows = 0;
  double writes_per_day = -1;        // rows written a day in the counters' window; -1 unknown
  int64_t calls = 0;                 // calls of the statements touching only this group
  int64_t crossing_calls = 0;        // calls of the statements touching it and other tables
  double crossing_share = 0;         // crossing_calls / (calls + crossing_calls)
  std::vector<CrossingStatement> crossing;  // most called first
  std::vector<std::string> foreign_keys_cut;  // "orders.user_id -> users": cannot cross databases
  std::vector<std::string> counters;          // sequences and auto-increments the move must carry
  std::vector<std::string> dependents;        // views, routines and triggers that use its tables
  std::string why;
};

struct FunctionalAdviceOptions {
  // A foreign key or a pair of tables read together is kept whole when the statements touching
  // both are at least this share of the calls of the less used of the two.
  double keep_together = 0.10;
};

// Groups of two tables or more, most tables first (then most bytes); a table nothing keeps with
// another is listed in `alone`.
struct FunctionalAdvice {
  std::vector<FunctionalGroup> groups;
  std::vector<std::string> alone;  // tables no statement or foreign key ties to another
};

FunctionalAdvice AdviseFunctional(db::Connection& conn, const db::SchemaInfo& schema, const Workload& workload,
                                  const FunctionalAdviceOptions& options, std::vector<std::string>& notes);

}  // namespace shardshift::planner
