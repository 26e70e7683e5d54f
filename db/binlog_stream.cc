#include "db/binlog_stream.h"

#include <mysql.h>
#include <mariadb_rpl.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "db/engines.h"
#include "db/error.h"

namespace shardshift::db {

namespace {

// While the log is idle the server sends a heartbeat this often: Read returns within its wait,
// and learns how far the server has sent. Inside a cutover's write block the log goes idle and the
// catch-up waits for the next heartbeat: at 100 ms it made ~200 ms of a 269 ms window (measured
// with apply --log-level debug), at 10 ms 22 of 61 ms.
constexpr uint64_t kHeartbeatNanos = 10'000'000;

uint64_t LittleEndian(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}
uint64_t BigEndian(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// The number of the file a binary log name ends in ("mariadb-bin.000042" -> 42).
std::optional<uint32_t> FileNumber(const std::string& file) {
  const size_t dot = file.rfind('.');
  if (dot == std::string::npos || dot + 1 == file.size()) return std::nullopt;
  uint64_t n = 0;
  for (size_t i = dot + 1; i < file.size(); ++i) {
    if (file[i] < '0' || file[i] > '9' || n > 0xffffffffu / 10) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(file[i] - '0');
  }
  return static_cast<uint32_t>(n);
}

struct Column {
  uint8_t type = 0;
  uint16_t meta = 0;
};

struct TableMap {
  TableName table;              // as the caller spells it
  std::vector<Column> columns;
  std::vector<int> key_at;      // the key columns' positions (empty: a table not wanted)
  std::vector<bool> key_unsigned;
  const RowFilter* only = nullptr;
  int filter_at = -1;           // only's column's position (-1: every row)
  bool filter_unsigned = false;
};

// One row image's key columns (a MINIMAL image may lack some), and what it shows of the filter's
// column: nothing (not in the image), NULL or a value.
struct ImageValues {
  std::vector<std::optional<std::string>> key;
  std::optional<std::optional<std::string>> filtered;
};

// A table's metadata for one column type, as the table map event packs it.
uint16_t ReadMeta(uint8_t type, const uint8_t*& m, const uint8_t* end) {
  auto need = [&](size_t n) {
    if (static_cast<size_t>(end - m) < n) {
      throw Error(ErrorKind::kConnectionLost, "the binary log sent a truncated table map");
    }
  };
  switch (type) {
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_GEOMETRY:
    case MYSQL_TYPE_TIME2:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIMESTAMP2:
    case MYSQL_TYPE_JSON:
      need(1);
      return *m++;
    case MYSQL_TYPE_BIT:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING: {
      need(2);
      const uint16_t v = static_cast<uint16_t>(m[0] | (m[1] << 8));
      m += 2;
      return v;
    }
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_SET:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_STRING: {
      need(2);
      const uint16_t v = static_cast<uint16_t>((m[0] << 8) | m[1]);
      m += 2;
      return v;
    }
    default:
      return 0;
  }
}

size_t DecimalBinSize(int precision, int scale) {
  static constexpr int kDigitBytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
  const int integral = precision - scale;
  return static_cast<size_t>(integral / 9 * 4 + kDigitBytes[integral % 9] + scale / 9 * 4 + kDigitBytes[scale % 9]);
}

// The bytes one column's value takes in a row image (the layout of MySQL's calc_field_size).
size_t FieldSize(const Column& c, const uint8_t* p, const uint8_t* end) {
  auto prefixed = [&](size_t prefix) {
    if (static_cast<size_t>(end - p) < prefix) throw Error(ErrorKind::kConnectionLost, "the binary log sent a truncated row");
    return prefix + LittleEndian(p, prefix);
  };
  const size_t fraction = (c.meta + 1) / 2;
  switch (c.type) {
    case MYSQL_TYPE_NEWDECIMAL: return DecimalBinSize(c.meta >> 8, c.meta & 0xff);
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE: return c.meta;
    case MYSQL_TYPE_SET:
    case MYSQL_TYPE_ENUM: return c.meta & 0xff;
    case MYSQL_TYPE_STRING: {
      const uint8_t real = static_cast<uint8_t>(c.meta >> 8);
      if (real == MYSQL_TYPE_ENUM || real == MYSQL_TYPE_SET) return c.meta & 0xff;
      const unsigned length = (((c.meta >> 4) & 0x300) ^ 0x300) + (c.meta & 0xff);
      return prefixed(length > 255 ? 2 : 1);
    }
    case MYSQL_TYPE_YEAR:
    case MYSQL_TYPE_TINY: return 1;
    case MYSQL_TYPE_SHORT: return 2;
    case MYSQL_TYPE_INT24: return 3;
    case MYSQL_TYPE_LONG: return 4;
    case MYSQL_TYPE_LONGLONG: return 8;
    case MYSQL_TYPE_NULL: return 0;
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_TIME: return 3;
    case MYSQL_TYPE_TIME2: return 3 + fraction;
    case MYSQL_TYPE_TIMESTAMP: return 4;
    case MYSQL_TYPE_TIMESTAMP2: return 4 + fraction;
    case MYSQL_TYPE_DATETIME: return 8;
    case MYSQL_TYPE_DATETIME2: return 5 + fraction;
    case MYSQL_TYPE_BIT: return (c.meta >> 8) + ((c.meta & 0xff) != 0 ? 1 : 0);
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING: return prefixed(c.meta > 255 ? 2 : 1);
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_GEOMETRY:
    case MYSQL_TYPE_JSON: return prefixed(c.meta);
    default:
      throw Error(ErrorKind::kBadInput, fmt::format("a column of binary log type {} cannot be read", c.type));
  }
}

// Fractional seconds of a DATETIME2/TIMESTAMP2 value with `digits` digits, as ".dddddd".
std::string Fraction(const uint8_t* p, unsigned digits) {
  if (digits == 0) return "";
  const size_t bytes = (digits + 1) / 2;
  uint64_t v = BigEndian(p, bytes);
  const uint64_t micros = bytes == 1 ? v * 10000 : bytes == 2 ? v * 100 : v;
  return fmt::format(".{:06d}", micros).substr(0, 1 + digits);
}

// A key column's value as text, as the changelog's INSERT takes it (a MariaDB session at
// time_zone +00:00, as db::Connect sets it).
std::string KeyText(const Column& c, bool is_unsigned, const uint8_t* p, size_t size) {
  switch (c.type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG: {
      const uint64_t v = LittleEndian(p, size);
      if (is_unsigned || size == 8) {
        return is_unsigned ? std::to_string(v) : std::to_string(static_cast<int64_t>(v));
      }
      const uint64_t sign = uint64_t{1} << (8 * size - 1);
      return std::to_string(static_cast<int64_t>((v ^ sign) - sign));
    }
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING: {
      const size_t prefix = c.type == MYSQL_TYPE_STRING
                                ? ((((c.meta >> 4) & 0x300) ^ 0x300) + (c.meta & 0xff) > 255 ? 2 : 1)
                                : (c.meta > 255 ? 2 : 1);
      if (c.type == MYSQL_TYPE_STRING && ((c.meta >> 8) == MYSQL_TYPE_ENUM || (c.meta >> 8) == MYSQL_TYPE_SET)) break;
      return std::string(reinterpret_cast<const char*>(p + prefix), size - prefix);
    }
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_DATE: {
      const uint64_t d = LittleEndian(p, 3);
      return fmt::format("{:04d}-{:02d}-{:02d}", d >> 9, (d >> 5) & 15, d & 31);
    }
    case MYSQL_TYPE_DATETIME2: {
      const uint64_t v = BigEndian(p, 5) - 0x8000000000ULL;
      const uint64_t ymd = v >> 17, hms = v & 0x1ffff, ym = ymd >> 5;
      return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}{}", ym / 13, ym % 13, ymd & 31, hms >> 12,
                         (hms >> 6) & 63, hms & 63, Fraction(p + 5, c.meta));
    }
    case MYSQL_TYPE_TIMESTAMP2: {
      const time_t seconds = static_cast<time_t>(BigEndian(p, 4));
      std::tm tm{};
      gmtime_r(&seconds, &tm);
      return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}{}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec, Fraction(p + 4, c.meta));
    }
    default:
      break;
  }
  throw Error(ErrorKind::kBadInput,
              fmt::format("a key column of binary log type {} cannot be read from the binary log (integers, "
                          "strings, DATE, DATETIME and TIMESTAMP can): use capture = \"trigger\"",
                          c.type));
}

