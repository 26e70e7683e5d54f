// `shardshift lint` for PostgreSQL files: each statement as PostgreSQL's own parser (libpg-query)
// reads it, with what the file did before it: the transaction it is in and the locks that
// transaction holds, the tables the file created, the columns whose types it knows, the
// constraints it added NOT VALID and validated, the lock_timeout in force.
#include <fmt/format.h>
#include <pg_query.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "planner/lint.h"
#include "planner/ascii.h"
#include "planner/lint_internal.h"
#include "planner/lint_text.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {

using nlohmann::json;
using lint_detail::Disabled;
using lint_detail::Rule;
using lint_detail::SizeGraded;
using lint_detail::StatementStart;

// A lock_timeout longer than this protects nothing: the queue behind a waiting DDL is the outage.
constexpr int64_t kLongestUsefulLockTimeoutMs = 10000;
// PostgreSQL truncates longer identifiers (NAMEDATALEN - 1 bytes) without an error.
constexpr size_t kMaxIdentifierBytes = 63;

// "schema.name" of a RangeVar, bare ({"relname": ...}) or wrapped ({"RangeVar": {...}}).
std::string RangeVarName(const json& node) {
  const json& rv = node.contains("RangeVar") ? node["RangeVar"] : node;
  const std::string name = rv.value("relname", "");
  const std::string schema = rv.value("schemaname", "");
  return schema.empty() || name.empty() ? name : schema + "." + name;
}

// A List of String nodes as a dotted name ("public.orders").
std::string DottedName(const json& list) {
  std::string out;
  for (const json& part : list) {
    if (part.contains("String")) out += (out.empty() ? "" : ".") + part["String"].value("sval", "");
  }
  return out;
}

// The table a statement works on, "" when it names none.
std::string StatementTable(const json& node) {
  if (node.contains("relation")) return RangeVarName(node["relation"]);
  if (node.contains("into") && node["into"].contains("IntoClause")) return RangeVarName(node["into"]["IntoClause"]["rel"]);
  if (node.contains("relations") && !node["relations"].empty()) return RangeVarName(node["relations"][0]);
  if (node.contains("rels") && !node["rels"].empty()) {
    const json& rel = node["rels"][0];
    if (rel.contains("VacuumRelation") && rel["VacuumRelation"].contains("relation")) {
      return RangeVarName(rel["VacuumRelation"]["relation"]);
    }
  }
  return "";
}

// Functions whose default makes PostgreSQL write a value into every existing row.
bool Volatile(const json& expr) {
  if (!expr.contains("FuncCall")) return false;
  std::string name;
  for (const json& part : expr["FuncCall"]["funcname"]) name = part["String"]["sval"].get<std::string>();
  static const std::set<std::string> kStable = {"now",          "current_timestamp", "statement_timestamp",
                                                "transaction_timestamp", "current_date", "current_user"};
  return !kStable.count(name);
}

// An integer A_Const (the parser leaves 0 as an empty ival).
std::optional<int64_t> IntConst(const json& node) {
  if (!node.contains("A_Const")) return std::nullopt;
  const json& c = node["A_Const"];
  if (c.contains("ival")) return c["ival"].value("ival", 0);
  return std::nullopt;
}

std::optional<std::string> StringConst(const json& node) {
  if (!node.contains("A_Const") || !node["A_Const"].contains("sval")) return std::nullopt;
  return node["A_Const"]["sval"].value("sval", "");
}

// A column type as written: its base name without pg_catalog ("varchar", "int4", "bigserial") and
// its modifiers (lengths, precision and scale), -1 where absent.
struct ColumnType {
  std::string name;
  std::vector<int64_t> mods;
  bool array = false;
  std::string Shown() const {
    std::string s = name;
    if (!mods.empty()) {
      s += "(";
      for (size_t i = 0; i < mods.size(); ++i) s += (i ? "," : "") + std::to_string(mods[i]);
      s += ")";
    }
    return array ? s + "[]" : s;
  }
};

bool IsSerial(const ColumnType& t) {
  return t.name == "serial" || t.name == "bigserial" || t.name == "smallserial" || t.name == "serial2" ||
         t.name == "serial4" || t.name == "serial8";
}

ColumnType TypeOf(const json& type_name) {
  ColumnType t;
  const json names = type_name.value("names", json::array());
  if (!names.empty()) t.name = AsciiLower(names.back()["String"].value("sval", ""));
  for (const json& m : type_name.value("typmods", json::array())) t.mods.push_back(IntConst(m).value_or(-1));
  t.array = type_name.contains("arrayBounds");
  return t;
}

// Does PostgreSQL change a column from `from` to `to` without rewriting the table (a binary-
// coercible cast whose new modifiers accept every old value)? Checked against the server in
// LintTypeChangeTest (the table's relfilenode before and after).
enum class Rewrite { kNo, kYes, kDepends };

Rewrite TypeChangeRewrites(const ColumnType& from, const ColumnType& to);

bool KeepsTheTable(const ColumnType& from, const ColumnType& to) {
  // An array's elements are converted one by one: even a widening rewrites.
  if (from.array || to.array) return from.array == to.array && from.name == to.name && from.mods == to.mods;
  auto widened = [](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    return b.empty() || (!a.empty() && b[0] >= a[0]);
  };
  const bool from_varchar = from.name == "varchar";
  if ((from_varchar || from.name == "text") && to.name == "text") return true;
  if ((from_varchar || from.name == "text") && to.name == "varchar") {
    return from.name == "text" ? to.mods.empty() : widened(from.mods, to.mods);
  }
  if (from.name == "numeric" && to.name == "numeric") {
    if (to.mods.empty()) return true;
    if (from.mods.empty()) return false;
    const int64_t from_scale = from.mods.size() > 1 ? from.mods[1] : 0;
    const int64_t to_scale = to.mods.size() > 1 ? to.mods[1] : 0;
    return from_scale == to_scale && to.mods[0] >= from.mods[0];
  }
  if (from.name == "varbit" && to.name == "varbit") return widened(from.mods, to.mods);
  if (from.name == "cidr" && to.name == "inet") return true;
  if (from.name == to.name && from.mods == to.mods) return true;  // the same type
  return false;
}

