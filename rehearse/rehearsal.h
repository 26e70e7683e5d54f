// `shardshift rehearse PLAN`: the whole plan, run on a throwaway sandbox before it runs anywhere
// that matters. It
//   1. starts a sandbox (sandbox/) in its own folder;
//   2. copies the schema of every database the plan names (pg_dump --schema-only and
//      mariadb-dump --no-data, the engines' own tools; passwords in 0600 files) and a sample of
//      each table's rows (the first sample_rows in key order), into a database of the same name;
//   3. runs the plan there, every step including cleanup, with the same runners `apply` uses, while
//      a writer changes rows of each table the plan captures or indexes (updates, and deletes with
//      the row put back), and a monitor polls the servers' lock tables every 10 ms;
//   4. reports each step's duration, the longest write-blocking lock and the step it fell in, the
//      cutover's write-blocked window, the writer's slowest write, and the verification.
// Read-only on the real databases: they are read by the dump tools and one SELECT per table.
// A replica plan's primary is copied the same way; its replicas start empty on the sandbox's second
// servers (PostgreSQL logical, MariaDB GTID: one of these per rehearsal) or its standby port (a
// PostgreSQL physical standby, whose data folder and port in the plan are replaced by the
// sandbox's); the writer writes to the primary's tables.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "db/catalog.h"
#include "plans/plan.h"

namespace shardshift::rehearse {

struct RehearsalOptions {
  int64_t sample_rows = 10000;  // per table
  int writes_per_second = 50;   // per table the writer changes; 0 = no writer
  std::string dir;              // the sandbox's folder; "" = a new temporary one
  bool keep = false;            // leave the sandbox running (its config is printed)
  bool progress_bar = false;
  // The plan's hooks and check command reach outside the sandbox (a router reload, a lag probe of
  // production): they are left out unless asked for, and then run with SHARDSHIFT_REHEARSAL=1.
  bool run_hooks = false;
  // Set (by a signal handler) to stop: the sandbox is stopped and the process exits with 130.
  const std::atomic<bool>* stop = nullptr;
};

struct RehearsedStep {
  std::string id;
  std::string kind;
  std::string database;
  double seconds = 0;
  double estimate_seconds = 0;  // the plan's, for the real databases' size
};

struct LockSeen {
  std::string database;  // config name
  std::string table;
  std::string mode;    // the engine's name: ExclusiveLock, MDL_SHARED_NO_WRITE, ...
  double seconds = 0;  // how long it was seen held
  std::string step;    // the step running when it was taken ("" when none was)
};

struct CopiedTable {
  std::string database;
  std::string table;
  int64_t rows = 0;            // copied into the sandbox
  int64_t real_estimate = -1;  // the real table's row estimate
};

struct RehearsalReport {
  std::string sandbox_dir;
  std::string sandbox_config;  // when kept
  std::vector<CopiedTable> tables;
  std::vector<RehearsedStep> steps;
  std::vector<LockSeen> locks;  // write-blocking locks seen, longest first
  int64_t write_blocked_ms = -1;
  bool verified = false;
  int64_t verified_rows = 0;
  int64_t rows_copied = 0;
  double copy_seconds = 0;
  int64_t real_rows = 0;  // the real tables' row estimates, of the tables the plan copies
  double seconds = 0;     // the plan's run, all steps
  int64_t changes_replayed = 0;
  int64_t writes = 0;  // the writer's committed writes
  int64_t write_errors = 0;
  std::string first_write_error;
  int64_t write_retries = 0;  // deadlocks and lock timeouts the application would have retried
  int64_t write_fenced = 0;   // writes the fence refused after the cutover (the writer never switches)
  std::string first_write_retry;
  double slowest_write_ms = 0;
  std::string slowest_write_step;
  std::string failure;             // why the plan did not finish ("" when it did)
  std::vector<std::string> notes;  // schema load messages, tables without a key, ...
};

// Throws db::Error(kBadInput) for a database the config does not name, or two GTID or physical
// replicas in one plan.
RehearsalReport Rehearse(const plans::Plan& plan, const db::Catalog& real,
                         const RehearsalOptions& options);

}  // namespace shardshift::rehearse
