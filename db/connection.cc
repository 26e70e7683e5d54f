#include "db/connection.h"

#include "db/engines.h"
#include "db/error.h"

#include <spdlog/spdlog.h>

namespace shardshift::db {

TableName TableName::Parse(std::string_view text) {
  size_t dot = text.find('.');
  if (dot == std::string_view::npos) return TableName{"", std::string(text)};
  return TableName{std::string(text.substr(0, dot)), std::string(text.substr(dot + 1))};
}

std::string TableName::ToString() const { return schema.empty() ? name : schema + "." + name; }

std::string DollarQuote(std::string_view body) {
  std::string tag = "$shardshift$";
  for (int n = 1; body.find(tag) != std::string_view::npos; ++n) tag = "$shardshift" + std::to_string(n) + "$";
  return tag + std::string(body) + tag;
}

std::string QuoteIdentifier(Engine engine, std::string_view name) {
  if (name.empty()) throw Error(ErrorKind::kBadInput, "an identifier is empty");
  if (name.find('\0') != std::string_view::npos) {
    throw Error(ErrorKind::kBadInput, "an identifier contains a NUL byte");
  }
  const char q = engine == Engine::kPostgres ? '"' : '`';
  std::string out(1, q);
  for (char c : name) {
    out += c;
    if (c == q) out += q;  // doubling is the only escape either engine needs inside quotes
  }
  out += q;
  return out;
}

std::string QuoteTable(Engine engine, const TableName& table) {
  if (table.schema.empty()) return QuoteIdentifier(engine, table.name);
  return QuoteIdentifier(engine, table.schema) + "." + QuoteIdentifier(engine, table.name);
}

std::string Connection::Tag(std::string_view sql) {
  static constexpr std::string_view kTag = "/* shardshift */ ";
  if (sql.starts_with(kTag)) return std::string(sql);
  return std::string(kTag) + std::string(sql);
}

std::string Connection::Describe() const {
  return "database '" + name_ + "' (" + url_.Redacted() + ")";
}

std::string Connection::Scrub(std::string message) const {
  if (url_.password.empty()) return message;
  for (size_t pos; (pos = message.find(url_.password)) != std::string::npos;) {
    message.replace(pos, url_.password.size(), "***");
  }
  return message;
}

std::unique_ptr<Connection> Connect(const ConnectionUrl& url, const std::string& name,
                                    const ConnectOptions& options) {
  spdlog::debug("connecting to database '{}' ({})", name, url.Redacted());
  std::unique_ptr<Connection> conn = url.engine == Engine::kPostgres
                                         ? ConnectPostgres(url, name, options)
                                         : ConnectMySQL(url, name, options);
  spdlog::debug("connected to database '{}', server {}", name, conn->ServerVersion());
  return conn;
}

Transaction::Transaction(Connection& conn, const TxOptions& options) : conn_(conn) {
  conn_.Begin(options);
}

Transaction::~Transaction() {
  if (!open_) return;
  try {
    if (conn_.Usable()) conn_.Rollback();
  } catch (...) {  // NOLINT: a destructor must not throw; the server rolls back on disconnect
  }
}

void Transaction::Commit() {
  open_ = false;
  conn_.Commit();
}

void Transaction::Rollback() {
  open_ = false;
  conn_.Rollback();
}

}  // namespace shardshift::db
