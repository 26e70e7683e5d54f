// The parameters of a replica plan in the types its runner uses (see copy_params.h for why): read
// once, every mistake in a hand-edited plan found before anything connects.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "plans/copy_params.h"
#include "plans/plan.h"

namespace shardshift::plans {

// One replica as the plan describes it (the spec's [[replica.replicas]] entry).
struct ReplicaEntryParams {
  std::string database;
  std::string method;  // "logical", "physical" or "gtid"
  std::string mode;    // "async", "sync" or "semi-sync"
  std::string object;  // the name of what shardshift creates for it: slot, subscription, user
  int64_t max_lag_bytes = 0;
  double max_lag_seconds = 0;
};

// A table a replica holds, compared row by row by the verify step.
struct ReplicaTableParams {
  std::string table;
  std::vector<std::string> key;
  std::vector<std::string> columns;
};

// What one step does beyond its SQL.
struct ReplicaStepParams {
  std::string action;  // kReplica steps: check_primary, subscribe, basebackup, ...; "" for sql and verify
  std::string blocked;  // check_primary: what the primary lacked when planned ("" = nothing)
  std::vector<ReplicaTableParams> tables;  // a replica's steps: what it holds
  std::string data_dir;                    // basebackup, start_standby: the standby's folder
  std::string host;                        // start_standby: where it listens
  int64_t port = 0;
  bool makes_commits_wait = false;  // the sql step that sets synchronous_standby_names
};

struct ReplicaParams {
  std::string primary;
  std::vector<ReplicaEntryParams> replicas;
  double ready_timeout_seconds = 600;
  Pace pace;
  std::map<std::string, ReplicaStepParams> steps;  // by step id, one per step

  // The replica on database; nullptr when the plan has none there.
  const ReplicaEntryParams* Replica(const std::string& database) const;
};

// Throws InputError naming the step, the parameter and where the file holds it.
ReplicaParams ReadReplicaParams(const Plan& plan);

}  // namespace shardshift::plans
