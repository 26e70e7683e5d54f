// `apply --dry-run`'s checks against the live databases, with the user and permissions the real run
// will have. Read-only: no statement it runs writes, takes a lock beyond ACCESS SHARE or changes a
// setting, except the rehearsal of a new table's definition, which leaves nothing behind (tests/integration/ci_checks_test.cc compares catalogs, data and settings before and
// after).
//
// For the steps still to run it checks:
// - each database: reachable, writable (not a standby, not read_only), settings that would silently
//   break capture (PostgreSQL session_replication_role; MariaDB triggers under binary logging
//   without SUPER or log_bin_trust_function_creators, a binlog_format other than ROW);
// - privileges for every statement of every step (PostgreSQL statements are read with libpg-query;
//   MariaDB's by their leading keywords) and for the rows a backfill reads and writes;
// - free space on each server for the copies, where the server's data folder is on this machine;
// - user triggers on tables a backfill writes into (they would fire for every copied row);
// - replica lag: standbys of the sources (pg_stat_replication), replicas that are configured;
// - each table a step creates: rehearsed on its server (on PostgreSQL in a transaction rolled back,
//   on MariaDB as a temporary table), so that a definition the server refuses (a collation, a
//   character set or an engine it lacks, a type of that name that differs) fails here, not mid-run.
#pragma once

#include <string>
#include <vector>

#include "db/catalog.h"
#include "plans/plan.h"

namespace shardshift::planner {

struct PreflightCheck {
  std::string database;  // config name ("" for a server-wide check, which names it in what)
  std::string what;      // "privileges", "free space", "writable", ...
  std::string status;    // "ok", "warning" or "failed"
  std::string detail;    // what was found, with numbers
  std::string fix;       // what to do ("" when ok)
};

struct PreflightReport {
  std::vector<PreflightCheck> checks;
  bool failed() const;
  void Add(std::string database, std::string what, std::string status, std::string detail,
           std::string fix = "");
};

// steps: the plan's steps that would run (the run state's done steps left out).
PreflightReport Preflight(const plans::Plan& plan, const std::vector<const plans::Step*>& steps,
                          const db::Catalog& catalog);

}  // namespace shardshift::planner