// Whether a change of a column of a known type rewrites the table. timestamp to timestamptz
// rewrites unless the session's TimeZone is UTC (PostgreSQL 12+), which a file does not show.
Rewrite TypeChangeRewrites(const ColumnType& from, const ColumnType& to) {
  if (!from.array && !to.array && from.name == "timestamp" && to.name == "timestamptz") return Rewrite::kDepends;
  return KeepsTheTable(from, to) ? Rewrite::kNo : Rewrite::kYes;
}

// Types whose widening PostgreSQL does in place: a change to one of them may or may not rewrite,
// depending on the type the column has now.
bool MayBeWidening(const ColumnType& to) {
  return to.name == "varchar" || to.name == "text" || to.name == "numeric" || to.name == "varbit" ||
         to.name == "inet";
}

// A lock_timeout value in milliseconds (an integer is milliseconds; a string may carry a unit).
std::optional<int64_t> TimeoutMs(const json& value) {
  if (auto i = IntConst(value)) return *i;
  const std::optional<std::string> s = StringConst(value);
  if (!s) return std::nullopt;
  const std::string text = AsciiLower(*s);
  int64_t n = 0;
  const char* begin = text.data();
  const auto [end, ec] = std::from_chars(begin, begin + text.size(), n);
  if (ec != std::errc()) return std::nullopt;
  std::string unit(end, begin + text.size());
  unit.erase(std::remove(unit.begin(), unit.end(), ' '), unit.end());
  static const std::map<std::string, int64_t> kUnits = {{"", 1},        {"ms", 1},          {"s", 1000},
                                                        {"min", 60000}, {"h", 3600000},     {"d", 86400000},
                                                        {"us", 0}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) return std::nullopt;
  return it->second == 0 ? (n > 0 ? 1 : 0) : n * it->second;
}

// An ALTER TABLE subcommand that does not take ACCESS EXCLUSIVE.
bool WeakerThanAccessExclusive(const json& cmd) {
  static const std::set<std::string> kWeaker = {"AT_ValidateConstraint", "AT_SetStatistics", "AT_AttachPartition",
                                                "AT_ClusterOn",          "AT_DropCluster",   "AT_SetRelOptions",
                                                "AT_ResetRelOptions",    "AT_EnableTrig",    "AT_DisableTrig"};
  const std::string subtype = cmd.value("subtype", "");
  if (kWeaker.count(subtype)) return true;
  if (subtype == "AT_DetachPartition") {
    return cmd.value("def", json::object()).value("PartitionCmd", json::object()).value("concurrent", false);
  }
  if (subtype == "AT_AddConstraint") {  // a foreign key takes SHARE ROW EXCLUSIVE
    const json& con = cmd.value("def", json::object()).value("Constraint", json::object());
    return con.value("contype", "") == "CONSTR_FOREIGN";
  }
  return false;
}

// `col IS NOT NULL`: the check that lets SET NOT NULL skip its scan once validated.
std::string NotNullCheckColumn(const json& con) {
  const json& e = con.value("raw_expr", json::object());
  if (!e.contains("NullTest")) return "";
  const json& t = e["NullTest"];
  if (t.value("nulltesttype", "") != "IS_NOT_NULL" || !t.contains("arg") || !t["arg"].contains("ColumnRef")) return "";
  const json fields = t["arg"]["ColumnRef"].value("fields", json::array());
  return fields.size() == 1 ? fields[0]["String"].value("sval", "") : "";
}

// The first identifier in a statement's text longer than PostgreSQL keeps (the parser has already
// cut it to 63 bytes, so the text is where it shows): unquoted words and "quoted" names, outside
// string literals, dollar-quoted bodies and comments.
std::string LongIdentifier(const std::string& sql) {
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || (c & 0x80); };
  for (size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '\'') {
      size_t j = i + 1;
      while (j < sql.size() && !(sql[j] == '\'' && (j + 1 >= sql.size() || sql[j + 1] != '\''))) j += sql[j] == '\'' ? 2 : 1;
      i = j + 1;
    } else if (c == '-' && sql.compare(i, 2, "--") == 0) {
      i = sql.find('\n', i);
    } else if (c == '/' && sql.compare(i, 2, "/*") == 0) {
      const size_t end = sql.find("*/", i + 2);
      i = end == std::string::npos ? end : end + 2;
    } else if (c == '$') {
      const size_t close = sql.find('$', i + 1);
      if (close == std::string::npos) return "";
      const std::string tag = sql.substr(i, close - i + 1);
      const size_t end = sql.find(tag, close + 1);
      i = end == std::string::npos ? end : end + tag.size();
    } else if (c == '"') {
      const size_t end = sql.find('"', i + 1);
      if (end == std::string::npos) return "";
      if (end - i - 1 > kMaxIdentifierBytes) return sql.substr(i + 1, end - i - 1);
      i = end + 1;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80)) {
      size_t j = i;
      while (j < sql.size() && word_char(sql[j])) ++j;
      if (j - i > kMaxIdentifierBytes) return sql.substr(i, j - i);
      i = j;
    } else {
      ++i;
    }
    if (i == std::string::npos) break;
  }
  return "";
}

// Words of a DO block's body that change schema or take locks (which lint cannot see inside).
std::string DdlInBody(const std::string& body) {
  const std::string b = " " + AsciiLower(body) + " ";
  for (const char* w : {"alter table", "create index", "create unique index", "drop table", "drop index",
                        "truncate", "lock table", "reindex", "cluster", "vacuum full", "add column", "execute"}) {
    const size_t at = b.find(w);
    if (at != std::string::npos && !std::isalnum(static_cast<unsigned char>(b[at - 1])) &&
        !std::isalnum(static_cast<unsigned char>(b[at + std::string(w).size()]))) {
      return w;
    }
  }
  return "";
}

