#include "plans/toml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace shardshift::plans {

namespace {
SourcePos ToPos(const std::string& file, const toml::source_region& region) {
  return SourcePos{file, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}
}  // namespace

void WriteFileAtomically(const std::string& path, const std::string& text, const std::string& what) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write the " + what + " " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

std::string ReadFileText(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(SourcePos{path}, "", "is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(SourcePos{path}, "", "cannot read file");
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw InputError(SourcePos{path}, "", "cannot read file");
  return out.str();
}

namespace {

// What a file shardshift reads may hold. The TOML parser recurses per dotted-key part and per level
// of nesting, so a key of 40,000 parts (an 80 KB file) overflowed its stack (SIGSEGV): these are
// checked by a scan of the text before it is parsed. No config, spec or plan comes near them.
constexpr size_t kMostFileBytes = 16 << 20;
constexpr int kMostKeyParts = 32;
constexpr size_t kMostNesting = 32;
constexpr size_t kMostKeyBytes = 1024;

// Scans TOML text outside its strings and comments: the parts of each key (bare or quoted, in
// `key = value`, `[header]` and inline tables) and the nesting of arrays and inline tables.
void CheckBounds(std::string_view text, const std::string& file) {
  if (text.size() > kMostFileBytes) {
    throw InputError(SourcePos{file}, "", fmt::format("the file is {} bytes; shardshift reads files of at most {} MiB",
                                                      text.size(), kMostFileBytes >> 20));
  }
  int line = 1;
  int column = 0;
  auto fail = [&](const std::string& message) { throw InputError(SourcePos{file, line, column}, "", message); };
  std::string stack;          // open '[' and '{' of values
  bool key = true;            // reading a key (line start, header, after '{' or ',' in an inline table)
  bool header = false;        // inside [header] or [[header]]
  bool line_start = true;     // nothing but blanks so far on this line
  int parts = 1;
  size_t key_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      line_start = true;
      header = false;
      if (stack.empty()) {
        key = true;
        parts = 1;
        key_start = i + 1;
      }
      continue;
    }
    if (c == '#') {  // a comment, to the end of the line
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      const bool triple = text.substr(i, 3) == std::string(3, c);
      const std::string_view end = triple ? std::string_view(text.substr(i, 3)) : std::string_view(text.substr(i, 1));
      i += end.size();
      while (i < text.size() && text.substr(i, end.size()) != end) {
        if (text[i] == '\n') {
          ++line;
          column = 0;
        }
        if (c == '"' && text[i] == '\\') ++i;  // an escape: the next character is not the end
        ++i;
      }
      i += end.size() - 1;
      line_start = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') continue;
    const bool first = line_start;
    line_start = false;
    if (key) {
      if (c == '.') {
        if (++parts > kMostKeyParts) fail(fmt::format("a key of more than {} dotted parts", kMostKeyParts));
      } else if (c == '[' && stack.empty() && (first || header)) {
        header = true;
      } else if (c == ']' && header) {
        key = false;
      } else if (c == '=') {
        key = false;
      }
      if (i - key_start > kMostKeyBytes) fail(fmt::format("a key longer than {} bytes", kMostKeyBytes));
      continue;
    }
    if (c == '[' || c == '{') {
      stack.push_back(c);
      if (stack.size() > kMostNesting) fail(fmt::format("values nested more than {} deep", kMostNesting));
      if (c == '{') {
        key = true;
        parts = 1;
        key_start = i + 1;
      }
    } else if ((c == ']' || c == '}') && !stack.empty()) {
      stack.pop_back();
    } else if (c == ',' && !stack.empty() && stack.back() == '{') {
      key = true;
      parts = 1;
      key_start = i + 1;
    }
  }
}

}  // namespace

namespace {

// Calls f(key path, string node) for every string under node.
template <typename F>
void EachString(const toml::node& node, const std::string& path, const std::string& key, F&& f) {
  if (const toml::table* t = node.as_table()) {
    for (const auto& [k, v] : *t) EachString(v, path.empty() ? std::string(k.str()) : path + "." + std::string(k.str()), std::string(k.str()), f);
  } else if (const toml::array* a = node.as_array()) {
    for (size_t i = 0; i < a->size(); ++i) EachString(*a->get(i), path + "[" + std::to_string(i) + "]", key, f);
  } else if (const toml::value<std::string>* s = node.as_string()) {
    f(path, key, *s);
  }
}

}  // namespace

toml::table ParseToml(std::string_view text, const std::string& file) {
  CheckBounds(text, file);
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    throw InputError(ToPos(file, e.source()), "",
                     "malformed TOML: " + std::string(e.description()));
  }
  // No engine stores a NUL byte in a name or a statement, and C strings end at one.
  EachString(root, "", "", [&](const std::string& path, const std::string&, const toml::value<std::string>& s) {
    if (s.get().find('\0') != std::string::npos) {
      throw InputError(ToPos(file, s.source()), path, "contains a NUL character (\\u0000)");
    }
  });
  return root;
}

void CheckNames(const toml::table& root, const std::string& file, const std::vector<std::string_view>& name_keys,
                size_t max_bytes) {
  EachString(root, "", "", [&](const std::string& path, const std::string& key, const toml::value<std::string>& s) {
    if (std::find(name_keys.begin(), name_keys.end(), key) == name_keys.end()) return;
    const std::string& v = s.get();
    auto fail = [&](const std::string& why) { throw InputError(ToPos(file, s.source()), path, why); };
    if (v.empty()) fail("a name must not be empty");
    if (v.size() > max_bytes) fail(fmt::format("a name of {} bytes; names have at most {}", v.size(), max_bytes));
    for (unsigned char c : v) {
      if (c < 0x20 || c == 0x7f) fail(fmt::format("a name must not contain control characters (found \\u{:04X})", c));
    }
  });
}

