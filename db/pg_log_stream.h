// PostgreSQL's logical replication stream, decoded: the keys of the rows that committed
// transactions inserted, updated or deleted in a publication's tables, read from a logical slot
// with the built-in pgoutput plugin over a `replication=database` connection (no extension, nothing
// in the application's write path). Protocol: "Streaming Replication Protocol" and "Logical
// Replication Message Formats" in the PostgreSQL 15 documentation.
//
// The slot keeps every change until Confirm() says it is durable elsewhere: a reader that dies
// before confirming gets the same transactions again from the next stream (at least once).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "db/connection.h"
#include "db/row_sql.h"
#include "db/url.h"

namespace shardshift::db {

using Lsn = uint64_t;
std::string FormatLsn(Lsn lsn);           // "16/B374D848"
Lsn ParseLsn(const std::string& text);    // throws Error(kInternal) on a malformed position

// One row change: the row's key as text (both keys when an update changed it: two changes).
struct RowChange {
  TableName table;
  char op = 'I';  // 'I', 'U', 'D'
  KeyValues key;
};

struct StreamBatch {
  std::vector<RowChange> changes;  // of whole committed transactions only, in commit order
  Lsn committed = 0;  // end of the last commit in changes (0: none)
  Lsn received = 0;   // every transaction that committed before this was received (0: unknown yet)
};

class PgLogStream {
 public:
  // keys: the key columns of each table whose changes are wanted (a table without a schema is in
  // public); the publication's other tables are passed over. Connects and starts streaming;
  // throws Error naming the database on failure.
  PgLogStream(const ConnectionUrl& url, const std::string& name, const std::string& slot,
              const std::string& publication, std::vector<std::pair<TableName, std::vector<std::string>>> keys);
  ~PgLogStream();
  PgLogStream(const PgLogStream&) = delete;
  PgLogStream& operator=(const PgLogStream&) = delete;

  // Reads what arrives within wait; returns sooner once whole transactions are in hand and
  // nothing more is buffered, or once max_changes are complete. A TRUNCATE of
  // a table, or a key that the row images lack (REPLICA IDENTITY), throws Error(kBadInput).
  StreamBatch Read(std::chrono::milliseconds wait, size_t max_changes);
  // The slot may forget everything before lsn: its changes are durable elsewhere.
  void Confirm(Lsn lsn);
  // Asks the server for a keepalive, which tells how far it has sent (StreamBatch::received).
  void RequestPosition();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardshift::db
