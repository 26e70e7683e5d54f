// MySQL and MariaDB through MariaDB Connector/C (the mysqlclient API). mysql.h stays in this file.
//
// Parameters are interpolated on the client with mysql_real_escape_string (which honours the
// server's NO_BACKSLASH_ESCAPES), as the Go and Python drivers do: the text protocol then returns
// values in the exact text forms that a later write needs, which the binary protocol would not.
#include <fcntl.h>
#include <mysql.h>

#include <optional>

#include <fmt/format.h>

#include "db/engines.h"
#include "db/error.h"

namespace shardshift::db {

namespace {

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
struct MysqlResultCloser {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlCloser>;
using MysqlResultPtr = std::unique_ptr<MYSQL_RES, MysqlResultCloser>;

constexpr unsigned kBinaryCharset = 63;

ErrorKind KindForErrno(unsigned e) {
  switch (e) {
    case 1213: return ErrorKind::kDeadlock;
    case 1205: return ErrorKind::kLockTimeout;
    case 1062:
    case 1586: return ErrorKind::kUniqueViolation;
    case 1049: return ErrorKind::kUnknownDatabase;
    case 1044:
    case 1045:
    case 1698: return ErrorKind::kAuth;
    case 2002:
    case 2003:
    case 2005: return ErrorKind::kConnect;
    case 2006:
    case 2013:
    case 2055:
    case 1927:
    case 4031: return ErrorKind::kConnectionLost;
    default: return ErrorKind::kStatement;
  }
}

std::string TypeName(enum_field_types t) {
  switch (t) {
    case MYSQL_TYPE_TINY: return "tinyint";
    case MYSQL_TYPE_SHORT: return "smallint";
    case MYSQL_TYPE_INT24: return "mediumint";
    case MYSQL_TYPE_LONG: return "int";
    case MYSQL_TYPE_LONGLONG: return "bigint";
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: return "decimal";
    case MYSQL_TYPE_FLOAT: return "float";
    case MYSQL_TYPE_DOUBLE: return "double";
    case MYSQL_TYPE_BIT: return "bit";
    case MYSQL_TYPE_DATE: return "date";
    case MYSQL_TYPE_TIME: return "time";
    case MYSQL_TYPE_DATETIME: return "datetime";
    case MYSQL_TYPE_TIMESTAMP: return "timestamp";
    case MYSQL_TYPE_YEAR: return "year";
    case MYSQL_TYPE_JSON: return "json";
    case MYSQL_TYPE_ENUM: return "enum";
    case MYSQL_TYPE_SET: return "set";
    case MYSQL_TYPE_GEOMETRY: return "geometry";
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB: return "blob";
    case MYSQL_TYPE_STRING: return "char";
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING: return "varchar";
    default: return "type " + std::to_string(static_cast<int>(t));
  }
}

// Only string-like columns can carry raw bytes; a number is ASCII text even under the binary
// character set, and must not be sent as a hex literal (X'3432' is 13362, not 42).
bool IsBinary(const MYSQL_FIELD& f) {
  if (f.type == MYSQL_TYPE_BIT || f.type == MYSQL_TYPE_GEOMETRY) return true;
  if (f.charsetnr != kBinaryCharset) return false;
  switch (f.type) {
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING: return true;
    default: return false;
  }
}

std::vector<ColumnMeta> Columns(MYSQL_RES* res) {
  std::vector<ColumnMeta> cols;
  unsigned n = mysql_num_fields(res);
  MYSQL_FIELD* fields = mysql_fetch_fields(res);
  for (unsigned i = 0; i < n; ++i) {
    cols.push_back({std::string(fields[i].name, fields[i].name_length), TypeName(fields[i].type),
                    IsBinary(fields[i])});
  }
  return cols;
}

Row ReadRow(MYSQL_RES* res, MYSQL_ROW row, unsigned n) {
  unsigned long* lengths = mysql_fetch_lengths(res);
  Row out;
  out.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    if (!row[i]) {
      out.emplace_back(std::nullopt);
    } else {
      out.emplace_back(std::string(row[i], lengths[i]));
    }
  }
  return out;
}

class MysqlConnection;

class MysqlStream : public RowStream {
 public:
  MysqlStream(MysqlConnection& conn, std::string sql, MysqlResultPtr res, size_t chunk_rows)
      : conn_(conn), sql_(std::move(sql)), res_(std::move(res)),
        chunk_rows_(chunk_rows == 0 ? 1 : chunk_rows), columns_(Columns(res_.get())) {}
  // mysql_free_result reads and discards the rows not yet fetched: the protocol has no cheaper way
  // to abandon a result short of killing the query.
  bool Next(Chunk& out) override;