struct EventFree {
  void operator()(MARIADB_RPL_EVENT* e) const { mariadb_free_rpl_event(e); }
};
using EventPtr = std::unique_ptr<MARIADB_RPL_EVENT, EventFree>;

}  // namespace

Lsn BinlogPosition::lsn() const {
  const std::optional<uint32_t> n = FileNumber(file);
  if (!n || offset > 0xffffffffu) {
    throw Error(ErrorKind::kBadInput, "not a binary log position: '" + ToString() + "'");
  }
  return (Lsn{*n} << 32) | offset;
}

BinlogPosition BinlogPosition::Parse(const std::string& text) {
  const size_t colon = text.rfind(':');
  BinlogPosition p;
  try {
    if (colon == std::string::npos) throw std::invalid_argument(text);
    p.file = text.substr(0, colon);
    size_t used = 0;
    p.offset = std::stoull(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || !FileNumber(p.file)) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    throw Error(ErrorKind::kBadInput, "not a binary log position (file:offset): '" + text + "'");
  }
  return p;
}

BinlogPosition BinlogPosition::FromLsn(const std::string& base, Lsn lsn) {
  const size_t dot = base.rfind('.');
  const size_t digits = dot == std::string::npos ? 6 : base.size() - dot - 1;
  BinlogPosition p;
  p.file = fmt::format("{}.{:0{}d}", base.substr(0, dot), lsn >> 32, digits);
  p.offset = lsn & 0xffffffffu;
  return p;
}

