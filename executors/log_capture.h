// Log capture (DESIGN.md rule 1, without triggers): a pump that reads a source's change stream
// (PostgreSQL: a logical slot with pgoutput; MariaDB: the binary log) and queues the keys it names
// in the same changelog tables trigger capture fills, so that replay, verification and the cutover
// read one queue whichever way it was filled. Nothing runs in the application's transactions.
//
// The invariant: PostgreSQL's slot is told a change is consumed (Confirm) only after the
// transaction that queued its key committed with a local flush; on MariaDB, where the server keeps
// no reader's position, the position is saved in that same transaction. So a kill anywhere loses
// nothing; what was queued but not confirmed comes again and is queued twice, which replay absorbs
// (it re-reads the row).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/catalog.h"
#include "db/binlog_stream.h"
#include "db/pg_log_stream.h"

namespace shardshift::executors {

struct CapturedTable {
  db::TableName table;            // on the source
  std::vector<std::string> key;   // its key columns
  db::TableName changelog;        // where their values are queued (_ss_id, the key, _ss_op)
  db::RowFilter only;             // the rows whose changes are queued (a key move's keys); {}: all
};

// Where a source's stream is read from.
struct LogSource {
  // PostgreSQL: the logical slot and the publication of the tables.
  std::string slot;
  std::string publication;
  // MariaDB: the reader's replica server id, and the one-row table (id = 1) that keeps the GTID
  // state the stream continues after (gtid) and the file:offset it stands for (at).
  uint32_t server_id = 0;
  db::TableName position;
};

class LogCapture {
 public:
  // Starts pumping database's stream into the tables' changelogs on a thread of its own. Throws
  // db::Error when the stream cannot be started.
  LogCapture(const db::Catalog& catalog, std::string database, LogSource source, std::vector<CapturedTable> tables);
  ~LogCapture();  // stops the pump (what it queued stays queued; the slot keeps the rest)
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Returns once every transaction that committed on the source before this call has its keys in
  // the changelogs. Throws db::Error when the pump failed, or when it did not advance for timeout,
  // saying how far it got.
  void CatchUp(std::chrono::milliseconds timeout);
  // Rethrows the pump's failure, if it failed.
  void Check();
  // Keeps the changelog within milliseconds of the log (a cutover catching up before its block):
  // queues what it has every 20 ms rather than 200, and on PostgreSQL flushes the WAL as often, so
  // that the walsender need not wait for the WAL writer.
  void Eager(bool on) { eager_ = on; }
  const std::string& database() const { return database_; }
  int64_t queued() const { return queued_; }  // keys queued since the start

 private:
  void Run();
  // Queues changes in one transaction, once their transactions (xids) are visible (WaitVisible);
  // with resume (MariaDB), the stream's position with them.
  void Queue(db::Connection& c, const std::vector<db::RowChange>& changes, const std::string& resume,
             db::Lsn at, const std::vector<uint32_t>& xids);
  // PostgreSQL: waits until no transaction of xids is running in pg_current_snapshot(). The WAL
  // streams a commit once its record is flushed, a moment before the transaction's rows are visible
  // to others (it leaves ProcArray after the flush; a synchronous standby's wait comes between).
  // Replay re-reads a queued key's row, so a key queued in that moment was replayed from the row as
  // it was, and the change lost. MariaDB needs no wait: with the binary log on, InnoDB commits in
  // its order, so the queueing transaction (in the same database as the table, so logged too) is
  // seen after the change it names; a non-transactional table's write is seen before it is logged.
  void WaitVisible(const std::vector<uint32_t>& xids);
  // The position the server's log has reached now (a CatchUp target).
  db::Lsn ServerPosition();
  std::string Format(db::Lsn lsn) const;

  const db::Catalog& catalog_;
  std::string database_;
  LogSource source_;
  bool binlog_ = false;  // MariaDB
  std::vector<CapturedTable> tables_;
  std::unique_ptr<db::Connection> position_;  // CatchUp's session: reads the source's log position
  std::unique_ptr<db::ChangeStream> stream_;
  db::BinlogStream* binlog_stream_ = nullptr;  // stream_, on MariaDB
  std::unique_ptr<db::Connection> queue_;

  std::mutex mu_;
  std::condition_variable progressed_;
  db::Lsn durable_ = 0;       // every change before this is queued (and confirmed to the slot)
  int waiters_ = 0;
  db::Lsn wanted_ = 0;        // the furthest position a CatchUp waits for
  std::exception_ptr failure_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> eager_{false};
  std::atomic<int64_t> queued_{0};
  std::thread thread_;
};

}  // namespace shardshift::executors
