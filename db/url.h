// Connection URLs: postgres://, postgresql://, mysql://, mariadb://
//   scheme://[user[:password]@]host[:port][/database][?key=value&...]
// user, password and database are percent-decoded. ${NAME} anywhere in the text is replaced by the
// environment variable NAME before parsing (ExpandEnv), so that configs need not hold secrets.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shardshift::db {

enum class Engine { kPostgres, kMySQL };
std::string_view EngineName(Engine engine);  // "postgres" or "mysql"

struct ConnectionUrl {
  Engine engine = Engine::kPostgres;
  std::string scheme;  // as written
  std::string user;
  std::string password;
  std::string host;
  int port = 0;  // 0 = the engine's default
  std::string database;
  std::vector<std::pair<std::string, std::string>> options;  // query options, in order

  // The URL with the password (and any option whose name contains "password") as ***.
  std::string Redacted() const;
  int PortOrDefault() const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> GetEnv(const std::string& name);

// Replaces ${NAME}; throws Error(kBadInput) naming the variable when it is unset or the
// reference is unterminated. "$$" is a literal "$".
std::string ExpandEnv(std::string_view text, const EnvLookup& lookup = GetEnv);

// Throws Error(kBadInput) with a message that shows the URL redacted.
ConnectionUrl ParseUrl(std::string_view text);

// Secret files for the engines' client programs (written 0600 by the caller, never on a command
// line), with every character of the user name and password escaped as the client reads it back:
// a PostgreSQL password file's line (":" and "\\" escaped) and a MariaDB option file's [client]
// group (quoted values, "\\", "\"" and control characters escaped).
std::string PgpassLine(const ConnectionUrl& url);
std::string MariadbClientOptions(const ConnectionUrl& url);

}  // namespace shardshift::db