 private:
  MysqlConnection& conn_;
  std::string sql_;
  MysqlResultPtr res_;
  size_t chunk_rows_;
  std::vector<ColumnMeta> columns_;
};

class MysqlConnection : public Connection {
 public:
  MysqlConnection(const ConnectionUrl& url, const std::string& name, MysqlPtr conn)
      : Connection(url, name), conn_(std::move(conn)) {}

  std::string Placeholder(int) const override { return "?"; }

  int64_t Execute(std::string_view sql, const Params& params) override {
    Send(sql, params);
    int64_t affected = 0;
    MysqlResultPtr res(mysql_store_result(conn_.get()));
    if (!res && mysql_field_count(conn_.get()) != 0) throw Failure(sql);
    affected = res ? static_cast<int64_t>(mysql_num_rows(res.get()))
                   : static_cast<int64_t>(mysql_affected_rows(conn_.get()));
    res.reset();
    DrainMoreResults(sql);
    return affected;
  }

  ResultSet Query(std::string_view sql, const Params& params) override {
    Send(sql, params);
    ResultSet out;
    MysqlResultPtr res(mysql_store_result(conn_.get()));
    if (!res) {
      if (mysql_field_count(conn_.get()) != 0) throw Failure(sql);
      out.affected = static_cast<int64_t>(mysql_affected_rows(conn_.get()));
    } else {
      out.columns = Columns(res.get());
      unsigned n = mysql_num_fields(res.get());
      out.rows.reserve(mysql_num_rows(res.get()));
      while (MYSQL_ROW row = mysql_fetch_row(res.get())) out.rows.push_back(ReadRow(res.get(), row, n));
    }
    res.reset();
    DrainMoreResults(sql);
    return out;
  }

  void ExecuteScript(std::string_view script) override {
    mysql_set_server_option(conn_.get(), MYSQL_OPTION_MULTI_STATEMENTS_ON);
    std::string text = Tag(script);
    std::optional<Error> failure;
    if (mysql_real_query(conn_.get(), text.data(), text.size()) != 0) failure = Failure(script);
    while (!failure) {
      MysqlResultPtr res(mysql_store_result(conn_.get()));
      if (!res && mysql_field_count(conn_.get()) != 0) {
        failure = Failure(script);
        break;
      }
      res.reset();
      int next = mysql_next_result(conn_.get());
      if (next == -1) break;
      if (next > 0) failure = Failure(script);
    }
    mysql_set_server_option(conn_.get(), MYSQL_OPTION_MULTI_STATEMENTS_OFF);
    if (failure) throw *failure;
  }

  std::unique_ptr<RowStream> Stream(std::string_view sql, const Params& params,
                                    size_t chunk_rows) override {
    Send(sql, params);
    MysqlResultPtr res(mysql_use_result(conn_.get()));
    if (!res) {
      if (mysql_field_count(conn_.get()) != 0) throw Failure(sql);
      throw Error(ErrorKind::kStatement, Describe() + ": the statement returns no rows to stream",
                  "", 0, std::string(sql));
    }
    return std::make_unique<MysqlStream>(*this, std::string(sql), std::move(res), chunk_rows);
  }

