#include "plans/spec.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <xxhash.h>

#include "plans/directory.h"
#include "plans/routing.h"
#include "plans/plan.h"
#include "plans/toml_reader.h"

namespace shardshift::plans {

std::string_view KindName(MigrationKind kind) {
  switch (kind) {
    case MigrationKind::kReshard: return "reshard";
    case MigrationKind::kVerticalSplit: return "vertical_split";
    case MigrationKind::kCreateIndex: return "create_index";
    case MigrationKind::kReplica: return "replica";
    case MigrationKind::kMoveTables: return "move_tables";
    case MigrationKind::kMoveKeys: return "move_keys";
  }
  return "?";
}

std::string_view LayoutName(SourceLayout layout) {
  switch (layout) {
    case SourceLayout::kSingle: return "single";
    case SourceLayout::kRange: return "range";
    case SourceLayout::kHash: return "hash";
  }
  return "?";
}

namespace {

// The kinds this version can plan. The others are named in DESIGN.md and arrive with their issues;
// a spec of such a kind is refused with a clear message rather than half-read.
constexpr MigrationKind kSupportedKinds[] = {MigrationKind::kReshard, MigrationKind::kVerticalSplit,
                                              MigrationKind::kCreateIndex, MigrationKind::kReplica,
                                              MigrationKind::kMoveTables, MigrationKind::kMoveKeys};

std::optional<int64_t> AsInt(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string KeyPartText(const TableReader& r, std::string_view key, const toml::node& n) {
  if (n.is_integer()) return std::to_string(n.as_integer()->get());
  if (n.is_string()) return n.as_string()->get();
  throw r.ErrorAt(n, key, "a key bound must be an integer or a string, got " + TomlTypeName(n));
}

std::optional<KeyValue> ReadBound(const TableReader& r, std::string_view key, size_t key_columns) {
  const toml::node* n = r.Node(key);
  if (!n) return std::nullopt;
  KeyValue out;
  if (n->is_array()) {
    for (const toml::node& part : *n->as_array()) out.push_back(KeyPartText(r, key, part));
  } else {
    out.push_back(KeyPartText(r, key, *n));
  }
  if (out.size() != key_columns) {
    throw r.ErrorAt(*n, key,
                    fmt::format("the key has {} column(s) but this bound has {} value(s)",
                                key_columns, out.size()));
  }
  return out;
}

// Compares two bounds when every part is an integer; nullopt when they cannot be compared here
// (string keys sort by the database's collation, which only the planner can ask).
std::optional<int> CompareBounds(const KeyValue& a, const KeyValue& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    auto x = AsInt(a[i]);
    auto y = AsInt(b[i]);
    if (!x || !y) return std::nullopt;
    if (*x != *y) return *x < *y ? -1 : 1;
  }
  return 0;
}

std::string BoundText(const KeyValue& v) {
  if (v.size() == 1) return v[0];
  return "(" + fmt::format("{}", fmt::join(v, ", ")) + ")";
}

DatabaseRef ReadDatabaseRef(const TableReader& r, std::string_view key) {
  std::string name = r.RequireString(key);
  if (name.empty()) throw r.Error(key, "must name a database from the config");
  return DatabaseRef{name, r.PosOf(key)};
}

ReshardSpec ReadReshard(const TableReader& r) {
  r.RejectUnknown({"table", "key", "shard_by", "source", "target", "target_table"});
  ReshardSpec spec;
  spec.table = r.RequireString("table");
  if (spec.table.empty()) throw r.Error("table", "must not be empty");
  spec.target_table = r.OptString("target_table").value_or(spec.table);
  spec.key = r.RequireStringArray("key");
  spec.key_pos = r.PosOf("key");
  if (spec.key.empty()) throw r.Error("key", "must name at least one column");
  std::set<std::string> seen;
  for (const std::string& col : spec.key) {
    if (col.empty()) throw r.Error("key", "a key column name is empty");
    if (!seen.insert(col).second) throw r.Error("key", "column '" + col + "' is named twice");
  }
  spec.shard_by = r.OptStringArray("shard_by").value_or(spec.key);
  if (spec.shard_by.empty() || spec.shard_by.size() > spec.key.size() ||
      !std::equal(spec.shard_by.begin(), spec.shard_by.end(), spec.key.begin())) {
    throw r.Error("shard_by", "must be the key's leading column(s), e.g. key = [\"customer_id\", \"id\"] with "
                              "shard_by = [\"customer_id\"]");
  }

  TableReader source = r.RequireTable("source");
  source.RejectUnknown({"layout", "database", "shards", "databases"});
  std::string layout = source.RequireString("layout");
  if (layout == "single") {
    spec.source_layout = SourceLayout::kSingle;
    spec.sources.push_back(SourceShard{ReadDatabaseRef(source, "database"), {}, {}});
    if (source.Node("shards") || source.Node("databases")) {
      throw source.Error(source.Node("shards") ? "shards" : "databases",
                         "a single source names one 'database', not shards");
    }
  } else if (layout == "range") {
    spec.source_layout = SourceLayout::kRange;
    if (source.Node("database") || source.Node("databases")) {
      throw source.Error(source.Node("database") ? "database" : "databases",
                         "a range source lists [[" + source.FieldPath("shards") + "]] instead");
    }
    for (const TableReader& shard : source.TableArray("shards")) {
      shard.RejectUnknown({"database", "from", "to"});
      SourceShard s{ReadDatabaseRef(shard, "database"), ReadBound(shard, "from", spec.key.size()),
                    ReadBound(shard, "to", spec.key.size())};
      if (s.from && s.to) {
        auto cmp = CompareBounds(*s.from, *s.to);
        if (cmp && *cmp >= 0) {
          throw shard.Error("to", "must be greater than from (" + BoundText(*s.from) + "); ranges "
                                  "include 'from' and exclude 'to'");
        }
      }
      spec.sources.push_back(std::move(s));
    }
    if (spec.sources.empty()) {
      throw source.Error("shards", "a range source needs at least one [[" +
                                       source.FieldPath("shards") + "]]");
    }
    auto shards = source.TableArray("shards");
    for (size_t i = 0; i < spec.sources.size(); ++i) {
      const SourceShard& s = spec.sources[i];
      if (i > 0 && !s.from) throw shards[i].Error("from", "only the first range may be open below");
      if (i + 1 < spec.sources.size() && !s.to) {
        throw shards[i].Error("to", "only the last range may be open above");
      }
      if (i > 0 && spec.sources[i - 1].to && s.from) {
        auto cmp = CompareBounds(*spec.sources[i - 1].to, *s.from);
        if (cmp && *cmp > 0) {
          throw shards[i].Error("from", "overlaps the previous range, which ends before " +
                                            BoundText(*spec.sources[i - 1].to) +
                                            "; list ranges in key order without overlap");
        }
      }
    }
  } else if (layout == "hash") {
    spec.source_layout = SourceLayout::kHash;
    if (!source.Node("databases")) {
      throw source.Error("databases", "a hash source lists its shards in 'databases', in order");
    }
    auto names = source.RequireStringArray("databases");
    for (const std::string& n : names) {
      spec.sources.push_back(SourceShard{DatabaseRef{n, source.PosOf("databases")}, {}, {}});
    }
    if (spec.sources.empty()) throw source.Error("databases", "must name at least one database");
  } else {
    throw source.Error("layout", "unknown layout '" + layout + "' (expected single, range or hash)");
  }

  TableReader target = r.RequireTable("target");
  target.RejectUnknown({"databases", "layout", "directory"});
  spec.target_pos = target.Pos();
  const std::string target_layout = target.OptString("layout").value_or("hash");
  if (target_layout == "directory") {
    spec.target_layout = TargetLayout::kDirectory;
    TableReader d = target.RequireTable("directory");
    d.RejectUnknown({"database", "table"});
    spec.directory = DirectoryRef{ReadDatabaseRef(d, "database"), d.OptString("table").value_or(kDefaultDirectoryTable),
                                  d.Pos()};
    if (spec.shard_by.size() != 1) {
      throw r.Error("shard_by", "a directory routes by one column: set shard_by to the key's leading column");
    }
    // Created over the shards the table is on: the targets are the sources.
    std::vector<std::string> want;
    for (const SourceShard& s : spec.sources) want.push_back(s.database.name);
    if (target.Node("databases") && target.RequireStringArray("databases") != want) {
      throw target.Error("databases", "a directory is created over the shards the table is on, so the targets are "
                                      "the source databases in order (omit `databases`); to move rows, reshard onto "
                                      "hash shards first, or move keys later with a move_keys spec");
    }
    for (const SourceShard& s : spec.sources) spec.targets.push_back(s.database);
  } else if (target_layout != "hash") {
    throw target.Error("layout", "unknown layout '" + target_layout + "' (expected hash or directory)");
  } else {
    if (target.Node("directory")) throw target.Error("directory", "goes with layout = \"directory\"");
    for (const std::string& n : target.RequireStringArray("databases")) {
      spec.targets.push_back(DatabaseRef{n, target.PosOf("databases")});
    }
  }
  if (spec.targets.empty()) throw target.Error("databases", "must name at least one database");
  std::set<std::string> target_names;
  for (const DatabaseRef& t : spec.targets) {
    if (t.name.empty()) throw target.Error("databases", "a database name is empty");
    if (!target_names.insert(t.name).second) {
      throw target.Error("databases", "database '" + t.name + "' is named twice");
    }
  }
  std::set<std::string> source_names;
  for (const SourceShard& s : spec.sources) {
    if (!source_names.insert(s.database.name).second) {
      throw InputError(s.database.pos, source.FieldPath(""), "database '" + s.database.name +
                                                                 "' holds two source shards");
    }
  }
  // Sources and targets may share a database only when the table gets another name there: the
  // copy must never write into the table it reads.
  for (const DatabaseRef& t : spec.targets) {
    if (spec.target_layout == TargetLayout::kDirectory) break;  // no copy: the rows stay where they are
    if (source_names.count(t.name) && spec.target_table == spec.table) {
      throw target.Error("databases", "database '" + t.name + "' is both a source and a target of table '" +
                                          spec.table + "': set reshard.target_table to a new name");
    }
  }
  return spec;
}

Options ReadOptions(const TableReader& r) {
  r.RejectUnknown({"chunk_rows", "target_chunk_ms", "max_rows_per_second", "lock_timeout_ms",
                   "retries", "parallel_sources", "skew_warning", "check_command", "fence", "capture"});
  Options o;
  auto bounded = [&](const char* key, int64_t& field) {
    const Bounds b = *SettingBounds(key);
    if (auto v = r.OptIntIn(key, b.min, b.max)) field = *v;
  };
  bounded("chunk_rows", o.chunk_rows);
  bounded("target_chunk_ms", o.target_chunk_ms);
  bounded("max_rows_per_second", o.max_rows_per_second);
  bounded("lock_timeout_ms", o.lock_timeout_ms);
  bounded("retries", o.retries);
  bounded("parallel_sources", o.parallel_sources);
  if (auto v = r.OptNumber("skew_warning")) {
    if (!(*v >= 1.0 && *v <= 1000.0)) {  // also refuses nan
      throw r.Error("skew_warning", "must be from 1.0 to 1000.0 (max/mean rows per shard)");
    }
    o.skew_warning = *v;
  }
  o.check_command = r.OptString("check_command").value_or("");
  if (auto v = r.OptBool("fence")) {
    o.fence = *v;
    o.fence_pos = r.PosOf("fence");
  }
  if (auto v = r.OptString("capture")) {
    if (*v != "auto" && *v != "log" && *v != "trigger") {
      throw r.Error("capture", "must be \"auto\", \"log\" or \"trigger\" (got \"" + *v + "\")");
    }
    o.capture = *v;
    o.capture_pos = r.PosOf("capture");
  }
  return o;
}

VerticalSplitSpec ReadVerticalSplit(const TableReader& r) {
  r.RejectUnknown({"database", "table", "key", "keep", "tables", "contract", "compat_view", "foreign_keys"});
  VerticalSplitSpec spec;
  spec.database = ReadDatabaseRef(r, "database");
  spec.table = r.RequireString("table");
  if (spec.table.empty()) throw r.Error("table", "must not be empty");
  spec.key = r.RequireStringArray("key");
  spec.key_pos = r.PosOf("key");
  if (spec.key.empty()) throw r.Error("key", "must name at least one column");
  // Every source column may be named once: in the key, among the kept, or moved to one table.
  std::map<std::string, std::string> named;  // column -> where
  auto name_once = [&](const TableReader& at, std::string_view field, const std::string& col, const std::string& where) {
    if (col.empty()) throw at.Error(field, "a column name is empty");
    auto [it, fresh] = named.emplace(col, where);
    if (!fresh) throw at.Error(field, "column '" + col + "' is named twice (" + it->second + " and " + where + ")");
  };
  for (const std::string& col : spec.key) name_once(r, "key", col, "in the key");
  if (auto keep = r.OptStringArray("keep")) {
    spec.keep = *keep;
    spec.keep_pos = r.PosOf("keep");
    for (const std::string& col : *keep) name_once(r, "keep", col, "kept");
  }
  spec.contract = r.OptBool("contract").value_or(false);
  spec.compat_view = r.OptString("compat_view").value_or("");
  spec.compat_view_pos = r.PosOf("compat_view");
  const std::string fks = r.OptString("foreign_keys").value_or("refuse");
  if (fks == "refuse") {
    spec.foreign_keys = SplitForeignKeys::kRefuse;
  } else if (fks == "drop_at_contract") {
    spec.foreign_keys = SplitForeignKeys::kDropAtContract;
  } else {
    throw r.Error("foreign_keys", "unknown value '" + fks + "' (expected refuse or drop_at_contract)");
  }
  std::set<std::pair<std::string, std::string>> table_names;
  for (const TableReader& t : r.TableArray("tables")) {
    t.RejectUnknown({"name", "database", "columns", "rename", "indexes"});
    SplitTable table;
    table.pos = t.Pos();
    table.name = t.RequireString("name");
    if (table.name.empty()) throw t.Error("name", "must not be empty");
    table.database = t.Node("database") ? ReadDatabaseRef(t, "database") : spec.database;
    if (table.database.name == spec.database.name && table.name == spec.table) {
      throw t.Error("name", "a new table cannot be the source table itself");
    }
    if (!table_names.insert({table.database.name, table.name}).second) {
      throw t.Error("name", "table '" + table.name + "' on '" + table.database.name + "' is named twice");
    }
    table.columns = t.RequireStringArray("columns");
    table.columns_pos = t.PosOf("columns");
    if (table.columns.empty()) throw t.Error("columns", "must name at least one column to move");
    for (const std::string& col : table.columns) name_once(t, "columns", col, "moved to " + table.name);
    if (auto rename = t.OptTable("rename")) {
      std::set<std::string> new_names(spec.key.begin(), spec.key.end());
      for (const auto& [k, v] : rename->table()) {
        const std::string from(k.str());
        auto to = rename->OptString(from);
        if (std::find(table.columns.begin(), table.columns.end(), from) == table.columns.end()) {
          throw rename->Error(from, "'" + from + "' is not among this table's columns");
        }
        if (!to || to->empty()) throw rename->Error(from, "must be a new column name");
        table.rename[from] = *to;
      }
      for (const std::string& col : table.columns) {
        if (!new_names.insert(table.NewName(col)).second) {
          throw rename->Error("", "two columns of " + table.name + " would be named '" + table.NewName(col) + "'");
        }
      }
    }
    if (const toml::node* idx = t.Node("indexes")) {
      const toml::array* list = idx->as_array();
      if (!list) throw t.Error("indexes", "expected an array of arrays of column names");
      for (const toml::node& one : *list) {
        const toml::array* cols = one.as_array();
        if (!cols || cols->empty()) throw t.ErrorAt(one, "indexes", "each index is a non-empty array of column names");
        std::vector<std::string> names;
        for (const toml::node& c : *cols) {
          if (!c.is_string()) throw t.ErrorAt(c, "indexes", "a column name must be a string");
          const std::string n = c.as_string()->get();
          bool known = std::find(spec.key.begin(), spec.key.end(), n) != spec.key.end();
          for (const std::string& col : table.columns) known = known || table.NewName(col) == n;
          if (!known) throw t.ErrorAt(c, "indexes", "'" + n + "' is not a column of " + table.name);
          names.push_back(n);
        }
        table.indexes.push_back(names);
      }
    }
    spec.tables.push_back(std::move(table));
  }
  if (spec.tables.empty()) throw r.Error("tables", "name at least one new table ([[vertical_split.tables]])");
  if (!spec.compat_view.empty()) {
    for (const SplitTable& t : spec.tables) {
      if (t.database.name != spec.database.name) {
        throw r.Error("compat_view", "a compatibility view needs every new table in the source's database; " +
                                         t.name + " is on '" + t.database.name + "'");
      }
    }
  }
  return spec;
}

// "created_at", "created_at DESC", "email text_pattern_ops", "(lower(email))": a column or a
// parenthesized expression, then an operator class and/or ASC/DESC.
IndexColumnSpec ReadIndexColumn(const TableReader& r, const toml::node& n) {
  if (!n.is_string()) throw r.ErrorAt(n, "columns", "a column must be a string such as \"created_at DESC\"");
  std::vector<std::string> words;
  std::string text = n.as_string()->get();
  std::string expression;
  size_t start = 0;
  while (start < text.size() && text[start] == ' ') ++start;
  if (start < text.size() && text[start] == '(') {
    // The expression runs to its matching parenthesis (quotes and strings may hold parentheses).
    int depth = 0;
    char quote = 0;
    size_t end = start;
    for (; end < text.size(); ++end) {
      const char ch = text[end];
      if (quote) {
        if (ch == quote) quote = 0;
      } else if (ch == '\'' || ch == '"') {
        quote = ch;
      } else if (ch == '(') {
        ++depth;
      } else if (ch == ')' && --depth == 0) {
        break;
      }
    }
    if (end >= text.size()) throw r.ErrorAt(n, "columns", "unbalanced parentheses in \"" + text + "\"");
    expression = text.substr(start + 1, end - start - 1);
    while (!expression.empty() && expression.front() == ' ') expression.erase(0, 1);
    while (!expression.empty() && expression.back() == ' ') expression.pop_back();
    if (expression.empty()) throw r.ErrorAt(n, "columns", "an empty expression in \"" + text + "\"");
    words.push_back(expression);
    text = text.substr(end + 1);
  }
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    if (j > i) words.push_back(text.substr(i, j - i));
    i = j;
  }
  if (words.empty() || words.size() > 3) {
    throw r.ErrorAt(n, "columns", "expected \"column [opclass] [ASC|DESC]\", got \"" + n.as_string()->get() + "\"");
  }
  IndexColumnSpec c;
  c.name = words[0];
  c.expression = !expression.empty();
  for (size_t i = 1; i < words.size(); ++i) {
    std::string upper = words[i];
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) { return std::toupper(ch); });
    if (upper == "DESC" || upper == "ASC") {
      if (i + 1 != words.size()) throw r.ErrorAt(n, "columns", "ASC or DESC comes last in \"" + text + "\"");
      c.descending = upper == "DESC";
    } else if (i == 1) {
      c.opclass = words[i];
    } else {
      throw r.ErrorAt(n, "columns", "expected \"column [opclass] [ASC|DESC]\", got \"" + n.as_string()->get() + "\"");
    }
  }
  return c;
}

