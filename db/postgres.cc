// PostgreSQL through libpq. libpq-fe.h stays in this file.
#include <libpq-fe.h>

#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "db/engines.h"
#include "db/error.h"

namespace shardshift::db {

namespace {

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnCloser>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultCloser>;

// libpqxx's mapping, narrowed to what the executors act on.
ErrorKind KindForSqlstate(const std::string& s) {
  if (s == "40001") return ErrorKind::kSerialization;
  if (s == "40P01") return ErrorKind::kDeadlock;
  if (s == "55P03") return ErrorKind::kLockTimeout;
  if (s == "23505") return ErrorKind::kUniqueViolation;
  if (s == "3D000") return ErrorKind::kUnknownDatabase;
  if (s == "28P01" || s == "28000") return ErrorKind::kAuth;
  if (s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03") {
    return ErrorKind::kConnectionLost;
  }
  return ErrorKind::kStatement;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string TypeName(Oid oid) {
  switch (oid) {
    case 16: return "boolean";
    case 17: return "bytea";
    case 20: return "bigint";
    case 21: return "smallint";
    case 23: return "integer";
    case 25: return "text";
    case 114: return "json";
    case 700: return "real";
    case 701: return "double precision";
    case 1042: return "character";
    case 1043: return "character varying";
    case 1082: return "date";
    case 1083: return "time";
    case 1114: return "timestamp";
    case 1184: return "timestamptz";
    case 1700: return "numeric";
    case 2950: return "uuid";
    case 3802: return "jsonb";
    default: return "oid " + std::to_string(oid);
  }
}

std::string HexBytes(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

void AppendCopyValue(std::string& line, const Value& v) {
  if (!v) {
    line += "\\N";
    return;
  }
  for (char c : *v) {
    switch (c) {
      case '\\': line += "\\\\"; break;
      case '\n': line += "\\n"; break;
      case '\r': line += "\\r"; break;
      case '\t': line += "\\t"; break;
      default: line += c;
    }
  }
}

void NoticeToLog(void*, const char* message) {
  spdlog::debug("postgres notice: {}", Trim(message));
}

class PgConnection;

class PgStream : public RowStream {
 public:
  PgStream(PgConnection& conn, PGconn* raw, std::string sql, size_t chunk_rows)
      : conn_(conn), raw_(raw), sql_(std::move(sql)), chunk_rows_(chunk_rows == 0 ? 1 : chunk_rows) {}
  ~PgStream() override;
  bool Next(Chunk& out) override;

 private:
  void Drain();

  PgConnection& conn_;
  PGconn* raw_;
  std::string sql_;
  size_t chunk_rows_;
  std::vector<ColumnMeta> columns_;
  bool done_ = false;
};

class PgConnection : public Connection {
 public:
  PgConnection(const ConnectionUrl& url, const std::string& name, PgConnPtr conn)
      : Connection(url, name), conn_(std::move(conn)) {
    PQsetNoticeProcessor(conn_.get(), NoticeToLog, nullptr);
  }

  std::string Placeholder(int i) const override { return "$" + std::to_string(i); }

  int64_t Execute(std::string_view sql, const Params& params) override {
    PgResultPtr r = Run(sql, params);
    const char* n = PQcmdTuples(r.get());
    return n && *n ? std::stoll(n) : 0;
  }

  ResultSet Query(std::string_view sql, const Params& params) override {
    PgResultPtr r = Run(sql, params);
    ResultSet out;
    out.columns = Columns(r.get());
    int rows = PQntuples(r.get());
    int cols = PQnfields(r.get());
    out.rows.reserve(rows);
    for (int i = 0; i < rows; ++i) out.rows.push_back(ReadRow(r.get(), i, cols));
    const char* n = PQcmdTuples(r.get());
    out.affected = n && *n ? std::stoll(n) : 0;
    return out;
  }

  void ExecuteScript(std::string_view script) override {
    std::string text = Tag(script);
    PgResultPtr r(PQexec(conn_.get(), text.c_str()));
    Check(r.get(), script);
  }

  std::unique_ptr<RowStream> Stream(std::string_view sql, const Params& params,
                                    size_t chunk_rows) override {
    std::string text = Tag(sql);
    ParamArrays p(params);
    if (!PQsendQueryParams(conn_.get(), text.c_str(), static_cast<int>(params.size()), nullptr,
                           p.values.data(), nullptr, nullptr, 0)) {
      throw Failure(nullptr, sql);
    }
    if (!PQsetSingleRowMode(conn_.get())) {
      throw Error(ErrorKind::kStatement, Describe() + ": cannot enter single-row mode", "", 0,
                  std::string(sql));
    }
    return std::make_unique<PgStream>(*this, conn_.get(), std::string(sql), chunk_rows);
  }

  int64_t BulkInsert(const TableName& table, const std::vector<std::string>& columns,
                     const Chunk& chunk) override {
    if (chunk.rows.empty()) return 0;
    std::string sql = "COPY " + Quote(table) + " (";
    for (size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + Quote(columns[i]);
    sql += ") FROM STDIN";
    std::string text = Tag(sql);
    PgResultPtr start(PQexec(conn_.get(), text.c_str()));
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) Check(start.get(), sql);
    std::string buffer;
    auto flush = [&] {
      if (buffer.empty()) return;
      if (PQputCopyData(conn_.get(), buffer.data(), static_cast<int>(buffer.size())) != 1) {
        throw Failure(nullptr, sql);
      }
      buffer.clear();
    };
    for (const Row& row : chunk.rows) {
      if (row.size() != columns.size()) {
        PQputCopyEnd(conn_.get(), "row width does not match the column list");
        DrainResults();
        throw Error(ErrorKind::kStatement,
                    fmt::format("{}: bulk insert into {}: a row has {} values for {} columns",
                                Describe(), table.ToString(), row.size(), columns.size()));
      }
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) buffer += '\t';
        AppendCopyValue(buffer, row[i]);
      }
      buffer += '\n';
      if (buffer.size() >= (1 << 16)) flush();
    }
    flush();
    if (PQputCopyEnd(conn_.get(), nullptr) != 1) throw Failure(nullptr, sql);
    PgResultPtr end(PQgetResult(conn_.get()));
    Check(end.get(), sql);
    DrainResults();
    const char* n = PQcmdTuples(end.get());
    return n && *n ? std::stoll(n) : 0;
  }

  void Begin(const TxOptions& options) override {
    std::string sql = "BEGIN";
    switch (options.isolation) {
      case Isolation::kDefault: break;
      case Isolation::kReadCommitted: sql += " ISOLATION LEVEL READ COMMITTED"; break;
      case Isolation::kRepeatableRead: sql += " ISOLATION LEVEL REPEATABLE READ"; break;
      case Isolation::kSerializable: sql += " ISOLATION LEVEL SERIALIZABLE"; break;
    }
    if (options.read_only) sql += " READ ONLY";
    Run(sql, {});
  }

  void Commit() override {
    PgResultPtr r = Run("COMMIT", {});
    // COMMIT of a transaction that already failed answers ROLLBACK without an error.
    if (std::strcmp(PQcmdStatus(r.get()), "ROLLBACK") == 0) {
      throw Error(ErrorKind::kStatement,
                  Describe() + ": the transaction had failed and was rolled back, not committed",
                  "25P02", 0, "COMMIT");
    }
  }

  void Rollback() override { Run("ROLLBACK", {}); }

  bool InTransaction() const override {
    return PQtransactionStatus(conn_.get()) != PQTRANS_IDLE &&
           PQtransactionStatus(conn_.get()) != PQTRANS_UNKNOWN;
  }

  void SetLockTimeout(int milliseconds) override {
    Run(fmt::format("SET lock_timeout = '{}ms'", std::max(0, milliseconds)), {});
  }

  bool Usable() const override { return PQstatus(conn_.get()) == CONNECTION_OK; }

  void ResetSession(const ConnectOptions& options) override {
    Run("DISCARD ALL", {});
    ApplySessionSettings(options);
  }
  // Fixed session settings so that text forms are the same on every server we read or write (one
  // round trip).
  void ApplySessionSettings(const ConnectOptions& options) {
    ExecuteScript(std::string("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3; "
                              "SET bytea_output = 'hex'") +
                  (options.executor_session ? "; SET shardshift.session = 'on'" : ""));
  }

  std::string ServerVersion() override {
    const char* v = PQparameterStatus(conn_.get(), "server_version");
    return v ? v : "";
  }

  SchemaInfo Introspect(const IntrospectOptions& options) override {
    return IntrospectPostgres(*this, options);
  }

  // For PgStream.
  Error Failure(PGresult* r, std::string_view sql) const {
    std::string sqlstate;
    std::string message;
    if (r) {
      const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      sqlstate = s ? s : "";
      const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
      const char* detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
      message = primary ? primary : Trim(PQresultErrorMessage(r));
      if (detail) message += " (" + std::string(detail) + ")";
    }
    if (message.empty()) message = Trim(PQerrorMessage(conn_.get()));
    ErrorKind kind = KindForSqlstate(sqlstate);
    // Two sessions changing one catalog row at once (a build of a killed executor still being
    // torn down while the next one drops its leftover): internal, but transient like a
    // serialization failure, and retried as one.
    if (sqlstate == "XX000" && message.find("tuple concurrently updated") != std::string::npos) {
      kind = ErrorKind::kSerialization;
    }
    if (PQstatus(conn_.get()) == CONNECTION_BAD) kind = ErrorKind::kConnectionLost;
    std::string text = Describe() + ": " + Scrub(message);
    if (!sqlstate.empty()) text += " [SQLSTATE " + sqlstate + "]";
    return Error(kind, text, sqlstate, 0, std::string(sql));
  }

  void Check(PGresult* r, std::string_view sql) const {
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY ||
        st == PGRES_SINGLE_TUPLE) {
      return;
    }
    throw Failure(r, sql);
  }