toml::table ParseTomlFile(const std::string& path) { return ParseToml(ReadFileText(path), path); }

std::string TomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

TableReader::TableReader(const toml::table& table, std::string file, std::string path)
    : table_(&table), file_(std::move(file)), path_(std::move(path)) {}

std::string TableReader::FieldPath(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  if (key.empty()) return path_;
  return path_ + "." + std::string(key);
}

SourcePos TableReader::Pos() const { return ToPos(file_, table_->source()); }

SourcePos TableReader::PosOf(std::string_view key) const {
  if (const toml::node* n = table_->get(key)) return ToPos(file_, n->source());
  return Pos();
}

InputError TableReader::Error(std::string_view key, const std::string& message) const {
  return InputError(PosOf(key), FieldPath(key), message);
}

InputError TableReader::ErrorAt(const toml::node& node, std::string_view key,
                                const std::string& message) const {
  return InputError(ToPos(file_, node.source()), FieldPath(key), message);
}

const toml::node* TableReader::Node(std::string_view key) const { return table_->get(key); }

const toml::node& TableReader::Require(std::string_view key) const {
  const toml::node* n = table_->get(key);
  if (!n) {
    std::string where = path_.empty() ? "at the top level" : "in [" + path_ + "]";
    throw InputError(Pos(), FieldPath(key), "missing required field " + where);
  }
  return *n;
}

std::string TableReader::RequireString(std::string_view key) const {
  const toml::node& n = Require(key);
  if (!n.is_string()) throw ErrorAt(n, key, "expected a string, got " + TomlTypeName(n));
  return n.as_string()->get();
}

std::optional<std::string> TableReader::OptString(std::string_view key) const {
  if (!table_->contains(key)) return std::nullopt;
  return RequireString(key);
}

int64_t TableReader::RequireInt(std::string_view key) const {
  const toml::node& n = Require(key);
  if (!n.is_integer()) throw ErrorAt(n, key, "expected an integer, got " + TomlTypeName(n));
  return n.as_integer()->get();
}

std::optional<int64_t> TableReader::OptInt(std::string_view key) const {
  if (!table_->contains(key)) return std::nullopt;
  return RequireInt(key);
}

std::optional<int64_t> TableReader::OptIntIn(std::string_view key, int64_t min, int64_t max) const {
  std::optional<int64_t> v = OptInt(key);
  if (v && (*v < min || *v > max)) throw Error(key, fmt::format("must be from {} to {}, not {}", min, max, *v));
  return v;
}

std::optional<double> TableReader::OptNumber(std::string_view key) const {
  const toml::node* n = table_->get(key);
  if (!n) return std::nullopt;
  if (n->is_integer()) return static_cast<double>(n->as_integer()->get());
  if (n->is_floating_point()) return n->as_floating_point()->get();
  throw ErrorAt(*n, key, "expected a number, got " + TomlTypeName(*n));
}

std::optional<bool> TableReader::OptBool(std::string_view key) const {
  const toml::node* n = table_->get(key);
  if (!n) return std::nullopt;
  if (!n->is_boolean()) throw ErrorAt(*n, key, "expected true or false, got " + TomlTypeName(*n));
  return n->as_boolean()->get();
}

std::optional<std::vector<std::string>> TableReader::OptStringArray(std::string_view key) const {
  const toml::node* n = table_->get(key);
  if (!n) return std::nullopt;
  if (!n->is_array()) throw ErrorAt(*n, key, "expected an array of strings, got " + TomlTypeName(*n));
  std::vector<std::string> out;
  for (const toml::node& item : *n->as_array()) {
    if (!item.is_string()) {
      throw ErrorAt(item, key, "expected an array of strings, found " + TomlTypeName(item));
    }
    out.push_back(item.as_string()->get());
  }
  return out;
}

std::vector<std::string> TableReader::RequireStringArray(std::string_view key) const {
  Require(key);
  return *OptStringArray(key);
}

TableReader TableReader::RequireTable(std::string_view key) const {
  const toml::node& n = Require(key);
  if (!n.is_table()) throw ErrorAt(n, key, "expected a table, got " + TomlTypeName(n));
  return TableReader(*n.as_table(), file_, FieldPath(key));
}

std::optional<TableReader> TableReader::OptTable(std::string_view key) const {
  if (!table_->contains(key)) return std::nullopt;
  return RequireTable(key);
}

std::vector<TableReader> TableReader::TableArray(std::string_view key) const {
  const toml::node* n = table_->get(key);
  std::vector<TableReader> out;
  if (!n) return out;
  if (!n->is_array_of_tables()) {
    throw ErrorAt(*n, key, "expected an array of tables ([[" + FieldPath(key) + "]]), got " +
                               TomlTypeName(*n));
  }
  int i = 0;
  for (const toml::node& item : *n->as_array()) {
    out.emplace_back(*item.as_table(), file_, FieldPath(key) + "[" + std::to_string(i++) + "]");
  }
  return out;
}

void TableReader::RejectUnknown(std::initializer_list<std::string_view> known) const {
  for (const auto& [k, v] : *table_) {
    bool ok = false;
    for (std::string_view name : known) ok = ok || k.str() == name;
    if (!ok) {
      std::string list;
      for (std::string_view name : known) list += (list.empty() ? "" : ", ") + std::string(name);
      throw ErrorAt(v, k.str(), "unknown field (expected one of: " + list + ")");
    }
  }
}

}  // namespace shardshift::plans