struct BinlogStream::Impl {
  MYSQL* mysql = nullptr;
  MARIADB_RPL* rpl = nullptr;
  std::string describe;
  std::string database;  // the connection's: where a table without a schema is
  std::vector<StreamTable> keys;
  // Per wanted table: its columns' positions by name and which are unsigned, read at the start.
  std::map<std::string, std::pair<std::map<std::string, int>, std::map<std::string, bool>>> shapes;
  std::map<uint64_t, TableMap> tables;  // by the log's table id
  std::string file;                     // the binary log being read
  std::vector<RowChange> open;          // the transaction being received
  bool in_transaction = false;
  std::map<uint32_t, std::string> gtids;  // per replication domain, the last transaction read
  std::pair<uint32_t, std::string> pending;  // the GTID of the transaction being received

  std::string State() const {
    std::string out;
    for (const auto& [domain, gtid] : gtids) out += (out.empty() ? "" : ",") + gtid;
    return out;
  }

  ~Impl() {
    if (rpl != nullptr) mariadb_rpl_close(rpl);
    if (mysql != nullptr) mysql_close(mysql);  // the server ends its dump
  }

  [[noreturn]] void Fail(const std::string& what) const {
    const unsigned e = mysql_errno(mysql);
    std::string message = rpl != nullptr && mariadb_rpl_errno(rpl) != 0 ? mariadb_rpl_error(rpl) : mysql_error(mysql);
    // 1236: the position's file was purged, or the position is not an event's start.
    const ErrorKind kind = e == 1236 ? ErrorKind::kBadInput : ErrorKind::kConnectionLost;
    throw Error(kind, fmt::format("{}: {}: {} [errno {}]", describe, what, message, e), "", static_cast<int>(e));
  }

  void Query(const std::string& sql) {
    if (mysql_real_query(mysql, sql.data(), sql.size()) != 0) Fail("cannot run " + sql.substr(0, sql.find(' ')));
    if (MYSQL_RES* r = mysql_store_result(mysql)) mysql_free_result(r);
  }

  std::string Quote(const std::string& v) {
    std::string out(v.size() * 2 + 1, '\0');
    out.resize(mysql_real_escape_string(mysql, out.data(), v.data(), static_cast<unsigned long>(v.size())));
    return "'" + out + "'";
  }

  // Each wanted table's columns: their positions in the row images, and which are unsigned.
  void ReadShapes() {
    for (const StreamTable& wanted : keys) {
      const TableName& table = wanted.table;
      const std::string schema = table.schema.empty() ? database : table.schema;
      const std::string sql = fmt::format(
          "SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE LIKE '%unsigned%' FROM information_schema.COLUMNS WHERE "
          "TABLE_SCHEMA = {} AND TABLE_NAME = {}",
          Quote(schema), Quote(table.name));
      if (mysql_real_query(mysql, sql.data(), sql.size()) != 0) Fail("cannot read the columns of " + table.ToString());
      MYSQL_RES* r = mysql_store_result(mysql);
      if (r == nullptr) Fail("cannot read the columns of " + table.ToString());
      auto& [positions, unsigned_] = shapes[schema + "." + table.name];
      while (MYSQL_ROW row = mysql_fetch_row(r)) {
        positions[row[0]] = std::stoi(row[1]) - 1;
        unsigned_[row[0]] = std::string(row[2]) == "1";
      }
      mysql_free_result(r);
      std::vector<std::string> named = wanted.key;
      if (!wanted.only.column.empty()) named.push_back(wanted.only.column);
      for (const std::string& k : named) {
        if (!positions.count(k)) {
          throw Error(ErrorKind::kBadInput, fmt::format("{}: {} has no column '{}'", describe, table.ToString(), k));
        }
      }
    }
  }

