#include "db/pg_log_stream.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "db/engines.h"
#include "db/error.h"

namespace shardshift::db {

namespace {

// Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch.
constexpr int64_t kPgEpochMicros = 946'684'800'000'000;

int64_t PgNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
             .count() - kPgEpochMicros;
}

void PutInt64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

// A cursor over one message; every read is bounds-checked (a short message is a protocol error).
class Reader {
 public:
  Reader(const char* data, size_t size) : data_(data), size_(size) {}
  uint8_t U8() { return static_cast<uint8_t>(*Take(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Big(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Big(4)); }
  uint64_t U64() { return Big(8); }
  std::string String() {
    const void* end = std::memchr(data_ + pos_, '\0', size_ - pos_);
    if (end == nullptr) throw Short();
    std::string out(data_ + pos_, static_cast<const char*>(end));
    pos_ += out.size() + 1;
    return out;
  }
  std::string Bytes(size_t n) { return std::string(Take(n), n); }
  bool AtEnd() const { return pos_ >= size_; }

 private:
  const char* Take(size_t n) {
    if (size_ - pos_ < n) throw Short();
    const char* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t Big(size_t n) {
    const char* p = Take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
    return v;
  }
  static Error Short() { return Error(ErrorKind::kConnectionLost, "the replication stream sent a truncated message"); }
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct Relation {
  TableName table;
  char identity = 'd';
  std::vector<std::string> columns;
  std::vector<bool> in_identity;  // per column: part of the replica identity (an old key image holds it)
  std::vector<int> key_at;  // the wanted key columns' positions in columns (empty: a table not wanted)
  const RowFilter* only = nullptr;
  int filter_at = -1;       // only's column's position (-1: every row)
};

// One column of a tuple: 't' (text), 'b' (binary), 'n' (NULL, or not in an old key image), 'u'
// (an unchanged TOASTed value, not sent).
struct Cell {
  char kind = 'n';
  std::string value;
};

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};

}  // namespace

std::string FormatLsn(Lsn lsn) { return fmt::format("{:X}/{:X}", lsn >> 32, lsn & 0xffffffffu); }

Lsn ParseLsn(const std::string& text) {
  const size_t slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument(text);
    return (std::stoull(text.substr(0, slash), nullptr, 16) << 32) | std::stoull(text.substr(slash + 1), nullptr, 16);
  } catch (const std::exception&) {
    throw Error(ErrorKind::kStatement, "not a WAL position: '" + text + "'");
  }
}

struct PgLogStream::Impl {
  std::unique_ptr<PGconn, ConnDeleter> conn;
  std::string describe;
  std::vector<StreamTable> keys;
  std::map<uint32_t, Relation> relations;
  std::vector<RowChange> open;  // the transaction being received
  uint32_t xid = 0;             // its transaction id
  bool in_transaction = false;
  Lsn sent_position = 0;        // the last position we reported

  [[noreturn]] void Fail(const std::string& what) const {
    throw Error(ErrorKind::kConnectionLost, describe + ": " + what + ": " + PQerrorMessage(conn.get()));
  }

  // The connection does not block: a reply the server does not read yet (it is busy sending)
  // stays queued in libpq and goes with the next one.
  void Send(const std::string& message) {
    if (PQputCopyData(conn.get(), message.data(), static_cast<int>(message.size())) == -1 || PQflush(conn.get()) == -1) {
      Fail("cannot send a status update");
    }
  }

  void Status(Lsn flushed, bool reply) {
    flushed = std::max(sent_position, flushed);  // a position once confirmed stays confirmed
    std::string m = "r";
    PutInt64(m, flushed);  // written
    PutInt64(m, flushed);  // flushed
    PutInt64(m, flushed);  // applied
    PutInt64(m, static_cast<uint64_t>(PgNow()));
    m += static_cast<char>(reply ? 1 : 0);
    Send(m);
    sent_position = std::max(sent_position, flushed);
  }

  // Says how far the stream was received, confirming nothing: the flush position is left
  // invalid, so the slot stays where the caller confirmed (keys it gathered from earlier reads may
  // not be durable yet) while a server shutting down takes the write position as replicated
  // (walsender.c, WalSndDone: flush if valid, else write) and does not wait for us.
  void Received(Lsn written) {
    std::string m = "r";
    PutInt64(m, std::max(sent_position, written));  // written
    PutInt64(m, 0);                                 // flushed: invalid
    PutInt64(m, 0);                                 // applied: invalid
    PutInt64(m, static_cast<uint64_t>(PgNow()));
    m += static_cast<char>(0);
    Send(m);
  }

  static std::vector<Cell> Tuple(Reader& r) {
    const uint16_t n = r.U16();
    std::vector<Cell> cells(n);
    for (uint16_t i = 0; i < n; ++i) {
      cells[i].kind = static_cast<char>(r.U8());
      if (cells[i].kind == 't' || cells[i].kind == 'b') cells[i].value = r.Bytes(r.U32());
    }
    return cells;
  }

