// Internal to db/: the engine factories and introspection entry points behind Connect() and
// Connection::Introspect(). Not for use outside db/.
#pragma once

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "db/connection.h"

struct pg_conn;    // libpq-fe.h's PGconn
struct st_mysql;  // mysql.h's MYSQL

namespace shardshift::db {

// libpq's connection (libpq-fe.h's PGconn), opened with url's settings and options: the caller
// owns it (PQfinish). replication: a `replication=database` connection for the streaming
// protocol. Throws Error classified as Connect() does, describe first, the password never shown.
::pg_conn* OpenPostgres(const ConnectionUrl& url, const std::string& describe, const ConnectOptions& options,
                      bool replication);

// Connector/C's connection (mysql.h's MYSQL), opened with url's settings and options: the caller
// owns it (mysql_close). Throws Error classified as Connect() does, describe first, the password
// never shown.
::st_mysql* OpenMysql(const ConnectionUrl& url, const std::string& describe, const ConnectOptions& options);

std::unique_ptr<Connection> ConnectPostgres(const ConnectionUrl& url, const std::string& name,
                                            const ConnectOptions& options);
std::unique_ptr<Connection> ConnectMySQL(const ConnectionUrl& url, const std::string& name,
                                         const ConnectOptions& options);

// Introspection through the generic Connection API; the SQL lives beside each engine.
SchemaInfo IntrospectPostgres(Connection& conn, const IntrospectOptions& options);
SchemaInfo IntrospectMySQL(Connection& conn, const IntrospectOptions& options);

// The lines of an aggregated catalog column ("" -> none).
inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace shardshift::db