  static std::vector<ColumnMeta> Columns(const PGresult* r) {
    std::vector<ColumnMeta> cols;
    for (int c = 0; c < PQnfields(r); ++c) cols.push_back({PQfname(r, c), TypeName(PQftype(r, c)), false});
    return cols;
  }

  static Row ReadRow(const PGresult* r, int i, int cols) {
    Row row;
    row.reserve(cols);
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(r, i, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(r, i, c), PQgetlength(r, i, c)));
      }
    }
    return row;
  }

  void DrainResults() {
    while (PGresult* r = PQgetResult(conn_.get())) PQclear(r);
  }

 private:
  // Parameter values as libpq wants them; binary values go as bytea hex text.
  struct ParamArrays {
    explicit ParamArrays(const Params& params) {
      storage.reserve(params.size());
      for (const Param& p : params) {
        if (!p.value) {
          values.push_back(nullptr);
          storage.emplace_back();
          continue;
        }
        storage.push_back(p.binary ? HexBytes(*p.value) : *p.value);
        values.push_back(nullptr);
      }
      for (size_t i = 0; i < params.size(); ++i) {
        if (params[i].value) values[i] = storage[i].c_str();
      }
    }
    std::vector<std::string> storage;
    std::vector<const char*> values;
  };

  PgResultPtr Run(std::string_view sql, const Params& params) {
    std::string text = Tag(sql);
    ParamArrays p(params);
    PgResultPtr r(PQexecParams(conn_.get(), text.c_str(), static_cast<int>(params.size()),
                               nullptr, p.values.data(), nullptr, nullptr, 0));
    Check(r.get(), sql);
    return r;
  }

  PgConnPtr conn_;
};

