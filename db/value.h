// Values as they cross the engine boundary. A value is the engine's own text form of it, or
// nullopt for SQL NULL: PostgreSQL's text output (bytea as \x hex), MySQL's text protocol bytes
// (blobs as their raw bytes). Reading a value and writing it back to the same engine round-trips
// exactly, whatever its type, which is what moving rows needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardshift::db {

using Value = std::optional<std::string>;
using Row = std::vector<Value>;

struct ColumnMeta {
  std::string name;
  std::string type;     // the engine's type name, for messages and decisions
  bool binary = false;  // MySQL: the bytes are binary (BLOB, BINARY); must be sent as such
};

// A chunk of rows with their columns: what a streaming read yields and a bulk write takes.
struct Chunk {
  std::vector<ColumnMeta> columns;
  std::vector<Row> rows;

  // The index of a column by name; throws std::out_of_range when absent.
  size_t ColumnIndex(std::string_view name) const;
};

// A fully read result.
struct ResultSet : Chunk {
  int64_t affected = 0;  // rows changed by a DML statement

  // rows[row][ColumnIndex(column)]
  const Value& At(size_t row, std::string_view column) const;
  // The same, throwing std::runtime_error on NULL: for columns that cannot be NULL.
  const std::string& Text(size_t row, std::string_view column) const;
};

// A statement parameter. Binary parameters (raw bytes for a MySQL BLOB) are sent as such.
struct Param {
  Value value;
  bool binary = false;

  Param(std::nullopt_t) {}  // NOLINT: NULL
  Param(std::string v) : value(std::move(v)) {}  // NOLINT
  Param(const char* v) : value(std::string(v)) {}  // NOLINT
  Param(std::string_view v) : value(std::string(v)) {}  // NOLINT
  Param(int64_t v) : value(std::to_string(v)) {}  // NOLINT
  Param(int v) : value(std::to_string(v)) {}  // NOLINT
  Param(Value v, bool is_binary) : value(std::move(v)), binary(is_binary) {}

  static Param Binary(std::string bytes) { return Param(Value(std::move(bytes)), true); }
};
using Params = std::vector<Param>;

}  // namespace shardshift::db
