// MariaDB's binary log, decoded: the keys of the rows that committed transactions wrote, updated
// or deleted in the wanted tables, read as a replica reads them (COM_BINLOG_DUMP through
// Connector/C's replication API, mariadb_rpl.h) from a GTID state the caller keeps, as a replica
// with MASTER_USE_GTID does (so it also holds after a failover to a replica that logs). Needs
// binlog_format = ROW and binlog_row_image = FULL or MINIMAL with a primary key (the before image
// then holds the key); the reader's account needs REPLICATION SLAVE (10.5+: BINLOG REPLAY also
// works) and, for the position, BINLOG MONITOR.
//
// The server keeps no reader's position (there is no slot): the caller stores a batch's resume
// state (StreamBatch::resume) with its keys, in one transaction, and starts the next stream there;
// what was read after it comes again (at least once). A binary log the server purged before the
// stream got there is lost: the stream fails saying so. Progress (Lsn) is the file and offset the
// stream has read up to, comparable with SHOW MASTER STATUS.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/change_stream.h"
#include "db/connection.h"
#include "db/url.h"

namespace shardshift::db {

// "mariadb-bin.000003:1234" <-> (file, offset) and Lsn. The file's number is its extension.
struct BinlogPosition {
  std::string file;
  uint64_t offset = 0;
  Lsn lsn() const;
  std::string ToString() const { return file + ":" + std::to_string(offset); }
  static BinlogPosition Parse(const std::string& text);  // throws Error(kBadInput) naming the text
  // The position lsn stands for in the file series of base ("mariadb-bin.000001").
  static BinlogPosition FromLsn(const std::string& base, Lsn lsn);
};

class BinlogStream : public ChangeStream {
 public:
  // keys: each wanted table, its key columns and the rows wanted (a table without a schema is in url's database).
  // server_id: this reader's replica id, unique among the server's replicas (a second reader with
  // the same id takes the first one's place: the server ends the older dump). gtid_state: where to
  // start, as @@gtid_binlog_pos gives it ("0-1-42,1-1-7"): after those transactions. Connects and
  // starts reading; throws Error naming the database on failure.
  // A filter's column should be in every before image (binlog_row_image FULL or NOBLOB, or the
  // column in the primary key): otherwise every update and delete comes through.
  BinlogStream(const ConnectionUrl& url, const std::string& name, uint32_t server_id, const std::string& gtid_state,
               std::vector<StreamTable> keys);
  ~BinlogStream() override;
  BinlogStream(const BinlogStream&) = delete;
  BinlogStream& operator=(const BinlogStream&) = delete;

  StreamBatch Read(std::chrono::milliseconds wait, size_t max_changes) override;
  void Confirm(Lsn) override {}         // the caller keeps the position
  void RequestPosition() override {}    // heartbeats tell it while the log is idle
  // The position lsn stands for (in the file series this stream reads).
  BinlogPosition Position(Lsn lsn) const;
  // The server's current end of the binary log (SHOW MASTER STATUS) on conn, a session of the
  // same server: a CatchUp target.
  static BinlogPosition ServerPosition(Connection& conn);
  // The bytes of binary log on conn's server from p on (SHOW BINARY LOGS); nothing when p's file
  // is no longer there (purged: what it held is lost).
  static std::optional<int64_t> BytesAfter(Connection& conn, const BinlogPosition& p);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardshift::db