  void OnTableMap(const MARIADB_RPL_EVENT& e) {
    const auto& tm = e.event.table_map;
    const std::string schema(tm.database.str, tm.database.length);
    const std::string name(tm.table.str, tm.table.length);
    TableMap map;
    auto wanted = std::find_if(keys.begin(), keys.end(), [&](const auto& k) {
      return k.table.name == name && (k.table.schema.empty() ? database : k.table.schema) == schema;
    });
    if (wanted == keys.end()) {
      tables[tm.table_id] = std::move(map);
      return;
    }
    map.table = wanted->table;
    const uint8_t* m = reinterpret_cast<const uint8_t*>(tm.metadata.str);
    const uint8_t* m_end = m + tm.metadata.length;
    for (uint32_t i = 0; i < tm.column_count; ++i) {
      Column c;
      c.type = static_cast<uint8_t>(tm.column_types.str[i]);
      c.meta = ReadMeta(c.type, m, m_end);
      map.columns.push_back(c);
    }
    const auto& [positions, unsigned_] = shapes.at(schema + "." + name);
    if (positions.size() != map.columns.size()) {
      throw Error(ErrorKind::kBadInput,
                  fmt::format("{}: the binary log's {} has {} columns, the table {}: its shape changed while it was "
                              "being moved; run apply --revert or start the migration again",
                              describe, map.table.ToString(), map.columns.size(), positions.size()));
    }
    for (const std::string& k : wanted->key) {
      map.key_at.push_back(positions.at(k));
      map.key_unsigned.push_back(unsigned_.at(k));
    }
    if (!wanted->only.column.empty()) {
      map.only = &wanted->only;
      map.filter_at = positions.at(wanted->only.column);
      map.filter_unsigned = unsigned_.at(wanted->only.column);
    }
    tables[tm.table_id] = std::move(map);
  }

  // One row image at p (moved past it).
  ImageValues Image(const TableMap& t, const uint8_t* present, const uint8_t*& p, const uint8_t* end) {
    size_t n_present = 0;
    for (size_t i = 0; i < t.columns.size(); ++i) n_present += (present[i / 8] >> (i % 8)) & 1;
    const size_t null_bytes = (n_present + 7) / 8;
    if (static_cast<size_t>(end - p) < null_bytes) throw Error(ErrorKind::kConnectionLost, describe + ": a truncated row");
    const uint8_t* nulls = p;
    p += null_bytes;
    ImageValues out;
    out.key.resize(t.key_at.size());
    size_t j = 0;  // among the present columns
    for (size_t i = 0; i < t.columns.size(); ++i) {
      if (((present[i / 8] >> (i % 8)) & 1) == 0) continue;
      const bool is_null = (nulls[j / 8] >> (j % 8)) & 1;
      ++j;
      const bool filtered = t.filter_at == static_cast<int>(i);
      if (is_null) {
        if (filtered) out.filtered.emplace(std::nullopt);
        continue;
      }
      const size_t size = FieldSize(t.columns[i], p, end);
      if (static_cast<size_t>(end - p) < size) throw Error(ErrorKind::kConnectionLost, describe + ": a truncated row");
      for (size_t k = 0; k < t.key_at.size(); ++k) {
        if (t.key_at[k] == static_cast<int>(i)) out.key[k] = KeyText(t.columns[i], t.key_unsigned[k], p, size);
      }
      if (filtered) out.filtered.emplace(KeyText(t.columns[i], t.filter_unsigned, p, size));
      p += size;
    }
    return out;
  }

