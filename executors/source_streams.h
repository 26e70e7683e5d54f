// The forward capture of a plan that captures from the log (its capture steps carry a slot, or on
// MariaDB a replica server id): one
// LogCapture per source, run by the process that holds the plan's run lock, while the sources are
// the side the application writes (from the capture step until the switch, and again after a
// revert). Trigger capture needs nothing of the kind: its changelog fills inside the application's
// transactions. Either way replay, verification and the cutover read the same changelog; they call
// CatchUp before any decision that needs every committed change in it.
//
// The slot keeps what no stream confirmed, so a stream that is not running (between runs, after
// a kill) loses nothing: the next one starts where the last confirmation left it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "db/catalog.h"
#include "executors/log_capture.h"
#include "plans/copy_params.h"
#include "plans/plan.h"

namespace shardshift::executors {

class SourceStreams {
 public:
  // The plan's log-captured sources (none when it captures by triggers). catalog and plan must
  // outlive this.
  SourceStreams(const db::Catalog& catalog, const plans::Plan& plan, const plans::CopyParams& params);
  ~SourceStreams();
  SourceStreams(const SourceStreams&) = delete;
  SourceStreams& operator=(const SourceStreams&) = delete;

  bool enabled() const { return !sources_.empty(); }
  // Starts the stream of each source that has none running. A slot still held by a session that a
  // killed run left is freed by ending that session (the caller holds the run lock, so no live
  // run of the plan reads it).
  void Start();
  // Every change committed on the source (all sources when "") before the call is in the
  // changelog when this returns. Throws db::Error when a stream failed (it is started again by the
  // next call) or stopped advancing for timeout.
  void CatchUp(const std::string& source = "", std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void Stop();
  // Every stream, and those started later, kept eager (LogCapture::Eager): a cutover's catch-up.
  void Eager(bool on);
  // The switch: the sources take no more writes, so the streams stop and the slots go (a slot
  // would hold the server's WAL until cleanup). The publications, positions and changelogs stay
  // until cleanup.
  void DropSlots();
  // A revert, before the sources take writes again: each slot made anew (the capture steps'
  // statements, each idempotent), on MariaDB the position set to the server's of now; what is
  // committed from then on is captured.
  void MakeSlots();
  // Per source. PostgreSQL: the slot, whether a stream reads it, how far its confirmed position is
  // behind the server's WAL (lag_bytes) and the WAL it keeps (retained_bytes), the server's
  // max_slot_wal_keep_size, and a warning when the retained WAL nears it. MariaDB: the saved
  // position (GTID and file:offset), the binary log behind it (lag_bytes), and a warning when its
  // file is no longer on the server.
  nlohmann::json Status() const;

 private:
  struct Source {
    std::string database;
    const plans::Step* step = nullptr;  // the capture step
    LogSource log;
    CapturedTable table;
    bool binlog() const { return log.server_id != 0; }
  };
  void StartOne(const Source& s);
  static void SlotStatus(db::Connection& c, const Source& s, nlohmann::json& j);
  static void BinlogStatus(db::Connection& c, const Source& s, nlohmann::json& j);

  const db::Catalog& catalog_;
  std::vector<Source> sources_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<LogCapture>> running_;
  bool eager_ = false;
};

}  // namespace shardshift::executors