// A type as the catalog prints it ("character varying(50)"), read by the parser.
std::optional<ColumnType> ParseType(const std::string& type) {
  const std::string sql = "SELECT NULL::" + type;
  PgQueryParseResult parsed = pg_query_parse(sql.c_str());
  std::optional<ColumnType> out;
  if (!parsed.error) {
    const json tree = json::parse(parsed.parse_tree, nullptr, false);
    try {
      const json& val = tree.at("stmts").at(0).at("stmt").at("SelectStmt").at("targetList").at(0).at("ResTarget").at("val");
      out = TypeOf(val.at("TypeCast").at("typeName"));
    } catch (const json::exception&) {
    }
  }
  pg_query_free_parse_result(parsed);
  return out;
}

class PgLinter {
 public:
  PgLinter(const std::string& text, const std::string& file, const db::SchemaInfo* live)
      : text_(text), file_(file), index_(text), file_disabled_(Disabled(text, "disable-file")) {
    if (live == nullptr) return;
    // The live columns' types, under the names a statement may use for their table.
    for (const db::TableInfo& t : live->tables) {
      for (const db::ColumnInfo& c : t.columns) {
        if (std::optional<ColumnType> type = ParseType(c.type)) {
          known_types_[t.name][c.name] = *type;
          known_types_[t.schema + "." + t.name][c.name] = *type;
        }
      }
    }
  }

  // The column types another linter learned (from a schema dump), under the names a statement may
  // use for their table (public.orders, orders).
  void Know(const PgLinter& other) {
    for (const auto& [table, columns] : other.known_types_) {
      const size_t dot = table.rfind('.');
      for (const std::string& name : {table, dot == std::string::npos ? table : table.substr(dot + 1)}) {
        for (const auto& [column, type] : columns) known_types_[name][column] = type;
      }
    }
  }

  std::vector<LintFinding> Run(const json& tree) {
    for (const json& entry : tree.value("stmts", json::array())) Statement(entry);
    if (tx_.open) {
      line_ = tx_.line;
      column_ = tx_.column;
      disabled_ = tx_.disabled;
      table_.clear();
      Find("SS119", "BEGIN with no COMMIT by the end of the file: the transaction, and every lock it took, stays "
                    "open until the session ends",
           "end the transaction with COMMIT in the same file");
    }
    return std::move(out_);
  }

 private:
  struct Transaction {
    bool open = false;
    int line = 0;
    int column = 0;
    std::set<std::string> disabled;
    std::vector<std::string> exclusive;       // tables ACCESS EXCLUSIVE is held on, in order
    std::set<std::string> not_valid;          // constraints added NOT VALID in it
    std::vector<std::string> enum_values;     // values ALTER TYPE … ADD VALUE added in it
    bool altered = false;                     // an ALTER TABLE ran in it
    bool whole_update = false;                // an UPDATE without WHERE ran in it
    bool local_timeout = false;               // SET LOCAL lock_timeout in it
    bool warned_locks = false;
  };

  void Find(const std::string& id, const std::string& message, const std::string& fix, const std::string& column = "",
            const std::string& table = "") {
    if (disabled_.count(id) || file_disabled_.count(id)) return;
    const std::string& t = table.empty() ? table_ : table;
    // Nothing else uses a table this file created: its locks and rewrites wait on no one, and no
    // query names what it drops or renames.
    if ((SizeGraded(id) || id == "SS108" || id == "SS109") && Created(t)) return;
    const LintRule& r = Rule(id);
    out_.push_back({r.id, r.name, r.severity, file_, line_, column_, message, fix, t, column});
  }

  bool Created(const std::string& table) const {
    if (table.empty()) return false;
    const std::string bare = table.substr(table.rfind('.') == std::string::npos ? 0 : table.rfind('.') + 1);
    return created_.count(table) > 0 || created_.count(bare) > 0;
  }

  bool TimeoutInForce() const { return lock_timeout_ || (tx_.open && tx_.local_timeout); }