CreateIndexSpec ReadCreateIndex(const TableReader& r, const std::string& spec_file) {
  r.RejectUnknown({"databases", "routing_map", "indexes", "drops", "parallel"});
  CreateIndexSpec spec;
  std::set<std::string> dbs;
  std::vector<std::string> shards;
  if (auto map = r.OptString("routing_map")) {
    if (r.Node("databases")) throw r.Error("databases", "name the shards either here or by routing_map, not both");
    // Relative to the spec's own folder, so that a spec and the map it names travel together.
    std::filesystem::path path = *map;
    if (path.is_relative()) path = std::filesystem::path(spec_file).parent_path() / path;
    spec.routing_map = path.string();
    try {
      shards = ParseRouting(ReadFileText(spec.routing_map), spec.routing_map).shards;
    } catch (const InputError& e) {
      throw r.Error("routing_map", std::string("cannot use the routing map: ") + e.what());
    }
  } else {
    shards = r.RequireStringArray("databases");
  }
  for (const std::string& n : shards) {
    if (n.empty()) throw r.Error("databases", "a database name is empty");
    if (!dbs.insert(n).second) throw r.Error("databases", "database '" + n + "' is named twice");
    spec.databases.push_back(DatabaseRef{n, r.PosOf(spec.routing_map.empty() ? "databases" : "routing_map")});
  }
  if (spec.databases.empty()) throw r.Error("databases", "must name at least one database");
  if (auto p = r.OptIntIn("parallel", 1, 256)) spec.parallel = *p;
  std::set<std::pair<std::string, std::string>> names;
  for (const TableReader& t : r.TableArray("indexes")) {
    t.RejectUnknown({"table", "name", "columns", "include", "where", "unique", "method", "build"});
    IndexSpec idx;
    idx.pos = t.Pos();
    idx.table = t.RequireString("table");
    if (idx.table.empty()) throw t.Error("table", "must not be empty");
    const toml::node* cols = t.Node("columns");
    if (!cols) throw t.Error("columns", "missing required field");
    if (!cols->is_array() || cols->as_array()->empty()) throw t.Error("columns", "expected a non-empty array of columns");
    std::set<std::string> seen;
    for (const toml::node& c : *cols->as_array()) {
      idx.columns.push_back(ReadIndexColumn(t, c));
      if (!seen.insert(idx.columns.back().name).second) {
        throw t.ErrorAt(c, "columns", "column '" + idx.columns.back().name + "' is named twice");
      }
    }
    idx.include = t.OptStringArray("include").value_or(std::vector<std::string>{});
    for (const std::string& c : idx.include) {
      if (seen.count(c)) throw t.Error("include", "column '" + c + "' is already a key column of the index");
    }
    idx.where = t.OptString("where").value_or("");
    idx.unique = t.OptBool("unique").value_or(false);
    idx.method = t.OptString("method").value_or("btree");
    idx.build = t.OptString("build").value_or("auto");
    if (idx.build != "auto" && idx.build != "online" && idx.build != "shadow") {
      throw t.Error("build", "expected \"auto\", \"online\" or \"shadow\", got \"" + idx.build + "\"");
    }
    std::string derived = idx.table.substr(idx.table.find('.') == std::string::npos ? 0 : idx.table.find('.') + 1);
    for (const IndexColumnSpec& c : idx.columns) derived += "_" + IndexNamePart(c.name);
    derived += idx.unique ? "_key" : "_idx";
    idx.name = t.OptString("name").value_or(derived.substr(0, 63));
    if (idx.name.empty()) throw t.Error("name", "must not be empty");
    if (!names.insert({idx.table, idx.name}).second) {
      throw t.Error("name", "index '" + idx.name + "' on " + idx.table + " is named twice");
    }
    spec.indexes.push_back(std::move(idx));
  }
  for (const TableReader& d : r.TableArray("drops")) {
    d.RejectUnknown({"table", "name"});
    DropIndexSpec drop{d.RequireString("table"), d.RequireString("name"), d.Pos()};
    if (drop.table.empty()) throw d.Error("table", "must not be empty");
    if (drop.name.empty()) throw d.Error("name", "must not be empty");
    if (!names.insert({drop.table, drop.name}).second) {
      throw d.Error("name", "index '" + drop.name + "' on " + drop.table + " is named twice");
    }
    spec.drops.push_back(std::move(drop));
  }
  if (spec.indexes.empty() && spec.drops.empty()) {
    throw r.Error("indexes", "name at least one index to build ([[create_index.indexes]]) or drop ([[create_index.drops]])");
  }
  return spec;
}

