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

#include "db/change_stream.h"
#include "db/connection.h"
#include "db/url.h"

namespace shardshift::db {

std::string FormatLsn(Lsn lsn);           // "16/B374D848"
Lsn ParseLsn(const std::string& text);    // throws Error(kInternal) on a malformed position

class PgLogStream : public ChangeStream {
 public:
  // keys: each table whose changes are wanted, with its key columns and the rows wanted (a table
  // without a schema is in public); the publication's other tables are passed over. A filter's
  // column should be in the table's replica identity: otherwise every update comes through (the
  // stream cannot tell whose row it was). Connects and starts streaming; throws Error naming the
  // database on failure.
  PgLogStream(const ConnectionUrl& url, const std::string& name, const std::string& slot,
              const std::string& publication, std::vector<StreamTable> keys);
  ~PgLogStream() override;
  PgLogStream(const PgLogStream&) = delete;
  PgLogStream& operator=(const PgLogStream&) = delete;

  // A key the row images lack: REPLICA IDENTITY.
  StreamBatch Read(std::chrono::milliseconds wait, size_t max_changes) override;
  // The slot may forget everything before lsn.
  void Confirm(Lsn lsn) override;
  // Asks the server for a keepalive, which tells how far it has sent.
  void RequestPosition() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardshift::db