  void Statement(const json& entry) {
    const size_t from = entry.value("stmt_location", 0);
    const size_t len = entry.value("stmt_len", 0);
    const size_t to = len == 0 ? text_.size() : from + len;
    const size_t start = StatementStart(text_, from, to);
    disabled_ = lint_detail::DisabledAround(text_, start, to);
    std::tie(line_, column_) = index_.Position(start);
    sql_ = text_.substr(start, to - start);
    const json& stmt = entry["stmt"];
    const std::string kind = stmt.begin().key();
    const json& node = stmt.begin().value();
    table_ = StatementTable(node);
    if (kind == "DropStmt" && node.value("removeType", "") == "OBJECT_TABLE" && !node.value("objects", json::array()).empty()) {
      table_ = DottedName(node["objects"][0].value("List", json::object()).value("items", json::array()));
    }

    EnumValueUse();
    if (kind != "DoStmt" && kind != "CreateFunctionStmt") {
      if (const std::string name = LongIdentifier(sql_); !name.empty()) TooLong(name);
    }
    if (kind == "TransactionStmt") return TransactionControl(node);
    if (kind == "VariableSetStmt") return SetTimeout(node);
    if (kind == "SelectStmt") return SetConfig(node);
    if (kind == "CreateStmt") return CreateTable(node);
    if (kind == "CreateTableAsStmt") {
      created_.insert(table_);
      return;
    }
    const bool ddl = kind == "IndexStmt" || kind == "AlterTableStmt" || kind == "DropStmt" || kind == "RenameStmt" ||
                     kind == "ClusterStmt" || kind == "VacuumStmt" || kind == "LockStmt" || kind == "TruncateStmt" ||
                     kind == "ReindexStmt" || kind == "RefreshMatViewStmt";
    if (ddl && !TimeoutInForce() && !warned_timeout_ && !Created(table_)) {
      warned_timeout_ = true;
      Find("SS112",
           lock_timeout_note_.empty()
               ? "DDL with no lock_timeout set: while it waits for its lock, every query on the table queues behind it"
               : "DDL with no useful lock_timeout: " + lock_timeout_note_,
           "SET lock_timeout = '2s'; at the top of the file, and retry the migration when it times out");
    }
    if (kind == "IndexStmt") return CreateIndex(node);
    if (kind == "DropStmt") return Drop(node);
    if (kind == "AlterTableStmt") return AlterTable(node);
    if (kind == "RenameStmt") return Rename(node);
    if (kind == "VacuumStmt") {
      for (const json& o : node.value("options", json::array())) {
        if (o["DefElem"].value("defname", "") == "full") {
          Exclusive(table_);
          Find("SS110", "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE: reads and writes wait",
               "pg_repack, or a shadow-table rebuild (create_index build = \"shadow\")");
        }
      }
      return;
    }
    if (kind == "ClusterStmt") {
      Exclusive(table_);
      return Find("SS110", "CLUSTER rewrites the table under ACCESS EXCLUSIVE: reads and writes wait",
                  "pg_repack --order-by, or a shadow-table rebuild");
    }
    if (kind == "LockStmt") {
      Exclusive(table_);
      return Find("SS111", "LOCK TABLE holds the lock to the end of the transaction: everything else on the table queues",
                  "let each statement take the lock it needs, under a lock_timeout");
    }
    if (kind == "TruncateStmt") return Truncate(node);
    if (kind == "ReindexStmt") return Reindex(node);
    if (kind == "RefreshMatViewStmt") {
      if (node.value("concurrent", false)) return;
      Exclusive(table_);
      return Find("SS110", "REFRESH MATERIALIZED VIEW without CONCURRENTLY holds ACCESS EXCLUSIVE: every read of " +
                               table_ + " waits until it is done",
                  "REFRESH MATERIALIZED VIEW CONCURRENTLY (it needs a unique index on the view)");
    }
    if (kind == "AlterDomainStmt") {
      const bool not_valid =
          node.value("def", json::object()).value("Constraint", json::object()).value("skip_validation", false);
      if (node.value("subtype", "") == "C" && !not_valid) {
        Find("SS123", "ALTER DOMAIN … ADD CONSTRAINT checks every column of every table that uses the domain, "
                      "holding locks that block their writes",
             "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in its own transaction; or a CHECK on each table");
      }
      return;
    }
    if (kind == "CreateDomainStmt") {
      if (!node.value("constraints", json::array()).empty()) {
        Find("SS128", "a domain with a constraint: changing that constraint later checks every table using it at "
                      "once, under locks",
             "put the CHECK on the tables' columns instead, where each can be added NOT VALID and validated");
      }
      return;
    }
    if (kind == "DoStmt") return DoBlock(node);
    if (kind == "DropdbStmt") {
      return Find("SS130", "DROP DATABASE " + node.value("dbname", "") + " removes every table in it",
                  "not in a migration: drop a database by hand, after a backup, once nothing connects to it", "",
                  node.value("dbname", ""));
    }
    if (kind == "AlterEnumStmt") return AlterEnum(node);
    if (kind == "UpdateStmt") return Update(node);
  }

  // A statement that uses an enum value added earlier in the same transaction fails ("unsafe use
  // of new value"): PostgreSQL allows it only once the ADD VALUE is committed.
  void EnumValueUse() {
    if (!tx_.open) return;
    for (const std::string& value : tx_.enum_values) {
      if (sql_.find("'" + value + "'") == std::string::npos || sql_.find("ADD VALUE") != std::string::npos ||
          AsciiLower(sql_).find("add value") != std::string::npos) {
        continue;
      }
      Find("SS116", "enum value '" + value + "' is used in the transaction that added it: PostgreSQL refuses that "
                    "(unsafe use of new value) until the ADD VALUE commits",
           "COMMIT after ALTER TYPE … ADD VALUE, then use the value");
    }
  }

  void TransactionControl(const json& node) {
    const std::string kind = node.value("kind", "");
    if (kind == "TRANS_STMT_BEGIN" || kind == "TRANS_STMT_START") {
      if (tx_.open) {
        Find("SS118", "BEGIN inside a transaction: PostgreSQL ignores it (a warning), so the COMMIT meant for the "
                      "inner block commits the outer one too",
             "one BEGIN … COMMIT per transaction; do not nest them (a migration tool may already wrap the file)");
        return;
      }
      tx_ = Transaction();
      tx_.open = true;
      tx_.line = line_;
      tx_.column = column_;
      tx_.disabled = disabled_;
      return;
    }
    if (kind == "TRANS_STMT_COMMIT" || kind == "TRANS_STMT_ROLLBACK") {
      if (!tx_.open) {
        Find("SS118", std::string(kind == "TRANS_STMT_COMMIT" ? "COMMIT" : "ROLLBACK") +
                          " with no transaction open: the statements before it were not in the transaction they "
                          "seem to be in",
             "pair each COMMIT with a BEGIN in the same file");
        return;
      }
      tx_ = Transaction();
    }
  }

  // SET [LOCAL] lock_timeout: 0 (no limit) or a long one does not protect the queue.
  void Timeout(const std::optional<int64_t>& ms, bool local, const std::string& written) {
    if (local && !tx_.open) {
      Find("SS135", "SET LOCAL outside a transaction has no effect (PostgreSQL only warns): the lock_timeout is "
                    "not set",
           "SET lock_timeout (for the session), or SET LOCAL after BEGIN");
      return;
    }
    if (ms && *ms > 0 && *ms <= kLongestUsefulLockTimeoutMs) {
      if (local) {
        tx_.local_timeout = true;
      } else {
        lock_timeout_ = true;
      }
      lock_timeout_note_.clear();
      return;
    }
    if (!local) lock_timeout_ = false;
    lock_timeout_note_ =
        ms && *ms == 0 ? "lock_timeout = 0 means no limit: a DDL waits for its lock, and every query on the table "
                         "queues behind it, for as long as it takes"
        : ms ? fmt::format("lock_timeout = {} is longer than {} s: the queue behind a waiting DDL is the outage",
                           written, kLongestUsefulLockTimeoutMs / 1000)
             : "lock_timeout = " + written + " is not a value lint can read";
  }

