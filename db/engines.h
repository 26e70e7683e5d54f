// Internal to db/: the engine factories and introspection entry points behind Connect() and
// Connection::Introspect(). Not for use outside db/.
#pragma once

#include <memory>
#include <string>

#include "db/connection.h"

namespace shardshift::db {

std::unique_ptr<Connection> ConnectPostgres(const ConnectionUrl& url, const std::string& name,
                                            const ConnectOptions& options);
std::unique_ptr<Connection> ConnectMySQL(const ConnectionUrl& url, const std::string& name,
                                         const ConnectOptions& options);

// Introspection through the generic Connection API; the SQL lives beside each engine.
SchemaInfo IntrospectPostgres(Connection& conn, const IntrospectOptions& options);
SchemaInfo IntrospectMySQL(Connection& conn, const IntrospectOptions& options);

}  // namespace shardshift::db