  int64_t BulkInsert(const TableName& table, const std::vector<std::string>& columns,
                     const Chunk& chunk) override {
    if (chunk.rows.empty()) return 0;
    std::string head = "INSERT INTO " + Quote(table) + " (";
    for (size_t i = 0; i < columns.size(); ++i) head += (i ? ", " : "") + Quote(columns[i]);
    head += ") VALUES ";
    constexpr size_t kStatementBytes = 1 << 20;  // well under the default max_allowed_packet
    std::string sql;
    int64_t written = 0;
    auto flush = [&] {
      if (sql.empty()) return;
      written += Execute(sql, {});
      sql.clear();
    };
    for (const Row& row : chunk.rows) {
      if (row.size() != columns.size()) {
        throw Error(ErrorKind::kStatement,
                    fmt::format("{}: bulk insert into {}: a row has {} values for {} columns",
                                Describe(), table.ToString(), row.size(), columns.size()));
      }
      sql += sql.empty() ? head : ",";
      sql += '(';
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) sql += ',';
        bool binary = i < chunk.columns.size() && chunk.columns[i].binary;
        sql += Literal(row[i], binary);
      }
      sql += ')';
      if (sql.size() >= kStatementBytes) flush();
    }
    flush();
    return written;
  }

  void Begin(const TxOptions& options) override {
    switch (options.isolation) {
      case Isolation::kDefault: break;
      case Isolation::kReadCommitted: Execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", {}); break;
      case Isolation::kRepeatableRead: Execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", {}); break;
      case Isolation::kSerializable: Execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", {}); break;
    }
    std::string sql = "START TRANSACTION";
    std::vector<std::string> parts;
    if (options.snapshot) parts.push_back("WITH CONSISTENT SNAPSHOT");
    parts.push_back(options.read_only ? "READ ONLY" : "READ WRITE");
    sql += " " + fmt::format("{}", fmt::join(parts, ", "));
    Execute(sql, {});
    in_transaction_ = true;
  }

  void Commit() override {
    in_transaction_ = false;
    Execute("COMMIT", {});
  }

  void Rollback() override {
    in_transaction_ = false;
    Execute("ROLLBACK", {});
  }

  bool InTransaction() const override {
    return in_transaction_ || (conn_->server_status & SERVER_STATUS_IN_TRANS);
  }

  void SetLockTimeout(int milliseconds) override {
    int seconds = std::max(1, (milliseconds + 999) / 1000);
    Execute(fmt::format("SET SESSION lock_wait_timeout = {0}, innodb_lock_wait_timeout = {0}",
                        seconds), {});
  }

  bool Usable() const override { return usable_; }

  void ResetSession(const ConnectOptions& options) override {
    if (mysql_reset_connection(conn_.get()) != 0) throw Failure("COM_RESET_CONNECTION");
    in_transaction_ = false;
    // The reset takes the session's character set back to the server's default.
    if (mysql_set_character_set(conn_.get(), "utf8mb4") != 0) throw Failure("SET NAMES utf8mb4");
    ApplySessionSettings(options);
  }
  // Fixed session settings so that text forms are the same on every server we read or write:
  // TIMESTAMP values are shown in the session time zone.
  void ApplySessionSettings(const ConnectOptions& options) {
    Execute(options.executor_session ? "SET time_zone = '+00:00', @shardshift_session = 1" : "SET time_zone = '+00:00'", {});
  }

  std::string ServerVersion() override { return mysql_get_server_info(conn_.get()); }

  SchemaInfo Introspect(const IntrospectOptions& options) override {
    return IntrospectMySQL(*this, options);
  }

  Error Failure(std::string_view sql) {
    unsigned e = mysql_errno(conn_.get());
    ErrorKind kind = KindForErrno(e);
    if (kind == ErrorKind::kConnectionLost) usable_ = false;
    return Error(kind, fmt::format("{}: {} [errno {}]", Describe(), Scrub(mysql_error(conn_.get())), e),
                 mysql_sqlstate(conn_.get()), static_cast<int>(e), std::string(sql));
  }