  void OnRows(const MARIADB_RPL_EVENT& e) {
    const auto& rows = e.event.rows;
    auto it = tables.find(rows.table_id);
    if (it == tables.end()) throw Error(ErrorKind::kConnectionLost, describe + ": rows before their table map");
    const TableMap& t = it->second;
    if (t.key_at.empty()) return;  // a table this reader does not want
    if (rows.compressed) {
      throw Error(ErrorKind::kBadInput, describe + ": the binary log compresses row events (log_bin_compress): set "
                                                   "log_bin_compress = OFF, or use capture = \"trigger\"");
    }
    if (e.event_type == UPDATE_ROWS_EVENT) {  // v2, MySQL's: its second bitmap is not parsed by Connector/C
      throw Error(ErrorKind::kBadInput, describe + ": version 2 row events (MySQL) are not read: use capture = \"trigger\"");
    }
    if (rows.column_count != t.columns.size()) {
      throw Error(ErrorKind::kConnectionLost, describe + ": a row event whose columns differ from its table map");
    }
    const uint8_t* p = static_cast<const uint8_t*>(rows.row_data);
    const uint8_t* end = p + rows.row_data_size;
    const char op = rows.type == WRITE_ROWS ? 'I' : rows.type == UPDATE_ROWS ? 'U' : 'D';
    auto missing = [&]() {
      return Error(ErrorKind::kBadInput,
                   fmt::format("{}: a row image of {} lacks its key (binlog_row_image = MINIMAL without the key as "
                               "primary key, or NOBLOB): set binlog_row_image = FULL, or use capture = \"trigger\"",
                               describe, t.table.ToString()));
    };
    while (p < end) {
      FilterVerdict verdict(t.only);
      ImageValues first = Image(t, rows.column_bitmap, p, end);
      KeyValues before;
      for (std::optional<std::string>& v : first.key) {
        if (!v) throw missing();
        before.push_back(std::move(*v));
      }
      if (t.filter_at >= 0) {
        if (first.filtered) {
          verdict.Value(*first.filtered);
        } else {
          verdict.Unknown();
        }
      }
      std::optional<KeyValues> now;
      if (rows.type == UPDATE_ROWS) {
        // The after image holds the columns the update set (all of them when FULL): a column it
        // lacks kept its value.
        const uint8_t* set = rows.column_update_bitmap ? rows.column_update_bitmap : rows.column_bitmap;
        ImageValues after = Image(t, set, p, end);
        now = before;
        for (size_t k = 0; k < after.key.size(); ++k) {
          if (after.key[k]) (*now)[k] = std::move(*after.key[k]);
        }
        if (after.filtered) verdict.Value(*after.filtered);
      }
      if (!verdict.keep()) continue;
      open.push_back({t.table, op, before});
      if (now && *now != before) open.push_back({t.table, op, std::move(*now)});  // the key changed
    }
  }

  void OnQuery(const MARIADB_RPL_EVENT& e) {
    const std::string sql(e.event.query.statement.str, e.event.query.statement.length);
    // Past the comments and blanks that lead it ("/* app */ TRUNCATE ...").
    size_t at = 0;
    for (;;) {
      while (at < sql.size() && std::isspace(static_cast<unsigned char>(sql[at]))) ++at;
      if (sql.compare(at, 2, "/*") == 0) {
        const size_t end = sql.find("*/", at + 2);
        at = end == std::string::npos ? sql.size() : end + 2;
      } else if (sql.compare(at, 2, "--") == 0 || sql.compare(at, 1, "#") == 0) {
        const size_t end = sql.find('\n', at);
        at = end == std::string::npos ? sql.size() : end + 1;
      } else {
        break;
      }
    }
    std::string upper = sql.substr(at, 200);
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) { return std::toupper(ch); });
    upper.erase(std::remove(upper.begin(), upper.end(), '`'), upper.end());
    if (upper.rfind("TRUNCATE", 0) == 0) {
      for (const StreamTable& wanted : keys) {
        const TableName& table = wanted.table;
        std::string name = table.name;
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::toupper(ch); });
        const size_t at = upper.find(name);
        if (at == std::string::npos || (at + name.size() < upper.size() && (std::isalnum(upper[at + name.size()]) ||
                                                                            upper[at + name.size()] == '_'))) {
          continue;
        }
        throw Error(ErrorKind::kBadInput,
                    fmt::format("{}: {} was truncated on the source while it was being moved: a TRUNCATE cannot be "
                                "replayed row by row; run apply --revert or start the migration again",
                                describe, table.ToString()));
      }
    }
  }
};

