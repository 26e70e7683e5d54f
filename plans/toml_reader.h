// Typed, position-aware access to a parsed TOML table. Every failure throws InputError naming the
// file, line, column and dotted field path, so that a user can go straight to the mistake.
// Unknown keys are errors too (RejectUnknown): a typo must not be silently ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "plans/input_error.h"

namespace shardshift::plans {

// Parses TOML text; a syntax error becomes an InputError with the parser's position.
toml::table ParseToml(std::string_view text, const std::string& file);
// Every string under root whose key is in name_keys (a value, or the items of an array), at any
// depth: not empty, at most max_bytes, no control character. Names of tables, columns and
// databases, which end up as identifiers and in messages.
void CheckNames(const toml::table& root, const std::string& file, const std::vector<std::string_view>& name_keys,
                size_t max_bytes);
// Reads and parses a file; an unreadable file is an InputError naming it.
toml::table ParseTomlFile(const std::string& path);
// Reads a whole file into a string; InputError if it cannot be read.
std::string ReadFileText(const std::string& path);
// Writes text to path through path + ".tmp" and a rename: a reader sees the old file or the whole
// new one (the routing files a cutover publishes). what names the file in the error.
void WriteFileAtomically(const std::string& path, const std::string& text, const std::string& what);

// A view of one table. Does not own the table: the toml::table must outlive the reader.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string file, std::string path);

  std::string RequireString(std::string_view key) const;
  std::optional<std::string> OptString(std::string_view key) const;
  int64_t RequireInt(std::string_view key) const;
  std::optional<int64_t> OptInt(std::string_view key) const;
  // An integer from min to max (inclusive); anything else names the field and the range.
  std::optional<int64_t> OptIntIn(std::string_view key, int64_t min, int64_t max) const;
  std::optional<double> OptNumber(std::string_view key) const;
  std::optional<bool> OptBool(std::string_view key) const;
  // An array whose elements are all strings; missing gives nullopt.
  std::optional<std::vector<std::string>> OptStringArray(std::string_view key) const;
  std::vector<std::string> RequireStringArray(std::string_view key) const;
  TableReader RequireTable(std::string_view key) const;
  std::optional<TableReader> OptTable(std::string_view key) const;
  // [[key]] arrays of tables; missing gives an empty vector.
  std::vector<TableReader> TableArray(std::string_view key) const;
  // The raw node (for values whose type depends on context), or nullptr.
  const toml::node* Node(std::string_view key) const;

  void RejectUnknown(std::initializer_list<std::string_view> known) const;

  // Builds an error located at key (or at this table when the key is absent).
  InputError Error(std::string_view key, const std::string& message) const;
  InputError ErrorAt(const toml::node& node, std::string_view key, const std::string& message) const;

  std::string FieldPath(std::string_view key) const;
  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  const toml::table& table() const { return *table_; }
  SourcePos Pos() const;
  SourcePos PosOf(std::string_view key) const;

 private:
  const toml::node& Require(std::string_view key) const;

  const toml::table* table_;
  std::string file_;
  std::string path_;
};

// The TOML type name of a node, as a user would say it ("string", "integer", "table", ...).
std::string TomlTypeName(const toml::node& node);

}  // namespace shardshift::plans