 private:
  // A value as SQL literal text: NULL, X'..' for bytes, '...' escaped for text.
  std::string Literal(const Value& v, bool binary) {
    if (!v) return "NULL";
    if (binary) {
      static const char* kHex = "0123456789ABCDEF";
      std::string out = "X'";
      out.reserve(v->size() * 2 + 3);
      for (unsigned char c : *v) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      return out + "'";
    }
    std::string out(v->size() * 2 + 3, '\0');
    out[0] = '\'';
    unsigned long n = mysql_real_escape_string(conn_.get(), out.data() + 1, v->data(), v->size());
    out.resize(n + 1);
    return out + "'";
  }

  // Replaces each ? outside quotes, identifiers and comments with the next parameter's literal.
  std::string Interpolate(std::string_view sql, const Params& params) {
    if (params.empty()) return Tag(sql);
    std::string out;
    size_t next = 0;
    for (size_t i = 0; i < sql.size(); ++i) {
      char c = sql[i];
      if (c == '\'' || c == '"' || c == '`') {
        size_t j = i + 1;
        while (j < sql.size() && sql[j] != c) j += (sql[j] == '\\' && c != '`') ? 2 : 1;
        out.append(sql.substr(i, j - i + 1));
        i = j;
      } else if (c == '-' && i + 2 < sql.size() && sql[i + 1] == '-' && sql[i + 2] == ' ') {
        size_t j = sql.find('\n', i);
        j = j == std::string_view::npos ? sql.size() : j;
        out.append(sql.substr(i, j - i));
        i = j - 1;
      } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
        size_t j = sql.find("*/", i + 2);
        j = j == std::string_view::npos ? sql.size() : j + 2;
        out.append(sql.substr(i, j - i));
        i = j - 1;
      } else if (c == '?') {
        if (next < params.size()) out += Literal(params[next].value, params[next].binary);
        ++next;
      } else {
        out += c;
      }
    }
    if (next != params.size()) {
      throw Error(ErrorKind::kStatement,
                  fmt::format("{}: the statement has {} placeholder(s) for {} parameter(s)",
                              Describe(), next, params.size()),
                  "", 0, std::string(sql));
    }
    return Tag(out);
  }

  void Send(std::string_view sql, const Params& params) {
    std::string text = Interpolate(sql, params);
    if (mysql_real_query(conn_.get(), text.data(), text.size()) != 0) throw Failure(sql);
  }

  void DrainMoreResults(std::string_view sql) {
    while (mysql_more_results(conn_.get())) {
      if (mysql_next_result(conn_.get()) > 0) throw Failure(sql);
      MysqlResultPtr extra(mysql_store_result(conn_.get()));
    }
  }

  MysqlPtr conn_;
  bool in_transaction_ = false;
  bool usable_ = true;

  friend class MysqlStream;
};

bool MysqlStream::Next(Chunk& out) {
  out.rows.clear();
  out.columns = columns_;
  if (!res_) return false;
  unsigned n = static_cast<unsigned>(columns_.size());
  while (out.rows.size() < chunk_rows_) {
    MYSQL_ROW row = mysql_fetch_row(res_.get());
    if (!row) {
      if (mysql_errno(conn_.conn_.get()) != 0) {
        Error e = conn_.Failure(sql_);
        res_.reset();
        throw e;
      }
      res_.reset();
      break;
    }
    out.rows.push_back(ReadRow(res_.get(), row, n));
  }
  return !out.rows.empty();
}