PgStream::~PgStream() {
  if (done_) return;
  if (PGcancel* cancel = PQgetCancel(raw_)) {
    char buf[256];
    PQcancel(cancel, buf, sizeof buf);
    PQfreeCancel(cancel);
  }
  Drain();
}

void PgStream::Drain() {
  while (PGresult* r = PQgetResult(raw_)) PQclear(r);
  done_ = true;
}

bool PgStream::Next(Chunk& out) {
  out.rows.clear();
  if (done_) {
    out.columns = columns_;
    return false;
  }
  while (out.rows.size() < chunk_rows_) {
    PgResultPtr r(PQgetResult(raw_));
    if (!r) {
      done_ = true;
      break;
    }
    ExecStatusType st = PQresultStatus(r.get());
    if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
      if (columns_.empty()) columns_ = PgConnection::Columns(r.get());
      if (st == PGRES_SINGLE_TUPLE) out.rows.push_back(PgConnection::ReadRow(r.get(), 0, PQnfields(r.get())));
      continue;
    }
    Error e = conn_.Failure(r.get(), sql_);
    Drain();
    throw e;
  }
  out.columns = columns_;
  return !out.rows.empty();
}

ErrorKind ClassifyConnectFailure(const std::string& message) {
  if (message.find("password authentication failed") != std::string::npos ||
      message.find("no password supplied") != std::string::npos ||
      message.find("authentication failed") != std::string::npos ||
      message.find("pg_hba.conf") != std::string::npos) {
    return ErrorKind::kAuth;
  }
  if (message.find("database \"") != std::string::npos &&
      message.find("does not exist") != std::string::npos) {
    return ErrorKind::kUnknownDatabase;
  }
  if (message.find("invalid connection option") != std::string::npos ||
      message.find("invalid ") != std::string::npos) {
    return ErrorKind::kBadInput;
  }
  return ErrorKind::kConnect;
}

}  // namespace

