#include "db/error.h"

namespace shardshift::db {

Error::Error(ErrorKind kind, const std::string& message, std::string sqlstate, int errnum,
             std::string statement)
    : std::runtime_error(message),
      kind_(kind),
      sqlstate_(std::move(sqlstate)),
      errnum_(errnum),
      statement_(std::move(statement)) {}

bool Error::retryable() const {
  switch (kind_) {
    case ErrorKind::kLockTimeout:
    case ErrorKind::kSerialization:
    case ErrorKind::kDeadlock:
    case ErrorKind::kConnectionLost:
      return true;
    default:
      return false;
  }
}

bool Error::connection_usable() const {
  switch (kind_) {
    case ErrorKind::kConnectionLost:
    case ErrorKind::kConnect:
    case ErrorKind::kAuth:
    case ErrorKind::kUnknownDatabase:
      return false;
    default:
      return true;
  }
}

bool Error::is_bad_input() const {
  switch (kind_) {
    case ErrorKind::kBadInput:
    case ErrorKind::kConnect:
    case ErrorKind::kAuth:
    case ErrorKind::kUnknownDatabase:
      return true;
    default:
      return false;
  }
}

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadInput: return "bad_input";
    case ErrorKind::kConnect: return "connect";
    case ErrorKind::kAuth: return "auth";
    case ErrorKind::kUnknownDatabase: return "unknown_database";
    case ErrorKind::kStatement: return "statement";
    case ErrorKind::kUniqueViolation: return "unique_violation";
    case ErrorKind::kLockTimeout: return "lock_timeout";
    case ErrorKind::kSerialization: return "serialization";
    case ErrorKind::kDeadlock: return "deadlock";
    case ErrorKind::kConnectionLost: return "connection_lost";
  }
  return "?";
}

}  // namespace shardshift::db