Hooks ReadHooks(const TableReader& r) {
  r.RejectUnknown({"before_cutover", "during_cutover", "after_cutover", "timeout_ms"});
  Hooks h;
  h.before_cutover = r.OptString("before_cutover").value_or("");
  h.during_cutover = r.OptString("during_cutover").value_or("");
  h.after_cutover = r.OptString("after_cutover").value_or("");
  const Bounds b = *SettingBounds("hook_timeout_ms");
  if (auto v = r.OptIntIn("timeout_ms", b.min, b.max)) h.timeout_ms = *v;
  return h;
}

ReplicaSpec ReadReplica(const TableReader& r) {
  r.RejectUnknown({"primary", "replicas", "ready_timeout_seconds"});
  ReplicaSpec spec;
  spec.primary = {r.RequireString("primary"), r.PosOf("primary")};
  if (spec.primary.name.empty()) throw r.Error("primary", "must not be empty");
  if (auto t = r.OptIntIn("ready_timeout_seconds", 1, 7 * 86'400)) spec.ready_timeout_seconds = *t;
  std::set<std::string> names = {spec.primary.name};
  for (const TableReader& t : r.TableArray("replicas")) {
    t.RejectUnknown({"database", "method", "mode", "tables", "data_dir", "max_lag_bytes", "max_lag_seconds"});
    ReplicaTarget target;
    target.pos = t.Pos();
    target.database = {t.RequireString("database"), t.PosOf("database")};
    if (!names.insert(target.database.name).second) {
      throw t.Error("database", "database '" + target.database.name + "' is named twice (or is the primary)");
    }
    target.method = t.RequireString("method");
    if (target.method != "logical" && target.method != "physical" && target.method != "gtid") {
      throw t.Error("method", "expected \"logical\" or \"physical\" (PostgreSQL) or \"gtid\" (MariaDB), got \"" +
                                  target.method + "\"");
    }
    target.mode = t.OptString("mode").value_or("async");
    if (target.mode != "async" && target.mode != "sync" && target.mode != "semi-sync") {
      throw t.Error("mode", "expected \"async\", \"sync\" or \"semi-sync\", got \"" + target.mode + "\"");
    }
    if (target.mode == "semi-sync" && target.method != "gtid") {
      throw t.Error("mode", "semi-sync is MariaDB's (method = \"gtid\"); PostgreSQL replicas are \"sync\" or \"async\"");
    }
    if (target.mode == "sync" && target.method == "gtid") {
      throw t.Error("mode", "MariaDB has no synchronous replication: \"semi-sync\" makes a commit wait until a replica "
                            "has received it");
    }
    target.tables = t.OptStringArray("tables").value_or(std::vector<std::string>{});
    if (!target.tables.empty() && target.method != "logical") {
      throw t.Error("tables", "only a logical replica takes some tables; a " + target.method + " replica copies the "
                              "whole database");
    }
    target.data_dir = t.OptString("data_dir").value_or("");
    if (!target.data_dir.empty() && target.method != "physical") {
      throw t.Error("data_dir", "only a physical replica has a data folder of its own to create");
    }
    if (!target.data_dir.empty() && !std::filesystem::path(target.data_dir).is_absolute()) {
      throw t.Error("data_dir", "must be an absolute path");
    }
    if (auto b = t.OptIntIn("max_lag_bytes", 0, int64_t{1} << 50)) target.max_lag_bytes = *b;
    if (auto sec = t.OptIntIn("max_lag_seconds", 0, 30 * 86'400)) target.max_lag_seconds = static_cast<double>(*sec);
    spec.replicas.push_back(std::move(target));
  }
  if (spec.replicas.empty()) throw r.Error("replicas", "name at least one replica ([[replica.replicas]])");
  return spec;
}

MoveTablesSpec ReadMoveTables(const TableReader& r) {
  r.RejectUnknown({"source", "target", "tables", "foreign_keys"});
  MoveTablesSpec spec;
  spec.source = ReadDatabaseRef(r, "source");
  spec.target = ReadDatabaseRef(r, "target");
  if (spec.source.name == spec.target.name) throw r.Error("target", "must be another database than the source");
  spec.tables = r.RequireStringArray("tables");
  spec.tables_pos = r.PosOf("tables");
  if (spec.tables.empty()) throw r.Error("tables", "name at least one table (\"name\", \"schema.name\" or \"schema.*\")");
  std::set<std::string> seen;
  for (const std::string& t : spec.tables) {
    if (t.empty() || t == "*" || t.front() == '.' || t.back() == '.') {
      throw r.Error("tables", "'" + t + "' is not a table name (\"name\", \"schema.name\" or \"schema.*\")");
    }
    if (!seen.insert(t).second) throw r.Error("tables", "'" + t + "' is named twice");
  }
  const std::string fks = r.OptString("foreign_keys").value_or("refuse");
  spec.foreign_keys_pos = r.PosOf("foreign_keys");
  if (fks == "refuse") {
    spec.foreign_keys = MoveForeignKeys::kRefuse;
  } else if (fks == "drop_at_cutover") {
    spec.foreign_keys = MoveForeignKeys::kDropAtCutover;
  } else {
    throw r.Error("foreign_keys", "expected \"refuse\" or \"drop_at_cutover\", got '" + fks + "'");
  }
  return spec;
}

MoveKeysSpec ReadMoveKeys(const TableReader& r) {
  r.RejectUnknown({"directory", "keys", "to", "tables"});
  MoveKeysSpec spec;
  TableReader d = r.RequireTable("directory");
  d.RejectUnknown({"database", "table"});
  spec.directory = DirectoryRef{ReadDatabaseRef(d, "database"), d.OptString("table").value_or(kDefaultDirectoryTable),
                                d.Pos()};
  const toml::node* keys = r.Node("keys");
  if (keys == nullptr) throw r.Error("keys", "missing required field");
  if (!keys->is_array()) throw r.ErrorAt(*keys, "keys", "expected an array of integers or strings, got " + TomlTypeName(*keys));
  std::set<std::string> seen;
  for (const toml::node& k : *keys->as_array()) {
    const std::string text = KeyPartText(r, "keys", k);
    if (!seen.insert(text).second) throw r.ErrorAt(k, "keys", "key " + text + " is named twice");
    spec.keys.push_back(text);
  }
  spec.keys_pos = r.PosOf("keys");
  if (spec.keys.empty()) throw r.Error("keys", "name at least one key (a shard_by value) to move");
  spec.to = ReadDatabaseRef(r, "to");
  spec.tables = r.OptStringArray("tables").value_or(std::vector<std::string>{});
  spec.tables_pos = r.PosOf("tables");
  std::set<std::string> tables;
  for (const std::string& t : spec.tables) {
    if (!tables.insert(t).second) throw r.Error("tables", "'" + t + "' is named twice");
  }
  return spec;
}

}  // namespace

Spec ParseSpec(std::string_view text, const std::string& file) {
  toml::table root = ParseToml(text, file);
  // Names of migrations, databases, tables, columns and indexes: identifiers are at most 64
  // characters on either engine, and "schema.table" twice that.
  CheckNames(root, file, {"name", "table", "target_table", "key", "shard_by", "keep", "columns", "include", "tables",
                          "database", "databases", "primary"},
             128);
  TableReader top(root, file, "");
  top.RejectUnknown({"migration", "options", "hooks", "reshard", "vertical_split", "create_index", "replica",
                     "move_tables", "move_keys"});
  TableReader mig = top.RequireTable("migration");
  mig.RejectUnknown({"name", "kind", "description", "format_version"});
  Spec spec;
  spec.file = file;
  if (auto v = mig.OptInt("format_version")) {
    if (*v != kSpecFormatVersion) {
      throw mig.Error("format_version", fmt::format("this shardshift reads spec format version {}, "
                                                    "the file says {}", kSpecFormatVersion, *v));
    }
  }
  spec.name = mig.RequireString("name");
  if (spec.name.empty()) throw mig.Error("name", "must not be empty");
  spec.description = mig.OptString("description").value_or("");
  std::string kind = mig.RequireString("kind");
  std::optional<MigrationKind> parsed;
  for (MigrationKind k : {MigrationKind::kReshard, MigrationKind::kVerticalSplit, MigrationKind::kCreateIndex,
                          MigrationKind::kReplica, MigrationKind::kMoveTables, MigrationKind::kMoveKeys}) {
    if (KindName(k) == kind) parsed = k;
  }
  if (!parsed) {
    throw mig.Error("kind", "unknown kind '" + kind +
                                "' (expected reshard, vertical_split, create_index, replica, move_tables or move_keys)");
  }
  bool supported = false;
  for (MigrationKind k : kSupportedKinds) supported = supported || k == *parsed;
  if (!supported) {
    throw mig.Error("kind", "kind '" + kind + "' is not supported by shardshift " +
                                SHARDSHIFT_VERSION + " (supported: reshard, vertical_split, create_index, replica, move_tables, move_keys)");
  }
  spec.kind = *parsed;
  for (std::string_view section : {"reshard", "vertical_split", "create_index", "replica", "move_tables", "move_keys"}) {
    if (section != KindName(spec.kind) && top.Node(section)) {
      throw top.Error(section, "this spec's kind is '" + kind + "'; remove the [" +
                                   std::string(section) + "] section");
    }
  }
  if (auto opts = top.OptTable("options")) spec.options = ReadOptions(*opts);
  if (auto hooks = top.OptTable("hooks")) spec.hooks = ReadHooks(*hooks);
  if (spec.kind == MigrationKind::kReshard) spec.reshard = ReadReshard(top.RequireTable("reshard"));
  if (spec.kind == MigrationKind::kVerticalSplit) {
    spec.vertical_split = ReadVerticalSplit(top.RequireTable("vertical_split"));
  }
  if (spec.kind == MigrationKind::kCreateIndex) spec.create_index = ReadCreateIndex(top.RequireTable("create_index"), file);
  if (spec.kind == MigrationKind::kReplica) spec.replica = ReadReplica(top.RequireTable("replica"));
  if (spec.kind == MigrationKind::kMoveTables) spec.move_tables = ReadMoveTables(top.RequireTable("move_tables"));
  if (spec.kind == MigrationKind::kMoveKeys) spec.move_keys = ReadMoveKeys(top.RequireTable("move_keys"));
  return spec;
}

Spec LoadSpec(const std::string& path) { return ParseSpec(ReadFileText(path), path); }

std::string CanonicalSpec(const Spec& spec) {
  // One line per fact, in a fixed order; source positions are deliberately left out.
  std::string out;
  auto line = [&](std::string_view k, const std::string& v) {
    out += std::string(k) + "=" + std::to_string(v.size()) + ":" + v + "\n";
  };
  line("format_version", std::to_string(spec.format_version));
  line("name", spec.name);
  line("kind", std::string(KindName(spec.kind)));
  line("description", spec.description);
  const Options& o = spec.options;
  line("options", fmt::format("{},{},{},{},{},{},{:.6f}", o.chunk_rows, o.target_chunk_ms,
                              o.max_rows_per_second, o.lock_timeout_ms, o.retries,
                              o.parallel_sources, o.skew_warning));
  line("check_command", o.check_command);
  if (!o.fence) line("fence", "false");
  if (o.capture != "auto") line("capture", o.capture);
  const Hooks& h = spec.hooks;
  if (!h.before_cutover.empty() || !h.during_cutover.empty() || !h.after_cutover.empty()) {
    line("hook.before_cutover", h.before_cutover);
    line("hook.during_cutover", h.during_cutover);
    line("hook.after_cutover", h.after_cutover);
    line("hook.timeout_ms", std::to_string(h.timeout_ms));
  }
  if (spec.reshard) {
    const ReshardSpec& r = *spec.reshard;
    line("table", r.table);
    line("target_table", r.target_table);
    for (const auto& k : r.key) line("key", k);
    if (r.shard_by != r.key) line("shard_by", fmt::format("{}", fmt::join(r.shard_by, "\x1f")));
    line("layout", std::string(LayoutName(r.source_layout)));
    for (const SourceShard& s : r.sources) {
      line("source", s.database.name);
      line("from", s.from ? BoundText(*s.from) : "-");
      line("to", s.to ? BoundText(*s.to) : "-");
    }
    for (const DatabaseRef& t : r.targets) line("target", t.name);
    if (r.directory) line("directory", r.directory->database.name + "\x1f" + r.directory->table);
  }
  if (spec.create_index) {
    const CreateIndexSpec& c = *spec.create_index;
    for (const DatabaseRef& d : c.databases) line("database", d.name);
    line("parallel", std::to_string(c.parallel));
    for (const IndexSpec& i : c.indexes) {
      line("index", i.table + "\x1f" + i.name + "\x1f" + (i.unique ? "unique" : "") + "\x1f" + i.method + "\x1f" + i.where);
      for (const IndexColumnSpec& col : i.columns) {
        line("column", col.name + "\x1f" + col.opclass + "\x1f" + (col.descending ? "desc" : "asc") +
                           (col.expression ? "\x1f" "expression" : ""));
      }
      for (const std::string& inc : i.include) line("include", inc);
      if (i.build != "auto") line("build", i.build);
    }
    for (const DropIndexSpec& d : c.drops) line("drop", d.table + "\x1f" + d.name);
  }
  if (spec.replica) {
    const ReplicaSpec& r = *spec.replica;
    line("primary", r.primary.name);
    line("ready_timeout_seconds", std::to_string(r.ready_timeout_seconds));
    for (const ReplicaTarget& t : r.replicas) {
      line("replica", t.database.name + "\x1f" + t.method + "\x1f" + t.mode + "\x1f" + t.data_dir + "\x1f" +
                          std::to_string(t.max_lag_bytes) + "\x1f" + fmt::format("{}", t.max_lag_seconds));
      for (const std::string& table : t.tables) line("table", table);
    }
  }
  if (spec.move_tables) {
    const MoveTablesSpec& m = *spec.move_tables;
    line("source", m.source.name);
    line("target", m.target.name);
    for (const std::string& t : m.tables) line("table", t);
    line("foreign_keys", m.foreign_keys == MoveForeignKeys::kRefuse ? "refuse" : "drop_at_cutover");
  }
  if (spec.move_keys) {
    const MoveKeysSpec& m = *spec.move_keys;
    line("directory", m.directory.database.name + "\x1f" + m.directory.table);
    for (const std::string& k : m.keys) line("key", k);
    line("to", m.to.name);
    for (const std::string& t : m.tables) line("table", t);
  }
  if (spec.vertical_split) {
    const VerticalSplitSpec& v = *spec.vertical_split;
    line("database", v.database.name);
    line("table", v.table);
    for (const auto& k : v.key) line("key", k);
    line("keep", v.keep ? fmt::format("{}", fmt::join(*v.keep, "\x1f")) : "-");
    line("contract", v.contract ? "1" : "0");
    line("compat_view", v.compat_view);
    line("foreign_keys", v.foreign_keys == SplitForeignKeys::kRefuse ? "refuse" : "drop_at_contract");
    for (const SplitTable& t : v.tables) {
      line("new_table", t.name);
      line("new_database", t.database.name);
      for (const std::string& c : t.columns) line("column", c + "\x1f" + t.NewName(c));
      for (const auto& idx : t.indexes) line("index", fmt::format("{}", fmt::join(idx, "\x1f")));
    }
  }
  return out;
}

std::string SpecHash(const Spec& spec) {
  std::string canon = CanonicalSpec(spec);
  return fmt::format("xxh64:{:016x}", XXH64(canon.data(), canon.size(), 0));
}

std::string IndexNamePart(const std::string& column) {
  std::string part;
  for (char ch : column) {
    if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') {
      part += ch;
    } else if (!part.empty() && part.back() != '_') {
      part += '_';
    }
  }
  while (!part.empty() && part.back() == '_') part.pop_back();
  return part;
}

}  // namespace shardshift::plans
