// The one exception hierarchy for database and connection failures. Every error carries what an
// operator needs to act: the engine's code (SQLSTATE or MySQL errno), the statement (never its
// parameter values), whether retrying may help, and whether the connection can still be used.
// Messages never contain a password: URLs are shown redacted (see ConnectionUrl::Redacted).
#pragma once

#include <stdexcept>
#include <string>

namespace shardshift::db {

enum class ErrorKind {
  kBadInput,        // a malformed URL, an unknown scheme or database name, an unset ${ENV}
  kConnect,         // server unreachable (refused, timed out, unknown host)
  kAuth,            // the server refused the credentials
  kUnknownDatabase, // the server has no such database
  kStatement,       // a statement failed (syntax, constraint, ...)
  kUniqueViolation, // a statement hit a unique key: never swallowed (DESIGN.md)
  kLockTimeout,     // lock_timeout / lock_wait_timeout expired
  kSerialization,   // serialization failure: retry the transaction
  kDeadlock,        // deadlock detected: retry the transaction
  kConnectionLost,  // the connection broke mid-use
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string sqlstate = "", int errnum = 0,
        std::string statement = "");

  ErrorKind kind() const { return kind_; }
  const std::string& sqlstate() const { return sqlstate_; }  // "" when the failure has none
  int errnum() const { return errnum_; }                      // MySQL/MariaDB; 0 otherwise
  const std::string& statement() const { return statement_; }

  // Retrying the same work (after reconnecting, if !connection_usable()) may succeed.
  bool retryable() const;
  bool connection_usable() const;
  // The user's input or environment is at fault (exit code 2), not the migration.
  bool is_bad_input() const;

 private:
  ErrorKind kind_;
  std::string sqlstate_;
  int errnum_;
  std::string statement_;
};

std::string_view ErrorKindName(ErrorKind kind);

}  // namespace shardshift::db
