// A source's change stream, decoded to the keys of the rows that committed transactions changed:
// PostgreSQL's logical replication (db/pg_log_stream.h) and MariaDB's binary log
// (db/binlog_stream.h). Capture (executors/log_capture.h) reads either through this interface.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/connection.h"  // TableName
#include "db/row_sql.h"     // KeyValues

namespace shardshift::db {

// A position in a stream, ordered: PostgreSQL's LSN; on MariaDB the binary log file's number in
// the high 32 bits and the offset in it in the low 32 (a binary log file is at most 1 GiB).
using Lsn = uint64_t;

// One row change: the row's key as text (both keys when an update changed it: two changes).
struct RowChange {
  TableName table;
  char op = 'I';  // 'I', 'U', 'D'
  KeyValues key;
};

// Which rows of a table a stream gives changes of: those whose `column` holds one of `values` (a
// key move's keys, as text: integers in decimal) in any row image of the change, so that a row
// entering or leaving the keys counts, and those whose images do not show the column (a MINIMAL
// image; an old row whose replica identity lacks it), which may be theirs. column "": every row.
struct RowFilter {
  std::string column;
  std::set<std::string> values;
};

// A table a stream reads: its key columns, and the rows it wants.
struct StreamTable {
  TableName table;
  std::vector<std::string> key;
  RowFilter only;
};

// One change's verdict under a RowFilter (nullptr or an empty column: every row), told what each
// of its row images shows of the column.
class FilterVerdict {
 public:
  explicit FilterVerdict(const RowFilter* f) : keep_(f == nullptr || f->column.empty()), filter_(f) {}
  void Value(const std::optional<std::string>& v) {  // nullopt: NULL
    if (v && filter_->values.count(*v)) keep_ = true;
  }
  void Unknown() { keep_ = true; }  // an image that lacks the column
  bool keep() const { return keep_; }

 private:
  bool keep_;
  const RowFilter* filter_;
};

struct StreamBatch {
  std::vector<RowChange> changes;  // of whole committed transactions only, in commit order
  Lsn committed = 0;  // end of the last commit in changes (0: none)
  Lsn received = 0;   // every transaction that committed before this was received (0: unknown yet)
  // Where a new stream continues after the last commit in changes, for a stream whose server keeps
  // no reader's position (MariaDB: the GTID state); "" otherwise, or when none came.
  std::string resume;
  // PostgreSQL: the ids of the transactions whose changes are in changes. A transaction's commit
  // is in the log (and streamed) a moment before other sessions can see what it wrote: a reader
  // that re-reads its rows waits until they can (LogCapture::WaitVisible).
  std::vector<uint32_t> xids;
};

class ChangeStream {
 public:
  virtual ~ChangeStream() = default;
  // Reads what arrives within wait; returns sooner once whole transactions are in hand and
  // nothing more is buffered, or once max_changes are complete. A TRUNCATE of a table, or a key
  // that the row images lack, throws Error(kBadInput).
  virtual StreamBatch Read(std::chrono::milliseconds wait, size_t max_changes) = 0;
  // The server may forget everything before lsn: its changes are durable elsewhere (PostgreSQL's
  // slot; the binary log keeps no reader's position, its reader stores it).
  virtual void Confirm(Lsn lsn) = 0;
  // Asks the server to say how far it has sent (StreamBatch::received), if it needs asking.
  virtual void RequestPosition() = 0;
};

}  // namespace shardshift::db