  void SetTimeout(const json& node) {
    if (node.value("name", "") != "lock_timeout") return;
    const std::string kind = node.value("kind", "");
    if (kind == "VAR_RESET" || kind == "VAR_SET_DEFAULT") {
      lock_timeout_ = false;
      lock_timeout_note_ = "lock_timeout was reset to the server's default";
      return;
    }
    const json args = node.value("args", json::array());
    if (args.empty()) return;
    const std::string written = StringConst(args[0]).value_or(std::to_string(IntConst(args[0]).value_or(-1)));
    Timeout(TimeoutMs(args[0]), node.value("is_local", false), "'" + written + "'");
  }

  // SELECT set_config('lock_timeout', '2s', is_local)
  void SetConfig(const json& node) {
    for (const json& target : node.value("targetList", json::array())) {
      const json& val = target.value("ResTarget", json::object()).value("val", json::object());
      if (!val.contains("FuncCall")) continue;
      const json& call = val["FuncCall"];
      if (DottedName(call.value("funcname", json::array())) != "set_config") continue;
      const json args = call.value("args", json::array());
      if (args.size() != 3 || StringConst(args[0]).value_or("") != "lock_timeout") continue;
      const bool local = args[2].contains("A_Const") && args[2]["A_Const"].contains("boolval") &&
                         args[2]["A_Const"]["boolval"].value("boolval", false);
      Timeout(TimeoutMs(args[1]), local, "'" + StringConst(args[1]).value_or("?") + "'");
    }
  }

  void Exclusive(const std::string& table) {
    if (!tx_.open || table.empty() || Created(table)) return;
    if (std::find(tx_.exclusive.begin(), tx_.exclusive.end(), table) == tx_.exclusive.end()) {
      tx_.exclusive.push_back(table);
    }
    if (tx_.exclusive.size() >= 2 && !tx_.warned_locks) {
      tx_.warned_locks = true;
      Find("SS115",
           fmt::format("ACCESS EXCLUSIVE on {} tables in one transaction ({}): each is held until COMMIT, every query "
                       "on any of them waits meanwhile, and two such migrations can deadlock",
                       tx_.exclusive.size(), fmt::join(tx_.exclusive, ", ")),
           "one table per transaction: COMMIT between the statements");
    }
  }

  // Style: the types squawk and strong_migrations advise against, for a column being created.
  void ColumnStyle(const std::string& table, const json& def) {
    const std::string col = def.value("colname", "");
    const ColumnType t = TypeOf(def.value("typeName", json::object()));
    known_types_[table][col] = t;
    if (t.name == "int4" || t.name == "int2" || (IsSerial(t) && t.name != "bigserial" && t.name != "serial8")) {
      Find("SS140", "column '" + col + "' is a " + (t.name.find('2') != std::string::npos || t.name == "smallserial" ? "16" : "32") +
                        "-bit integer: a key or counter that outgrows it needs a rewrite of the table to widen",
           "bigint (or bigint GENERATED … AS IDENTITY)", col, table);
    }
    if (IsSerial(t)) {
      Find("SS141", "column '" + col + "' is a serial: its sequence has its own owner and grants, and is easy to "
                    "get out of step",
           "bigint GENERATED BY DEFAULT AS IDENTITY", col, table);
    }
    if (t.name == "varchar" && !t.mods.empty()) {
      Find("SS142", "column '" + col + "' is varchar(" + std::to_string(t.mods[0]) +
                        "): raising the limit later is cheap, lowering it rewrites; the limit is rarely the rule "
                        "the data needs",
           "text, with a CHECK (length(col) <= n) where a limit matters", col, table);
    }
    if (t.name == "timestamp") {
      Find("SS143", "column '" + col + "' is timestamp without time zone: its values mean different moments to "
                    "sessions in different time zones",
           "timestamptz", col, table);
    }
    if (t.name == "bpchar") {
      Find("SS144", "column '" + col + "' is char(n): values are padded with spaces, which comparisons and lengths "
                    "then trip on, and it is no faster",
           "text (with a CHECK on the length where one matters)", col, table);
    }
    if (t.name == "json") {
      Find("SS147", "column '" + col + "' is json: it has no equality operator, so DISTINCT, UNION and GROUP BY on "
                    "it fail, and every read parses the text",
           "jsonb", col, table);
    }
  }

  // A statement with and without CONCURRENTLY: without, rule (its lock); with, inside a transaction
  // block, SS113 (it fails there). Returns whether it ran concurrently outside a transaction.
  bool Concurrently(bool concurrent, const std::string& what, const std::string& rule, const std::string& message,
                    const std::string& fix) {
    if (!concurrent) {
      Find(rule, message, fix);
      return false;
    }
    if (!tx_.open) return true;
    Find("SS113", what + " CONCURRENTLY inside a transaction block fails when it runs",
         "run it on its own, outside BEGIN … COMMIT (a migration tool may need to be told not to wrap it)");
    return false;
  }

  void TooLong(const std::string& name) {
    Find("SS145", fmt::format("the name '{}' is {} bytes: PostgreSQL truncates it to {} without an error, and two "
                              "long names can collide",
                              name, name.size(), kMaxIdentifierBytes),
         "a name of at most 63 bytes");
  }

  void CreateTable(const json& node) {
    created_.insert(table_);
    for (const json& elt : node.value("tableElts", json::array())) {
      if (elt.contains("ColumnDef")) ColumnStyle(table_, elt["ColumnDef"]);
    }
  }