::pg_conn* OpenPostgres(const ConnectionUrl& url, const std::string& describe, const ConnectOptions& options,
                      bool replication) {
  std::vector<std::pair<std::string, std::string>> kv;
  if (!url.host.empty()) kv.emplace_back("host", url.host);
  if (url.port) kv.emplace_back("port", std::to_string(url.port));
  if (!url.user.empty()) kv.emplace_back("user", url.user);
  if (!url.password.empty()) kv.emplace_back("password", url.password);
  if (!url.database.empty()) kv.emplace_back("dbname", url.database);
  kv.emplace_back("application_name", options.application_name);
  kv.emplace_back("connect_timeout", std::to_string(options.connect_timeout_seconds));
  kv.emplace_back("client_encoding", "UTF8");
  for (const auto& [k, v] : url.options) kv.emplace_back(k, v);  // later keys win in libpq
  if (replication) kv.emplace_back("replication", "database");
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [k, v] : kv) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PgConnPtr conn(PQconnectdbParams(keys.data(), values.data(), 0));
  if (!conn) throw Error(ErrorKind::kConnect, describe + ": cannot connect: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string message = Trim(PQerrorMessage(conn.get()));
    if (!url.password.empty()) {
      for (size_t pos; (pos = message.find(url.password)) != std::string::npos;) {
        message.replace(pos, url.password.size(), "***");
      }
    }
    throw Error(ClassifyConnectFailure(message), describe + ": cannot connect: " + message);
  }
  return conn.release();
}

std::unique_ptr<Connection> ConnectPostgres(const ConnectionUrl& url, const std::string& name,
                                            const ConnectOptions& options) {
  PgConnPtr conn(OpenPostgres(url, "database '" + name + "' (" + url.Redacted() + ")", options, false));
  auto out = std::make_unique<PgConnection>(url, name, std::move(conn));
  out->ApplySessionSettings(options);
  return out;
}

}  // namespace shardshift::db
