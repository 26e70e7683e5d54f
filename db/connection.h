// One interface over PostgreSQL (libpq) and MySQL/MariaDB (MariaDB Connector/C).
//
// A Connection is used by one thread at a time; share connections across threads through a Pool.
// Every failure throws db::Error (see error.h). Every statement sent is tagged /* shardshift */ so
// that a DBA can find ours in pg_stat_activity or the processlist. Statement text never carries
// values: they go as parameters ($1.. for PostgreSQL, ? for MySQL; see Placeholder).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "db/schema.h"
#include "db/url.h"
#include "db/value.h"

namespace shardshift::db {

struct TableName {
  std::string schema;  // "" = the connection's default (search_path / current database)
  std::string name;

  // "schema.name" split at the first dot; a name without a dot has no schema.
  static TableName Parse(std::string_view text);
  std::string ToString() const;  // for messages
};

// Quoting that survives quotes, spaces, mixed case and unicode. Throws Error(kBadInput) on an
// empty name or one containing a NUL byte, which no engine accepts.
std::string QuoteIdentifier(Engine engine, std::string_view name);
// A PostgreSQL dollar-quoted string of body: $shardshift$...$shardshift$, or with a numbered tag
// when the body (which may hold user identifiers) contains that one.
std::string DollarQuote(std::string_view body);
std::string QuoteTable(Engine engine, const TableName& table);

enum class Isolation { kDefault, kReadCommitted, kRepeatableRead, kSerializable };

struct TxOptions {
  Isolation isolation = Isolation::kDefault;
  bool read_only = false;
  // Take the snapshot at BEGIN (MySQL START TRANSACTION WITH CONSISTENT SNAPSHOT); PostgreSQL
  // takes it at the first statement of a REPEATABLE READ transaction, which is equivalent here.
  bool snapshot = false;

  static TxOptions Snapshot() { return {Isolation::kRepeatableRead, true, true}; }
};

// Yields a query's rows a chunk at a time; holds at most one chunk in memory. While a stream is
// open its connection is busy: do not use the connection until the stream is finished or
// destroyed. Destroying it early cancels the rest of the read.
class RowStream {
 public:
  virtual ~RowStream() = default;
  // Fills out with up to the chunk size of rows (replacing its contents); false when no rows are
  // left (out is then empty).
  virtual bool Next(Chunk& out) = 0;
};

struct ConnectOptions {
  int connect_timeout_seconds = 5;
  std::string application_name = "shardshift";
  // Marks the session as shardshift's own (PostgreSQL shardshift.session = 'on', MariaDB
  // @shardshift_session = 1): capture triggers do not record its writes (replay in one direction is
  // not echoed back in the other) and fences let them through. Off for sessions that stand in for
  // the application (demo and rehearsal writers, tests).
  bool executor_session = true;
};

class Connection {
 public:
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Engine engine() const { return url_.engine; }
  // The name of the database in the config, for messages.
  const std::string& name() const { return name_; }
  const ConnectionUrl& url() const { return url_; }

  std::string Quote(std::string_view identifier) const { return QuoteIdentifier(engine(), identifier); }
  std::string Quote(const TableName& table) const { return QuoteTable(engine(), table); }
  // The placeholder for the 1-based parameter i: "$i" on PostgreSQL, "?" on MySQL.
  virtual std::string Placeholder(int i) const = 0;

  // Runs one statement; returns the rows it changed.
  virtual int64_t Execute(std::string_view sql, const Params& params = {}) = 0;
  // Runs one statement and reads all its rows.
  virtual ResultSet Query(std::string_view sql, const Params& params = {}) = 0;
  // Runs a script of several statements separated by semicolons; no parameters.
  virtual void ExecuteScript(std::string_view script) = 0;
  // Streams one statement's rows in chunks of chunk_rows (see RowStream).
  virtual std::unique_ptr<RowStream> Stream(std::string_view sql, const Params& params,
                                            size_t chunk_rows) = 0;
  // Writes rows with the engine's fast path (COPY FROM STDIN; multi-row INSERT). columns name the
  // target columns in the order of each row's values. A unique-key conflict is an error
  // (kUniqueViolation), never skipped. Returns the rows written.
  virtual int64_t BulkInsert(const TableName& table, const std::vector<std::string>& columns,
                             const Chunk& rows) = 0;

  virtual void Begin(const TxOptions& options = {}) = 0;
  virtual void Commit() = 0;
  virtual void Rollback() = 0;
  virtual bool InTransaction() const = 0;
  // Session lock timeout for every later statement (PostgreSQL lock_timeout; MySQL
  // lock_wait_timeout and innodb_lock_wait_timeout, rounded up to whole seconds).
  virtual void SetLockTimeout(int milliseconds) = 0;
  // False once the connection broke; a pool then discards it.
  virtual bool Usable() const = 0;
  virtual std::string ServerVersion() = 0;

  virtual SchemaInfo Introspect(const IntrospectOptions& options = {}) = 0;

  // Puts the session back as Connect(options) left it, for reuse (db::Catalog's idle list): the
  // server's own reset (PostgreSQL DISCARD ALL, MariaDB COM_RESET_CONNECTION) drops every session
  // setting, advisory or GET_LOCK lock, table lock and temporary table, then the fixed settings
  // of a new session are made again. Only outside a transaction. Throws db::Error; the caller
  // then closes the connection.
  virtual void ResetSession(const ConnectOptions& options) = 0;

 protected:
  Connection(ConnectionUrl url, std::string name) : url_(std::move(url)), name_(std::move(name)) {}

  // Prefixes the tag; used by every implementation for every statement it sends.
  static std::string Tag(std::string_view sql);
  // "database 'NAME' (URL)" with the URL redacted: the prefix of connection errors.
  std::string Describe() const;
  // Removes the password from a server or library message, in case one echoed it.
  std::string Scrub(std::string message) const;

 private:
  ConnectionUrl url_;
  std::string name_;
};

// Opens a connection. name is the config name, used in messages. Throws Error with kind kConnect,
// kAuth or kUnknownDatabase (all is_bad_input) when the server cannot be used.
std::unique_ptr<Connection> Connect(const ConnectionUrl& url, const std::string& name,
                                    const ConnectOptions& options = {});

// Rolls back on destruction unless Commit() was called. Never throws from its destructor.
class Transaction {
 public:
  explicit Transaction(Connection& conn, const TxOptions& options = {});
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void Commit();
  void Rollback();

 private:
  Connection& conn_;
  bool open_ = true;
};

}  // namespace shardshift::db