BinlogStream::BinlogStream(const ConnectionUrl& url, const std::string& name, uint32_t server_id,
                           const std::string& gtid_state,
                           std::vector<StreamTable> keys)
    : impl_(std::make_unique<Impl>()) {
  impl_->describe = "the binary log of database '" + name + "' (" + url.Redacted() + ", after GTID " +
                    (gtid_state.empty() ? "none" : gtid_state) + ")";
  // The state as it stands: domains the stream sees no transaction of keep their GTID.
  for (size_t from = 0; from < gtid_state.size();) {
    size_t comma = gtid_state.find(',', from);
    if (comma == std::string::npos) comma = gtid_state.size();
    const std::string gtid = gtid_state.substr(from, comma - from);
    const size_t dash = gtid.find('-');
    try {
      if (dash == std::string::npos || gtid.find('-', dash + 1) == std::string::npos) throw std::invalid_argument(gtid);
      impl_->gtids[static_cast<uint32_t>(std::stoul(gtid.substr(0, dash)))] = gtid;
    } catch (const std::exception&) {
      throw Error(ErrorKind::kBadInput, impl_->describe + ": not a GTID state");
    }
    from = comma + 1;
  }
  impl_->keys = std::move(keys);
  impl_->database = url.database;
  ConnectOptions options;
  options.application_name = "shardshift-capture";
  options.connect_timeout_seconds = 10;
  impl_->mysql = OpenMysql(url, impl_->describe, options);
  MYSQL* m = impl_->mysql;
  // A read that waits longer than a few heartbeats means the server is gone.
  unsigned read_timeout = 30;
  mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
  impl_->ReadShapes();
  impl_->Query("SET @master_binlog_checksum = @@global.binlog_checksum");
  impl_->Query("SET @mariadb_slave_capability = 4");  // GTID events mark where each transaction starts
  impl_->Query(fmt::format("SET @master_heartbeat_period = {}", kHeartbeatNanos));
  // As a replica with MASTER_USE_GTID = slave_pos: the server finds where the state ends.
  impl_->Query("SET @slave_connect_state = " + impl_->Quote(gtid_state));
  impl_->Query("SET @slave_gtid_strict_mode = 0");
  impl_->Query("SET @slave_gtid_ignore_duplicates = 0");
  impl_->rpl = mariadb_rpl_init(m);
  if (impl_->rpl == nullptr) impl_->Fail("cannot start reading");
  mariadb_rpl_optionsv(impl_->rpl, MARIADB_RPL_FILENAME, "", size_t{0});
  mariadb_rpl_optionsv(impl_->rpl, MARIADB_RPL_START, 4ul);
  mariadb_rpl_optionsv(impl_->rpl, MARIADB_RPL_SERVER_ID, static_cast<unsigned int>(server_id));
  mariadb_rpl_optionsv(impl_->rpl, MARIADB_RPL_FLAGS, 0u);
  if (mariadb_rpl_open(impl_->rpl) != 0) impl_->Fail("cannot start reading");
}

BinlogStream::~BinlogStream() = default;

BinlogPosition BinlogStream::Position(Lsn lsn) const { return BinlogPosition::FromLsn(impl_->file, lsn); }

std::optional<int64_t> BinlogStream::BytesAfter(Connection& conn, const BinlogPosition& p) {
  int64_t after = 0;
  bool present = false;
  for (const Row& row : conn.Query("SHOW BINARY LOGS").rows) {
    const std::string file = row.at(0).value_or("");
    const int64_t size = std::stoll(row.at(1).value_or("0"));
    if (file == p.file) {
      present = true;
      after += size - static_cast<int64_t>(p.offset);
    } else if (present) {
      after += size;
    }
  }
  if (!present) return std::nullopt;
  return after;
}

BinlogPosition BinlogStream::ServerPosition(Connection& conn) {
  ResultSet r = conn.Query("SHOW MASTER STATUS");
  if (r.rows.empty()) {
    throw Error(ErrorKind::kBadInput, "database '" + conn.name() + "' has no binary log (log_bin is OFF)");
  }
  return BinlogPosition::Parse(r.Text(0, "File") + ":" + r.Text(0, "Position"));
}

