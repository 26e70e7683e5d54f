// The parameters of a create_index plan in the types its runner uses (see copy_params.h for why):
// read once, every mistake in a hand-edited plan found before anything connects.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "plans/copy_params.h"
#include "plans/plan.h"

namespace shardshift::plans {

// An expression key part as the catalog prints it and as a spec may write it compare equal:
// lower("email"), (lower(email)).
bool SameExpression(const std::string& a, const std::string& b);

struct IndexColumnParams {
  std::string name;         // the column, or the expression's SQL when `expression`
  bool descending = false;
  bool expression = false;
};

// What a build step asks for, as the catalog must show it afterwards.
struct IndexBuildParams {
  std::string table;
  std::string index;
  bool unique = false;
  std::string where;  // the predicate of a partial index; "" = none
  std::vector<IndexColumnParams> columns;
  std::vector<std::string> include;
};

// A shadow-table rebuild inside the plan: its steps (params "shadow" = tag) run as a plan of
// their own, checked against the table's fingerprint when planned.
struct ShadowParams {
  std::string tag;
  std::string database;
  std::string fingerprint;
  std::vector<size_t> steps;  // indexes into plan.steps, in order
};

struct IndexParams {
  std::vector<std::string> databases;  // every shard; the first holds the run state and lock
  int64_t parallel = 1;                // shards built at once
  Pace pace;
  std::map<std::string, IndexBuildParams> builds;  // by step id: every build_index step
  std::vector<ShadowParams> shadows;
};

// Throws InputError naming the step, the parameter and where the file holds it. A plan with no
// steps (every index was there already) reads as empty.
IndexParams ReadIndexParams(const Plan& plan);

}  // namespace shardshift::plans
