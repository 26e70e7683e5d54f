// Run state: each step's status and checkpoint, kept in a table of the plan's home database (its
// first source), so that `apply` resumes where a killed run stopped; and the run lock, so that one
// executor runs a plan at a time. The lock is a session lock (PostgreSQL advisory lock, MySQL
// GET_LOCK): it dies with the connection, so a killed executor never leaves a stale lock.
// RunState is thread-safe (the workers of a run save their own steps); it reconnects when its
// connection broke. No secret is ever written here. The table carries a format version row, and a
// table of another version is refused rather than misread.
#pragma once

#include <cstdint>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "db/connection.h"

namespace shardshift::executors {

struct StepState {
  std::string status = "pending";  // pending, running, done, failed
  std::string cursor;              // JSON array of key values, "" = none
  int64_t rows_done = 0;
  double rows_per_second = 0;      // the step's recent copy rate, for `status` and its ETA
  std::string detail;              // a line for `status`
};

// Whether this process has saved a step's state (a run has started changing things): from then on
// a failure is a failed run (exit 1), not bad input (exit 2), whatever caused it.
bool RunHasStarted();

// Runs a CREATE TABLE IF NOT EXISTS. PostgreSQL's is not safe against a concurrent one: two
// sessions creating the same table at once (the runners of a move_tables group, each claiming its
// table) can fail on the catalog's unique index; the table then exists, and running it again is
// the no-op it should have been.
void CreateTableIfMissing(db::Connection& conn, const std::string& sql);

class RunState {
 public:
  using Connector = std::function<std::unique_ptr<db::Connection>()>;
  // Owns a connection to the home database, opened with connect (again when it broke). Reading
  // never creates anything (a dry run changes nothing).
  RunState(Connector connect, std::string migration);
  // Uses conn, which must outlive the RunState, and never reconnects.
  RunState(db::Connection& home, std::string migration);
  // Creates the state table if it is missing; before the first Save.
  void EnsureTable();
  // Empty when no run has started.
  std::map<std::string, StepState> Load();
  void Save(const std::string& step, const StepState& state);
  // Deletes every step's state of this migration (apply --abandon): the next apply starts over.
  void Forget();

 private:
  db::Connection& Home();  // under mu_

  std::mutex mu_;
  Connector connect_;
  std::unique_ptr<db::Connection> owned_;
  db::Connection* home_ = nullptr;
  std::string migration_;
};

// How long apply waits for a plan's run lock before refusing (RunLock).
inline constexpr std::chrono::seconds kRunLockWait{15};

// The run state's format; a table written by another format is refused.
inline constexpr int kStateFormatVersion = 1;

class RunLock {
 public:
  // Tries for up to wait (once when zero). conn must stay open while the lock is held. A run
  // killed a moment ago may still hold it: its session ends only when the server notices, which
  // for a session inside a long statement is when the statement ends.
  RunLock(db::Connection& conn, const std::string& migration,
          std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  bool acquired() const { return acquired_; }

 private:
  bool acquired_ = false;
};

inline constexpr const char* kStateTable = "_shardshift_state";
// One row per table an unfinished plan moves (on each of its sources and targets): a second plan
// that touches the table is refused with the first one's name; removed when the plan finishes.
inline constexpr const char* kClaimTable = "_shardshift_claims";

}  // namespace shardshift::executors