StreamBatch BinlogStream::Read(std::chrono::milliseconds wait, size_t max_changes) {
  StreamBatch batch;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  Impl& s = *impl_;
  auto here = [&](uint64_t offset) { return BinlogPosition{s.file, offset}.lsn(); };
  for (;;) {
    EventPtr e(mariadb_rpl_fetch(s.rpl, nullptr));
    if (!e) s.Fail("the stream ended");
    const uint64_t next = e->next_event_pos;
    auto commit = [&] {
      for (RowChange& c : s.open) batch.changes.push_back(std::move(c));
      s.open.clear();
      s.in_transaction = false;
      if (!s.pending.second.empty()) s.gtids[s.pending.first] = s.pending.second;
      s.pending = {};
      batch.committed = here(next);
      batch.received = std::max(batch.received, batch.committed);
      batch.resume = s.State();
    };
    switch (e->event_type) {
      case ROTATE_EVENT: {
        // Read from the event itself (OK byte, 19-byte header, 8-byte position, the name, and a
        // checksum when the log has them): Connector/C 3.3 misreads a rotation that is not the
        // first event of a stream.
        const uint8_t* raw = e->raw_data;
        const size_t size = e->raw_data_size;
        if (size < 1 + 19 + 8 + 1) throw Error(ErrorKind::kConnectionLost, s.describe + ": a truncated rotation");
        const uint64_t position = LittleEndian(raw + 20, 8);
        std::string file(reinterpret_cast<const char*>(raw + 28), size - 28);
        if (file.size() > 4 && FileNumber(file.substr(0, file.size() - 4))) file.resize(file.size() - 4);
        if (!FileNumber(file)) throw Error(ErrorKind::kConnectionLost, s.describe + ": a rotation to '" + file + "'");
        s.file = file;
        if (!s.in_transaction) batch.received = std::max(batch.received, here(position));
        break;
      }
      case GTID_EVENT:
        s.in_transaction = (e->event.gtid.flags & FL_STANDALONE) == 0;
        s.open.clear();
        s.pending = {e->event.gtid.domain_id, fmt::format("{}-{}-{}", e->event.gtid.domain_id, e->server_id,
                                                          e->event.gtid.sequence_nr)};
        break;
      case TABLE_MAP_EVENT:
        s.OnTableMap(*e);
        break;
      case WRITE_ROWS_EVENT_V1:
      case UPDATE_ROWS_EVENT_V1:
      case DELETE_ROWS_EVENT_V1:
      case WRITE_ROWS_EVENT:
      case UPDATE_ROWS_EVENT:
      case DELETE_ROWS_EVENT:
      case WRITE_ROWS_COMPRESSED_EVENT_V1:
      case UPDATE_ROWS_COMPRESSED_EVENT_V1:
      case DELETE_ROWS_COMPRESSED_EVENT_V1:
      case WRITE_ROWS_COMPRESSED_EVENT:
      case UPDATE_ROWS_COMPRESSED_EVENT:
      case DELETE_ROWS_COMPRESSED_EVENT:
        s.OnRows(*e);
        break;
      case XID_EVENT:
        commit();
        break;
      case QUERY_EVENT: {
        const std::string sql(e->event.query.statement.str, e->event.query.statement.length);
        if (sql == "BEGIN") {
          s.in_transaction = true;
          s.open.clear();
        } else if (sql == "COMMIT") {
          commit();
        } else if (sql == "ROLLBACK") {
          s.open.clear();
          s.in_transaction = false;
        } else {
          s.OnQuery(*e);
          if (!s.in_transaction) commit();  // a statement of its own (DDL)
        }
        break;
      }
      default:
        break;  // heartbeats, format descriptions, GTID lists, checkpoints, annotations
    }
    // Between transactions, the end of the event (a heartbeat's: where the server is) is reached.
    if (!s.in_transaction && next > 0 && e->event_type != ROTATE_EVENT) {
      batch.received = std::max(batch.received, here(next));
    }
    if (s.in_transaction) continue;
    if (batch.changes.size() >= max_changes) return batch;
    if (std::chrono::steady_clock::now() >= deadline) return batch;
    // Whole transactions in hand (or only other tables' transactions, which still move the
    // position a catch-up waits for) and nothing more waiting: to the caller at once, rather than
    // blocking in the next fetch until the next event or heartbeat (inside a cutover's write
    // block, where a catch-up waits for it, the log is idle).
    pollfd p{static_cast<int>(mysql_get_socket(s.mysql)), POLLIN, 0};
    if (poll(&p, 1, 0) == 0) return batch;
  }
}

}  // namespace shardshift::db