  // What a tuple shows of the filter's column; old_key: an old key image ('K'), which holds only
  // the replica identity's columns.
  static void Note(const Relation& rel, const std::vector<Cell>& cells, bool old_key, FilterVerdict& verdict) {
    if (rel.filter_at < 0) return;
    const size_t at = static_cast<size_t>(rel.filter_at);
    if (at >= cells.size() || cells[at].kind == 'u' || (old_key && !rel.in_identity[at])) {
      verdict.Unknown();
    } else if (cells[at].kind == 'n') {
      verdict.Value(std::nullopt);
    } else {
      verdict.Value(cells[at].value);
    }
  }

  KeyValues KeyOf(const Relation& rel, const std::vector<Cell>& values, char op) {
    KeyValues key;
    for (int at : rel.key_at) {
      if (at >= static_cast<int>(values.size()) || (values[at].kind != 't' && values[at].kind != 'b')) {
        throw Error(ErrorKind::kBadInput,
                    fmt::format("{}: a {} of {} came without its key column '{}' (REPLICA IDENTITY {}): set REPLICA "
                                "IDENTITY FULL, or to an index holding the key, and plan again", describe,
                                op == 'D' ? "DELETE" : "UPDATE", rel.table.ToString(), rel.columns.at(at),
                                rel.identity == 'n' ? "NOTHING" : rel.identity == 'i' ? "USING INDEX" : "DEFAULT"));
      }
      key.push_back(values[at].value);
    }
    return key;
  }