// Query options a mysql:// URL may carry.
void ApplyOption(MYSQL* m, const std::string& key, const std::string& value,
                 const std::string& describe) {
  auto as_uint = [&]() -> unsigned {
    try {
      return static_cast<unsigned>(std::stoul(value));
    } catch (...) {
      throw Error(ErrorKind::kBadInput, describe + ": option " + key + " needs a number");
    }
  };
  auto as_bool = [&]() -> my_bool {
    if (value == "true" || value == "1") return 1;
    if (value == "false" || value == "0") return 0;
    throw Error(ErrorKind::kBadInput, describe + ": option " + key + " needs true or false");
  };
  if (key == "connect_timeout") {
    unsigned v = as_uint();
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &v);
  } else if (key == "read_timeout") {
    unsigned v = as_uint();
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &v);
  } else if (key == "write_timeout") {
    unsigned v = as_uint();
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &v);
  } else if (key == "ssl") {
    my_bool v = as_bool();
    mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &v);
  } else if (key == "ssl_verify_server_cert") {
    my_bool v = as_bool();
    mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &v);
  } else if (key == "ssl_ca") {
    mysql_options(m, MYSQL_OPT_SSL_CA, value.c_str());
  } else if (key == "socket") {
    // handled by the caller
  } else {
    throw Error(ErrorKind::kBadInput,
                describe + ": unknown URL option '" + key +
                    "' (mysql:// takes connect_timeout, read_timeout, write_timeout, ssl, "
                    "ssl_ca, ssl_verify_server_cert, socket)");
  }
}

}  // namespace

::st_mysql* OpenMysql(const ConnectionUrl& url, const std::string& describe, const ConnectOptions& options) {
  MysqlPtr m(mysql_init(nullptr));
  if (!m) throw Error(ErrorKind::kConnect, describe + ": cannot connect: out of memory");
  unsigned timeout = static_cast<unsigned>(options.connect_timeout_seconds);
  mysql_options(m.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(m.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  mysql_options(m.get(), MYSQL_OPT_LOCAL_INFILE, nullptr);  // never read client files
  mysql_optionsv(m.get(), MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", options.application_name.c_str());
  std::string socket;
  for (const auto& [k, v] : url.options) {
    ApplyOption(m.get(), k, v, describe);
    if (k == "socket") socket = v;
  }
  if (!mysql_real_connect(m.get(), url.host.empty() ? nullptr : url.host.c_str(),
                          url.user.empty() ? nullptr : url.user.c_str(),
                          url.password.empty() ? nullptr : url.password.c_str(),
                          url.database.empty() ? nullptr : url.database.c_str(),
                          static_cast<unsigned>(url.port), socket.empty() ? nullptr : socket.c_str(),
                          CLIENT_MULTI_RESULTS)) {
    unsigned e = mysql_errno(m.get());
    std::string message = mysql_error(m.get());
    if (!url.password.empty()) {
      for (size_t pos; (pos = message.find(url.password)) != std::string::npos;) {
        message.replace(pos, url.password.size(), "***");
      }
    }
    ErrorKind kind = KindForErrno(e);
    if (kind == ErrorKind::kStatement || kind == ErrorKind::kConnectionLost) kind = ErrorKind::kConnect;
    throw Error(kind, fmt::format("{}: cannot connect: {} [errno {}]", describe, message, e), "",
                static_cast<int>(e));
  }
  // Connector/C leaves its socket inheritable (libpq marks its own close-on-exec): a program we
  // start must not hold our session, and with it our GET_LOCK run lock, past our death.
  ::fcntl(static_cast<int>(mysql_get_socket(m.get())), F_SETFD, FD_CLOEXEC);
  return m.release();
}

std::unique_ptr<Connection> ConnectMySQL(const ConnectionUrl& url, const std::string& name,
                                         const ConnectOptions& options) {
  MysqlPtr m(OpenMysql(url, "database '" + name + "' (" + url.Redacted() + ")", options));
  auto conn = std::make_unique<MysqlConnection>(url, name, std::move(m));
  conn->ApplySessionSettings(options);
  return conn;
}

}  // namespace shardshift::db