  void CreateIndex(const json& node) {
    if (!Concurrently(node.value("concurrent", false), "CREATE INDEX", "SS101",
                      "CREATE INDEX without CONCURRENTLY blocks writes to the table for the whole build",
                      "CREATE INDEX CONCURRENTLY (outside a transaction block), or a create_index spec")) {
      return;
    }
    if (!node.value("if_not_exists", false) && !Created(table_)) {
      Find("SS146", "CREATE INDEX CONCURRENTLY without IF NOT EXISTS: a build that fails leaves an INVALID index "
                    "of that name, and running the migration again then fails on it",
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS (and drop an INVALID leftover before retrying)");
    }
  }

  void Drop(const json& node) {
    const std::string type = node.value("removeType", "");
    if (type == "OBJECT_INDEX") {
      if (!node.value("concurrent", false)) Exclusive(table_);
      Concurrently(node.value("concurrent", false), "DROP INDEX", "SS102",
                   "DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table",
                   "DROP INDEX CONCURRENTLY (outside a transaction block)");
      return;
    }
    if (type != "OBJECT_TABLE") return;
    for (const json& obj : node.value("objects", json::array())) {
      const std::string name = DottedName(obj.value("List", json::object()).value("items", json::array()));
      if (Created(name)) continue;  // made by this file: nothing uses it yet
      Exclusive(name);
      Find("SS108", "dropping table " + name + " breaks every query that still names it, and its data is gone",
           "deploy the application without it first; rename it aside and drop it a release later", "", name);
    }
  }

  void Rename(const json& node) {
    const std::string type = node.value("renameType", "");
    if (type == "OBJECT_COLUMN" || type == "OBJECT_TABLE") {
      Exclusive(table_);
      const bool col = type == "OBJECT_COLUMN";
      Find("SS109",
           col ? "renaming column '" + node.value("subname", "") + "' breaks every query that still uses the old name"
               : "renaming table " + table_ + " breaks every query that still uses the old name",
           "add the new name alongside (a view or a new column) and move the application first",
           col ? node.value("subname", "") : "");
    } else if (type == "OBJECT_SCHEMA") {
      Find("SS134", "renaming schema " + node.value("subname", "") + " breaks every query and search_path that names it",
           "create the new schema, move the objects and the application, then drop the old one", "", "");
    }
  }

  void Truncate(const json& node) {
    const bool cascade = node.value("behavior", "") == "DROP_CASCADE";
    std::vector<std::string> names;
    for (const json& rel : node.value("relations", json::array())) {
      const std::string name = RangeVarName(rel);
      if (!Created(name)) names.push_back(name);
      Exclusive(name);
    }
    if (names.empty()) return;
    Find("SS131",
         fmt::format("TRUNCATE {} deletes every row under ACCESS EXCLUSIVE{}", fmt::join(names, ", "),
                     cascade ? "; CASCADE also empties every table with a foreign key to it, named nowhere in the file"
                             : ""),
         "DELETE in batches where rows must go; never TRUNCATE … CASCADE in a migration");
  }

  void Reindex(const json& node) {
    bool concurrently = false;
    for (const json& p : node.value("params", json::array())) {
      concurrently = concurrently || p.value("DefElem", json::object()).value("defname", "") == "concurrently";
    }
    Concurrently(concurrently, "REINDEX", "SS125",
                 "REINDEX without CONCURRENTLY blocks writes to the table (and reads that use the index) for the "
                 "whole rebuild",
                 "REINDEX … CONCURRENTLY (outside a transaction block)");
  }

  void DoBlock(const json& node) {
    for (const json& arg : node.value("args", json::array())) {
      const json& d = arg.value("DefElem", json::object());
      if (d.value("defname", "") != "as") continue;
      const std::string body = d.value("arg", json::object()).value("String", json::object()).value("sval", "");
      const std::string word = DdlInBody(body);
      if (!word.empty()) {
        Find("SS129", "a DO block runs `" + word + "`: lint cannot check the statements inside it, and their locks "
                      "are held until the block ends",
             "write the DDL as plain statements, where lint and reviewers see them");
      }
    }
  }

  void AlterEnum(const json& node) {
    const std::string type = DottedName(node.value("typeName", json::array()));
    if (node.contains("oldVal")) {
      return Find("SS133", "renaming enum value '" + node.value("oldVal", "") + "' of " + type +
                               " breaks every query and row in the application that still uses the old value",
                  "add the new value, move the application and the rows to it, and leave the old one unused", "", "");
    }
    if (tx_.open && node.contains("newVal")) tx_.enum_values.push_back(node.value("newVal", ""));
  }

  void Update(const json& node) {
    if (!tx_.open || node.contains("whereClause")) return;
    tx_.whole_update = true;
    if (tx_.altered) WholeUpdateWithAlter();
  }

  void WholeUpdateWithAlter() {
    Find("SS117", "an UPDATE of every row in the transaction of an ALTER TABLE: the ALTER's ACCESS EXCLUSIVE "
                  "lock is held until the whole update commits",
         "COMMIT the ALTER first, then backfill in batches of a few thousand rows, each its own transaction");
  }

  void AlterTable(const json& node) {
    const std::string objtype = node.value("objtype", "");
    bool exclusive = false;
    for (const json& c : node.value("cmds", json::array())) {
      const json& cmd = c["AlterTableCmd"];
      if (!WeakerThanAccessExclusive(cmd)) exclusive = true;
      AlterCommand(cmd);
    }
    if (exclusive) Exclusive(table_);
    if (tx_.open && objtype == "OBJECT_TABLE" && !Created(table_)) {
      const bool first = !tx_.altered;
      tx_.altered = true;
      if (first && tx_.whole_update) WholeUpdateWithAlter();
    }
  }

  void AlterCommand(const json& cmd) {
    const std::string subtype = cmd.value("subtype", "");
    const json def = cmd.value("def", json::object());
    const std::string name = cmd.value("name", "");
    if (subtype == "AT_AddColumn" && def.contains("ColumnDef")) return AddColumn(def["ColumnDef"]);
    if (subtype == "AT_AlterColumnType") return ChangeType(name, def.value("ColumnDef", json::object()));
    if (subtype == "AT_AddConstraint" && def.contains("Constraint")) return AddConstraint(def["Constraint"]);
    if (subtype == "AT_ValidateConstraint") {
      if (tx_.not_valid.count(table_ + "." + name)) {
        Find("SS114", "constraint " + name + " is validated in the transaction that added it NOT VALID: the "
                      "validation's scan then runs under the ADD's lock, which blocks writes",
             "COMMIT after ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a transaction of its own");
      }
      if (auto it = not_null_checks_.find(table_ + "." + name); it != not_null_checks_.end()) {
        validated_not_null_.insert(table_ + "." + it->second);
      }
      return;
    }
    if (subtype == "AT_SetNotNull") {
      if (validated_not_null_.count(table_ + "." + name)) return;  // the validated check spares the scan
      return Find("SS120", "SET NOT NULL on '" + name + "' scans the whole table under ACCESS EXCLUSIVE",
                  "ADD CONSTRAINT c CHECK (" + name + " IS NOT NULL) NOT VALID; COMMIT; VALIDATE CONSTRAINT c; then "
                  "SET NOT NULL (it uses the validated check and skips the scan), then drop the check",
                  name);
    }
    if (subtype == "AT_DropNotNull") {
      return Find("SS132", "DROP NOT NULL on '" + name + "': the application may then read NULLs it never expected",
                  "keep the constraint until every reader handles NULL", name);
    }
    if (subtype == "AT_ColumnDefault" && def.empty()) {
      return Find("SS136", "DROP DEFAULT on '" + name + "': an INSERT that leaves the column out then writes NULL "
                                                        "(or fails on NOT NULL)",
                  "deploy the application writing the column first", name);
    }
    if (subtype == "AT_DetachPartition") {
      Concurrently(def.value("PartitionCmd", json::object()).value("concurrent", false), "DETACH PARTITION", "SS124",
                   "DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on the partitioned table",
                   "DETACH PARTITION … CONCURRENTLY (outside a transaction block)");
      return;
    }
    if (subtype == "AT_SetLogged" || subtype == "AT_SetUnLogged") {
      return Find("SS110", std::string(subtype == "AT_SetLogged" ? "SET LOGGED" : "SET UNLOGGED") +
                               " rewrites the table under ACCESS EXCLUSIVE: reads and writes wait",
                  "create the new table as wanted and copy into it (a shadow-table rebuild)");
    }
    if (subtype == "AT_SetTableSpace") {
      return Find("SS110", "SET TABLESPACE copies the whole table under ACCESS EXCLUSIVE: reads and writes wait",
                  "pg_repack --tablespace, or a shadow-table rebuild");
    }
    if (subtype == "AT_DropColumn") {
      Find("SS108", "dropping column '" + name + "' breaks every query that still names it",
           "deploy the application without it first; keep the data until then (a vertical_split contract)", name);
    }
  }

  void AddColumn(const json& col) {
    bool not_null = false;
    bool has_default = false;
    bool volatile_default = false;
    const std::string name = col.value("colname", "");
    for (const json& c : col.value("constraints", json::array())) {
      const json& con = c["Constraint"];
      const std::string type = con.value("contype", "");
      not_null = not_null || type == "CONSTR_NOTNULL" || type == "CONSTR_PRIMARY";
      if (type == "CONSTR_DEFAULT") {
        has_default = true;
        volatile_default = Volatile(con.value("raw_expr", json::object()));
      }
      if (type == "CONSTR_GENERATED") {
        Find("SS121", "stored generated column '" + name + "' is computed for every row: the table is rewritten "
                                                            "under ACCESS EXCLUSIVE",
             "add a plain column, fill it in batches and keep it current in the application or a trigger", name);
      }
      if (type == "CONSTR_IDENTITY") has_default = true, Serial(name);
      if (type == "CONSTR_FOREIGN") {
        Find("SS122", "REFERENCES on the new column '" + name + "' adds a foreign key that locks both tables "
                      "(SHARE ROW EXCLUSIVE: their writes wait) while it is added",
             "add the column, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT", name);
      }
    }
    const ColumnType t = TypeOf(col.value("typeName", json::object()));
    if (IsSerial(t)) {
      has_default = true;
      Serial(name);
    }
    if (not_null && !has_default) {
      Find("SS103", "adding NOT NULL column '" + name + "' without a default fails on a table with rows",
           "add it nullable (or with a constant DEFAULT), backfill in batches, then SET NOT NULL after a validated "
           "CHECK (col IS NOT NULL) NOT VALID",
           name);
    }
    if (volatile_default) {
      Find("SS104", "column '" + name + "' has a volatile default: every existing row is rewritten under ACCESS "
                                         "EXCLUSIVE",
           "add the column without a default, set the default for new rows, backfill in batches", name);
    }
    ColumnStyle(table_, col);
  }

  void Serial(const std::string& name) {
    Find("SS126", "adding the auto-incrementing column '" + name + "' gives every existing row a value: the table is "
                                                                     "rewritten under ACCESS EXCLUSIVE",
         "add a nullable bigint, attach a sequence as its default for new rows, and backfill in batches", name);
  }

  void ChangeType(const std::string& name, const json& def) {
    const ColumnType to = TypeOf(def.value("typeName", json::object()));
    const bool using_expr = def.contains("raw_default");
    std::optional<ColumnType> from;
    if (auto t = known_types_.find(table_); t != known_types_.end()) {
      if (auto c = t->second.find(name); c != t->second.end()) from = c->second;
    }
    known_types_[table_][name] = to;
    const std::string fix = "add a new column, dual-write and backfill it (shardshift vertical_split), then switch";
    const Rewrite rewrite = from && !using_expr ? TypeChangeRewrites(*from, to) : Rewrite::kYes;
    if (from && rewrite == Rewrite::kNo) return;  // PostgreSQL changes the catalog only
    if (from && rewrite == Rewrite::kDepends) {
      return Find("SS137", "changing column '" + name + "' from " + from->Shown() + " to " + to.Shown() +
                               " rewrites the table under ACCESS EXCLUSIVE unless the session's TimeZone is UTC",
                  "SET TimeZone = 'UTC' in the same session first (then only the catalog changes)", name);
    }
    if (from) {
      return Find("SS105", "changing column '" + name + "' from " + from->Shown() + " to " + to.Shown() +
                               " rewrites the table (and its indexes) under ACCESS EXCLUSIVE",
                  fix, name);
    }
    if (MayBeWidening(to) && !using_expr) {
      Find("SS137", "changing column '" + name + "' to " + to.Shown() + " rewrites the table under ACCESS EXCLUSIVE "
                    "unless it only widens the type it has (varchar(n) to a longer varchar or text, numeric(p,s) to "
                    "a larger precision of the same scale, cidr to inet), which lint cannot see in this file",
           "lint with --db to compare with the live column, or make sure it is a widening", name);
      return;
    }
    Find("SS105", "changing column '" + name + "''s type to " + to.Shown() +
                      " rewrites the table (and its indexes) under ACCESS EXCLUSIVE",
         fix, name);
  }

  void AddConstraint(const json& con) {
    const std::string type = con.value("contype", "");
    const std::string name = con.value("conname", "");
    const bool not_valid = con.value("skip_validation", false);
    if ((type == "CONSTR_FOREIGN" || type == "CONSTR_CHECK") && !not_valid) {
      Find("SS106",
           "adding a " + std::string(type == "CONSTR_FOREIGN" ? "foreign key" : "check constraint") +
               " validates every row while holding a lock that blocks writes",
           "ADD CONSTRAINT … NOT VALID, then ALTER TABLE … VALIDATE CONSTRAINT in its own transaction");
    }
    if (not_valid && !name.empty()) {
      if (tx_.open) tx_.not_valid.insert(table_ + "." + name);
      if (type == "CONSTR_CHECK") {
        if (const std::string col = NotNullCheckColumn(con); !col.empty()) not_null_checks_[table_ + "." + name] = col;
      }
    }
    if ((type == "CONSTR_PRIMARY" || type == "CONSTR_UNIQUE") && con.value("indexname", "").empty()) {
      Find("SS107", "adding a primary key or unique constraint builds its index under ACCESS EXCLUSIVE",
           "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … USING INDEX");
    }
    if (type == "CONSTR_EXCLUSION") {
      Find("SS127", "adding an exclusion constraint builds its index and checks every row under ACCESS EXCLUSIVE; "
                    "it cannot be added NOT VALID or from an index built concurrently",
           "check the rule in the application, or add the constraint to a new table and move the rows over");
    }
  }

  const std::string& text_;
  const std::string& file_;
  TextIndex index_;
  std::set<std::string> file_disabled_;
  std::vector<LintFinding> out_;
  // The statement being read.
  std::set<std::string> disabled_;
  int line_ = 1;
  int column_ = 1;
  std::string sql_;
  std::string table_;
  // What the file did before it.
  Transaction tx_;
  bool lock_timeout_ = false;  // a useful session lock_timeout is in force
  std::string lock_timeout_note_;  // why the last SET lock_timeout did not count
  bool warned_timeout_ = false;
  std::set<std::string> created_;
  std::map<std::string, std::map<std::string, ColumnType>> known_types_;  // table -> column -> type
  std::map<std::string, std::string> not_null_checks_;  // "table.constraint" -> column of `col IS NOT NULL`
  std::set<std::string> validated_not_null_;            // "table.column" with a validated such check
};

}  // namespace