  // One pgoutput message; a commit moves the open transaction into batch.
  void Decode(Reader& r, StreamBatch& batch) {
    const char type = static_cast<char>(r.U8());
    switch (type) {
      case 'B':
        r.U64();  // the commit's LSN
        r.U64();  // its time
        xid = r.U32();
        in_transaction = true;
        open.clear();
        return;
      case 'C': {
        r.U8();                  // flags
        r.U64();                 // the commit's LSN
        const Lsn end = r.U64();  // the end of the commit record
        if (!open.empty()) batch.xids.push_back(xid);
        for (RowChange& c : open) batch.changes.push_back(std::move(c));
        open.clear();
        in_transaction = false;
        batch.committed = end;
        batch.received = std::max(batch.received, end);
        return;
      }
      case 'R': {
        const uint32_t oid = r.U32();
        Relation rel;
        rel.table.schema = r.String();
        rel.table.name = r.String();
        rel.identity = static_cast<char>(r.U8());
        const uint16_t n = r.U16();
        for (uint16_t i = 0; i < n; ++i) {
          rel.in_identity.push_back((r.U8() & 1) != 0);
          rel.columns.push_back(r.String());
          r.U32();
          r.U32();
        }
        auto wanted = std::find_if(keys.begin(), keys.end(), [&](const auto& k) {
          return k.table.name == rel.table.name && (k.table.schema.empty() ? "public" : k.table.schema) == rel.table.schema;
        });
        if (wanted != keys.end()) {
          rel.table = wanted->table;  // as the caller spells it
          auto position = [&](const std::string& column) {
            auto it = std::find(rel.columns.begin(), rel.columns.end(), column);
            if (it == rel.columns.end()) {
              throw Error(ErrorKind::kBadInput, fmt::format("{}: the stream's {} has no column '{}'", describe,
                                                            rel.table.ToString(), column));
            }
            return static_cast<int>(it - rel.columns.begin());
          };
          if (!wanted->only.column.empty()) {
            rel.only = &wanted->only;
            rel.filter_at = position(wanted->only.column);
          }
          for (const std::string& k : wanted->key) rel.key_at.push_back(position(k));
        }
        relations[oid] = std::move(rel);
        return;
      }
      case 'I':
      case 'U':
      case 'D': {
        auto it = relations.find(r.U32());
        if (it == relations.end()) throw Error(ErrorKind::kConnectionLost, describe + ": a change before its relation");
        const Relation& rel = it->second;
        if (rel.key_at.empty()) return;  // a table of the publication this reader does not want
        FilterVerdict verdict(rel.only);
        const char tag = static_cast<char>(r.U8());
        if (type == 'I' || tag == 'N') {
          const std::vector<Cell> row = Tuple(r);
          Note(rel, row, false, verdict);
          // An update without an old image left the replica identity's columns as they were.
          if (type == 'U' && rel.filter_at >= 0 && !rel.in_identity[static_cast<size_t>(rel.filter_at)]) {
            verdict.Unknown();
          }
          if (verdict.keep()) open.push_back({rel.table, type, KeyOf(rel, row, type)});
          return;
        }
        // 'K' (the old key) or 'O' (the old row): an update that changed the key, or a delete.
        const std::vector<Cell> before = Tuple(r);
        Note(rel, before, tag == 'K', verdict);
        KeyValues old = KeyOf(rel, before, type);
        std::optional<KeyValues> now;
        if (type == 'U') {
          r.U8();  // 'N'
          const std::vector<Cell> after = Tuple(r);
          Note(rel, after, false, verdict);
          now = KeyOf(rel, after, type);
        }
        if (!verdict.keep()) return;
        open.push_back({rel.table, type, old});
        if (now && *now != old) open.push_back({rel.table, type, std::move(*now)});
        return;
      }
      case 'T': {
        const uint32_t n = r.U32();
        r.U8();
        for (uint32_t i = 0; i < n; ++i) {
          auto it = relations.find(r.U32());
          if (it != relations.end() && !it->second.key_at.empty()) {
            throw Error(ErrorKind::kBadInput,
                        fmt::format("{}: {} was truncated on the source while it was being moved: a TRUNCATE cannot "
                                    "be replayed row by row; run apply --revert or start the migration again",
                                    describe, it->second.table.ToString()));
          }
        }
        return;
      }
      default:
        return;  // 'Y' (type), 'O' (origin), 'M' (message): nothing to take
    }
  }
};

PgLogStream::PgLogStream(const ConnectionUrl& url, const std::string& name, const std::string& slot,
                         const std::string& publication,
                         std::vector<StreamTable> keys)
    : impl_(std::make_unique<Impl>()) {
  impl_->describe = "the change stream of database '" + name + "' (" + url.Redacted() + ", slot " + slot + ")";
  impl_->keys = std::move(keys);
  ConnectOptions options;
  options.application_name = "shardshift-capture";
  options.connect_timeout_seconds = 10;
  impl_->conn.reset(OpenPostgres(url, impl_->describe, options, true));
  // Slot and publication names are the planner's ([a-z0-9_]); quoted all the same.
  const std::string start = fmt::format(
      "START_REPLICATION SLOT \"{}\" LOGICAL 0/0 (proto_version '1', publication_names '\"{}\"')", slot, publication);
  PGresult* res = PQexec(impl_->conn.get(), start.c_str());
  const ExecStatusType st = PQresultStatus(res);
  std::string error = PQresultErrorMessage(res);
  const char* code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const std::string sqlstate = code != nullptr ? code : "";
  PQclear(res);
  if (st != PGRES_COPY_BOTH) {
    while (!error.empty() && error.back() == '\n') error.pop_back();
    // 55006: the slot is in use (by a session a killed run left); the caller may end it and retry.
    throw Error(ErrorKind::kStatement, impl_->describe + ": cannot start streaming: " + error, sqlstate);
  }
  if (PQsetnonblocking(impl_->conn.get(), 1) != 0) impl_->Fail("cannot make the stream non-blocking");
}

PgLogStream::~PgLogStream() = default;

StreamBatch PgLogStream::Read(std::chrono::milliseconds wait, size_t max_changes) {
  StreamBatch batch;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  PGconn* c = impl_->conn.get();
  for (;;) {
    char* buffer = nullptr;
    const int n = PQgetCopyData(c, &buffer, 1);
    if (n > 0) {
      std::unique_ptr<char, decltype(&PQfreemem)> hold(buffer, &PQfreemem);
      Reader r(buffer, static_cast<size_t>(n));
      const char kind = static_cast<char>(r.U8());
      if (kind == 'w') {
        r.U64();  // where this message's WAL starts
        r.U64();  // the server's end of WAL
        r.U64();  // its clock
        impl_->Decode(r, batch);
        if (!impl_->in_transaction && batch.changes.size() >= max_changes) return batch;
      } else if (kind == 'k') {
        const Lsn end = r.U64();
        r.U64();
        const bool reply = r.U8() != 0;
        // Everything before the sender's position was sent, unless a transaction is half received.
        if (!impl_->in_transaction) batch.received = std::max(batch.received, end);
        if (reply) {
          // With nothing in this batch, say that all before end was received (a server shutting
          // down waits for it), but confirm nothing: keys the caller gathered from earlier reads
          // may not be durable yet, and a slot moved past them loses them at the next start (a
          // restart mid-stream did, under load); the caller confirms as it queues. Otherwise
          // answer with what is confirmed and return, so that the caller queues and confirms.
          const bool settled = !impl_->in_transaction && batch.changes.empty();
          if (settled) {
            impl_->Received(end);
          } else {
            impl_->Status(impl_->sent_position, false);
            return batch;
          }
        }
      }
      continue;
    }
    if (n == -1) {  // the stream ended: the server stopped it
      PGresult* res = PQgetResult(c);
      std::string error = res ? PQresultErrorMessage(res) : "";
      PQclear(res);
      throw Error(ErrorKind::kConnectionLost, impl_->describe + ": the stream ended" + (error.empty() ? "" : ": " + error));
    }
    if (n == -2) impl_->Fail("cannot read");
    // Nothing buffered: whole transactions in hand go to the caller at once (under a steady
    // writer, batches then grow with the time the caller takes to queue one); else wait for the
    // socket until the deadline.
    if (!impl_->in_transaction && !batch.changes.empty()) return batch;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return batch;
    pollfd p{PQsocket(c), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) impl_->Fail("cannot wait for the stream");
    if (PQconsumeInput(c) != 1) impl_->Fail("cannot read");
  }
}

void PgLogStream::Confirm(Lsn lsn) { impl_->Status(lsn, false); }

void PgLogStream::RequestPosition() { impl_->Status(impl_->sent_position, true); }

}  // namespace shardshift::db