namespace {

// The file's text parsed by the PostgreSQL parser, psql meta-commands and COPY data blanked first
// (listed in skipped).
json ParsePostgres(const std::string& input, const std::string& file, std::string& text,
                   std::vector<SkippedLine>& skipped) {
  CheckIsText(input, file);
  text = input;
  skipped = BlankPsqlLines(text);
  PgQueryParseResult parsed = pg_query_parse(text.c_str());
  if (parsed.error) {
    const TextIndex index(text);
    const auto [line, column] = index.Position(parsed.error->cursorpos > 0 ? parsed.error->cursorpos - 1 : 0);
    const std::string message = parsed.error->message;
    pg_query_free_parse_result(parsed);
    throw plans::InputError(plans::SourcePos{file, line, column}, "", "not valid PostgreSQL: " + message);
  }
  json tree = json::parse(parsed.parse_tree);
  pg_query_free_parse_result(parsed);
  return tree;
}

}  // namespace

std::vector<LintFinding> LintPostgresSql(const std::string& input, const std::string& file,
                                         const db::SchemaInfo* live, const SchemaDump* schema) {
  std::string text;
  std::vector<SkippedLine> skipped;
  const json tree = ParsePostgres(input, file, text, skipped);
  PgLinter linter(text, file, live);
  if (schema != nullptr) {
    // The dump's tables as they stand: their columns' types, nothing reported.
    std::string schema_text;
    std::vector<SkippedLine> schema_skipped;
    const json schema_tree = ParsePostgres(schema->text, schema->file, schema_text, schema_skipped);
    PgLinter learned(schema_text, schema->file, nullptr);
    learned.Run(schema_tree);
    linter.Know(learned);
  }
  std::vector<LintFinding> out = linter.Run(tree);
  for (const SkippedLine& s : skipped) {
    out.push_back({"SS100", Rule("SS100").name, "note", file, s.line, 1,
                   s.what == "COPY data" ? "COPY … FROM stdin data: not SQL, not linted"
                                         : "psql meta-command " + s.what + ": psql runs it, lint skips it",
                   "", "", ""});
  }
  return out;
}

}  // namespace shardshift::planner
