// `shardshift lint --dialect mariadb`: MariaDB/MySQL migration files split into statements (quotes,
// backticks, comments and DELIMITER blocks respected) and read by keywords, there being no MariaDB
// parser to lean on. The lock and copy rules follow what the server accepts for each operation
// (INSTANT, NOCOPY, INPLACE with LOCK=NONE, or only COPY or a lock), which LintAlterAlgorithmTest
// checks against a MariaDB 10.11 server; the file's own CREATE TABLEs (or --db) give column types.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "planner/lint.h"
#include "planner/ascii.h"
#include "planner/lint_internal.h"
#include "planner/lint_text.h"
#include "plans/input_error.h"

namespace shardshift::planner {

using lint_detail::Disabled;
using lint_detail::Rule;

namespace {

// A MariaDB statement: its text with comments and quoted strings blanked (so keywords inside them
// do not count), upper-cased, and where it starts.
struct MyStatement {
  std::string words;  // upper case, comments and strings replaced by spaces
  std::string raw;
  size_t start = 0;
};

// Splits at the delimiter (`;`, or what a `DELIMITER` line sets, as the mariadb client does: a
// procedure's body between `DELIMITER //` lines is one statement). A quote, backtick or comment
// left open is bad input: everything after it would be swallowed.
std::vector<MyStatement> SplitMariadb(const std::string& text, const std::string& file) {
  const TextIndex index(text);
  auto unclosed = [&](size_t at, const std::string& what) {
    const auto [line, column] = index.Position(at);
    throw plans::InputError(plans::SourcePos{file, line, column}, "",
                            what + " opened here is never closed: the statements after it would not be linted");
  };
  std::vector<MyStatement> out;
  MyStatement cur;
  bool started = false;
  std::string delimiter = ";";
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    auto blank = [&](size_t n) {
      cur.words.append(n, ' ');
      cur.raw.append(text, i, n);
      i += n - 1;
    };
    if (!started && (i == 0 || text[i - 1] == '\n') && text.size() - i > 10 &&
        std::equal(text.begin() + static_cast<std::ptrdiff_t>(i), text.begin() + static_cast<std::ptrdiff_t>(i) + 9,
                   "DELIMITER", [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; }) &&
        (text[i + 9] == ' ' || text[i + 9] == '\t')) {
      size_t end = text.find('\n', i);
      if (end == std::string::npos) end = text.size();
      std::string d = text.substr(i + 10, end - i - 10);
      d.erase(0, d.find_first_not_of(" \t"));
      d.erase(d.find_last_not_of(" \t\r") + 1);
      if (!d.empty()) delimiter = d;
      i = end;
      continue;
    }
    if (c == '-' && (text.compare(i, 3, "-- ") == 0 || text.compare(i, 3, "--\t") == 0 ||
                     text.compare(i, 3, "--\n") == 0 || text.compare(i, 3, "--\r") == 0 || i + 2 == text.size())) {
      const size_t end = text.find('\n', i);
      blank((end == std::string::npos ? text.size() : end) - i);
    } else if (c == '#') {
      const size_t end = text.find('\n', i);
      blank((end == std::string::npos ? text.size() : end) - i);
    } else if (c == '/' && text.compare(i, 2, "/*") == 0) {
      const size_t end = text.find("*/", i + 2);
      if (end == std::string::npos) unclosed(i, "a /* comment");
      blank(end + 2 - i);
    } else if (c == '\'' || c == '"' || c == '`') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != c) j += (text[j] == '\\' && c != '`') ? 2 : 1;
      if (j >= text.size()) unclosed(i, c == '`' ? "a backtick" : c == '"' ? "a double quote" : "a quote");
      if (!started) {
        started = true;
        cur.start = i;
      }
      // Backticked names stay words (a table called `lock` is not LOCK); strings are blanked.
      cur.words += c == '`' ? std::string("X") : std::string(" ");
      cur.words.append(j - i, ' ');
      cur.raw.append(text, i, j + 1 - i);
      i = j;
    } else if (text.compare(i, delimiter.size(), delimiter) == 0) {
      if (started) out.push_back(cur);
      cur = MyStatement();
      started = false;
      i += delimiter.size() - 1;
    } else {
      if (!started && !std::isspace(static_cast<unsigned char>(c))) {
        started = true;
        cur.start = i;
      }
      cur.words += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      cur.raw += c;
    }
  }
  if (started) out.push_back(cur);
  return out;
}

bool HasWords(const std::string& words, const std::string& phrase) {
  // phrase's words in order, separated by any whitespace
  std::stringstream in(phrase);
  std::vector<std::string> parts;
  for (std::string w; in >> w;) parts.push_back(w);
  std::stringstream text(words);
  std::vector<std::string> tokens;
  for (std::string w; text >> w;) {
    // split punctuation off: "LOCK=NONE," -> "LOCK=NONE"
    while (!w.empty() && (w.back() == ',' || w.back() == '(' || w.back() == ')')) w.pop_back();
    while (!w.empty() && (w.front() == ',' || w.front() == '(')) w.erase(w.begin());
    if (!w.empty()) tokens.push_back(w);
  }
  for (size_t i = 0; i + parts.size() <= tokens.size(); ++i) {
    bool all = true;
    for (size_t k = 0; k < parts.size() && all; ++k) all = tokens[i + k] == parts[k];
    if (all) return true;
  }
  return false;
}

bool StartsWith(const std::string& words, const std::string& phrase) {
  std::stringstream in(words);
  std::string first;
  std::string second;
  in >> first >> second;
  return (first + " " + second).starts_with(phrase) || first == phrase;
}

}  // namespace

std::vector<std::string> MariadbStatements(const std::string& text, const std::string& file) {
  std::vector<std::string> out;
  for (const MyStatement& st : SplitMariadb(text, file)) {
    // From its first word (comments and blank lines before it left out) to its last.
    std::string s = st.raw;
    const size_t first = st.words.find_first_not_of(" \t\r\n");
    s.erase(0, first == std::string::npos ? s.size() : first);
    s.erase(s.find_last_not_of(" \t\r\n") + 1);
    out.push_back(s);
  }
  return out;
}

std::string MariadbStatementTable(const std::string& raw) {
  std::vector<std::string> tokens;
  std::string cur;
  bool quoted = false;
  for (char c : raw) {
    if (c == '`') {
      quoted = !quoted;
    } else if (!quoted &&
               (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '(' || c == ';')) {
      if (!cur.empty()) tokens.push_back(cur);
      cur.clear();
      if (c == '(') tokens.push_back("(");
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) tokens.push_back(cur);
  auto upper = [](std::string w) {
    for (char& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return w;
  };
  const bool index =
      tokens.size() > 1 && (upper(tokens[1]) == "INDEX" || upper(tokens[1]) == "UNIQUE" || upper(tokens[1]) == "FULLTEXT" ||
                            upper(tokens[1]) == "SPATIAL" ||
                            upper(tokens[1]) == "TRIGGER");
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    const std::string w = upper(tokens[i]);
    if (index ? w == "ON" : (w == "TABLE" || w == "TABLES")) {
      size_t k = i + 1;
      if (upper(tokens[k]) == "IF" && k + 2 < tokens.size()) k += 2;  // IF [NOT] EXISTS
      if (upper(tokens[k]) == "EXISTS" && k + 1 < tokens.size()) ++k;
      return tokens[k];
    }
  }
  return "";
}

namespace {

// A column type as written or as information_schema prints it: "VARCHAR(50) CHARACTER SET utf8mb4".
struct MyType {
  std::string name;   // upper case: VARCHAR, INT, DECIMAL
  std::string mods;   // what the parentheses hold, spaces outside quotes removed: "50", "10,2"
  std::vector<std::string> members;  // ENUM and SET: the values, in order
  std::string charset;  // lower case; "" when not said
  bool unsigned_ = false;
  bool nullable = true;  // no NOT NULL (or PRIMARY KEY) said
  std::string Shown() const { return name + (mods.empty() ? "" : "(" + mods + ")"); }
};

// What lint knows of a table: from --db or --schema, from the file's CREATE TABLE, and what the
// file's statements changed since.
struct MyTable {
  std::map<std::string, MyType> columns;
  bool fulltext = false;  // it has a FULLTEXT index: InnoDB cannot rebuild it with LOCK=NONE
  std::string charset;    // its default character set, lower case ("" when not known)
};

// The quoted values of an ENUM or SET's parentheses ("'new','paid'"), unquoted.
std::vector<std::string> Members(const std::string& mods) {
  std::vector<std::string> out;
  for (size_t i = 0; i < mods.size(); ++i) {
    const char q = mods[i];
    if (q != '\'' && q != '"') continue;
    std::string v;
    size_t j = i + 1;
    for (; j < mods.size(); ++j) {
      if (mods[j] == '\\' && j + 1 < mods.size()) {
        v += mods[++j];
      } else if (mods[j] == q && j + 1 < mods.size() && mods[j + 1] == q) {
        v += q;
        ++j;
      } else if (mods[j] == q) {
        break;
      } else {
        v += mods[j];
      }
    }
    out.push_back(v);
    i = j;
  }
  return out;
}

// Reads a type from the start of a column definition (after the column's name): words is the text
// upper-cased with strings blanked, raw the same text as written (the same length).
MyType ReadType(const std::string& words, const std::string& raw) {
  MyType t;
  size_t i = words.find_first_not_of(" \t\r\n");
  if (i == std::string::npos) return t;
  size_t j = i;
  while (j < words.size() && (std::isalnum(static_cast<unsigned char>(words[j])) || words[j] == '_')) ++j;
  t.name = words.substr(i, j - i);
  size_t k = words.find_first_not_of(" \t\r\n", j);
  size_t after = j;
  if (k != std::string::npos && words[k] == '(') {
    // The closing parenthesis outside strings (words has them blanked).
    const size_t close = words.find(')', k);
    if (close != std::string::npos) {
      bool quoted = false;
      for (size_t n = k + 1; n < close; ++n) {
        const char c = raw[n];
        if (c == '\'' || c == '"') quoted = !quoted;
        if (quoted || !std::isspace(static_cast<unsigned char>(c))) t.mods += c;
      }
      after = close + 1;
    }
  }
  if (t.name == "ENUM" || t.name == "SET") t.members = Members(t.mods);
  // An integer's display width (int(11), as information_schema prints it) changes nothing stored.
  static const std::set<std::string> kIntegers = {"TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT"};
  if (kIntegers.count(t.name)) t.mods.clear();
  if (t.name == "INTEGER") t.name = "INT";
  std::stringstream rest(words.substr(after));
  std::vector<std::string> tokens;
  for (std::string w; rest >> w;) tokens.push_back(w);
  for (size_t n = 0; n < tokens.size(); ++n) {
    if (tokens[n] == "UNSIGNED") t.unsigned_ = true;
    if ((tokens[n] == "CHARSET" || (tokens[n] == "SET" && n > 0 && tokens[n - 1] == "CHARACTER")) && n + 1 < tokens.size()) {
      std::string cs = tokens[n + 1];
      if (cs == "=" && n + 2 < tokens.size()) cs = tokens[n + 2];
      for (char& c : cs) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      t.charset = cs;
    }
    if ((tokens[n] == "NOT" && n + 1 < tokens.size() && tokens[n + 1].starts_with("NULL") &&
         (n == 0 || tokens[n - 1] != "IS")) ||
        tokens[n] == "PRIMARY") {
      t.nullable = false;
    }
  }
  return t;
}

// Bytes a character may take in a charset ("" = not said: utf8mb4, the widest in common use).
int MaxBytes(const std::string& charset) {
  if (charset.starts_with("latin") || charset == "ascii" || charset == "binary") return 1;
  if (charset == "utf8" || charset == "utf8mb3" || charset == "ucs2") return 3;
  return 4;
}

// How InnoDB stores an ENUM or SET of n values: in 1 or 2 bytes (ENUM), 1-4 or 8 (SET).
int MembersBytes(const std::string& type, size_t n) {
  if (type == "ENUM") return n <= 255 ? 1 : 2;
  return n <= 32 ? static_cast<int>((n + 7) / 8) : 8;
}

// How InnoDB makes a MODIFY/CHANGE of a column's definition from `from` to `to`, when nothing is
// written to force it; LintAlterAlgorithmTest checks each verdict against the server.
enum class Change {
  kInPlace,  // INSTANT or NOCOPY: metadata only
  kRebuild,  // INPLACE with LOCK=NONE, but the table is rebuilt (NULL-ness changed)
  kCopy,     // only ALGORITHM=COPY: writes wait for the whole copy
};

// The same type with other default or comment: in place; other NULL-ness: a rebuild. A VARCHAR or
// VARBINARY made longer while its length prefix stays one byte or was two already (255 bytes), or
// an ENUM or SET with values added at the end in the same storage size: in place. Any other
// change of type: a copy.
Change ChangeOf(const MyType& from, const MyType& to) {
  // A charset not said is the table's: taken to be the same as the other side's.
  if ((!from.charset.empty() && !to.charset.empty() && from.charset != to.charset) || from.unsigned_ != to.unsigned_ ||
      from.name != to.name) {
    return Change::kCopy;
  }
  const Change same = from.nullable == to.nullable ? Change::kInPlace : Change::kRebuild;
  if (from.mods == to.mods) return same;
  if (from.name == "ENUM" || from.name == "SET") {
    const bool appended = to.members.size() >= from.members.size() &&
                          std::equal(from.members.begin(), from.members.end(), to.members.begin()) &&
                          MembersBytes(from.name, from.members.size()) == MembersBytes(to.name, to.members.size());
    return appended ? same : Change::kCopy;
  }
  if ((from.name != "VARCHAR" && from.name != "VARBINARY") || from.mods.empty() || to.mods.empty()) return Change::kCopy;
  const int64_t a = std::stoll(from.mods);
  const int64_t b = std::stoll(to.mods);
  if (b < a) return Change::kCopy;
  const int per = from.name == "VARBINARY" ? 1 : MaxBytes(from.charset.empty() ? to.charset : from.charset);
  return (a * per <= 255) == (b * per <= 255) ? same : Change::kCopy;
}

// The top-level comma-separated parts of words[from, to) (parentheses respected), as offsets.
std::vector<std::pair<size_t, size_t>> Clauses(const std::string& words, size_t from, size_t to) {
  std::vector<std::pair<size_t, size_t>> out;
  int depth = 0;
  size_t start = from;
  for (size_t i = from; i < to; ++i) {
    if (words[i] == '(') ++depth;
    if (words[i] == ')') --depth;
    if (words[i] == ',' && depth == 0) {
      out.emplace_back(start, i);
      start = i + 1;
    }
  }
  out.emplace_back(start, to);
  return out;
}

std::vector<std::string> Tokens(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '(' || c == ')' || c == ',' || c == '=') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
      if (c == '(' || c == '=') out.push_back(std::string(1, c));
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// A name as written in raw text (backticks removed).
std::string NameAt(const std::string& raw, size_t& at) {
  while (at < raw.size() && std::isspace(static_cast<unsigned char>(raw[at]))) ++at;
  std::string name;
  if (at < raw.size() && raw[at] == '`') {
    const size_t end = raw.find('`', at + 1);
    name = raw.substr(at + 1, end - at - 1);
    at = end + 1;
    return name;
  }
  while (at < raw.size() && !std::isspace(static_cast<unsigned char>(raw[at])) && raw[at] != '(' && raw[at] != ',' &&
         raw[at] != ';') {
    name += raw[at++];
  }
  return name;
}

// Skips the keywords in words at `at` (upper case, any spacing), when they are there.
bool Skip(const std::string& words, size_t& at, const std::vector<std::string>& keywords) {
  size_t i = at;
  for (const std::string& k : keywords) {
    i = words.find_first_not_of(" \t\r\n", i);
    if (i == std::string::npos || words.compare(i, k.size(), k) != 0 ||
        (i + k.size() < words.size() && (std::isalnum(static_cast<unsigned char>(words[i + k.size()])) || words[i + k.size()] == '_'))) {
      return false;
    }
    i += k.size();
  }
  at = i;
  return true;
}

std::string BareTable(const std::string& table) {
  const size_t dot = table.rfind('.');
  return dot == std::string::npos ? table : table.substr(dot + 1);
}

// Upper case with quoted strings blanked, as SplitMariadb gives a statement's words: for types
// read from information_schema ("enum('a)','b')").
std::string Words(const std::string& raw) {
  std::string out = AsciiUpper(raw);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\'' && raw[i] != '"') continue;
    size_t j = i + 1;
    while (j < raw.size() && raw[j] != raw[i]) j += raw[j] == '\\' ? 2 : 1;
    for (size_t k = i; k <= j && k < raw.size(); ++k) out[k] = ' ';
    i = j;
  }
  return out;
}

// Does the DEFAULT of the column definition words[a, b) give each row its own value, so that InnoDB
// must copy the table to add the column? UUID(), UUID_SHORT(), SYS_GUID(), SYSDATE(),
// RANDOM_BYTES(), NEXTVAL() and another column's value do; a constant, CURRENT_TIMESTAMP, NOW(),
// RAND() or USER() are evaluated once and the column is added INSTANT (LintAlterAlgorithmTest).
// Without the table's columns, any other name in the expression is taken to be a column.
bool DefaultCopies(const std::string& words, const std::string& raw, size_t a, size_t b, const MyTable& table) {
  size_t at = a;
  while (at < b) {
    const size_t d = words.find("DEFAULT", at);
    if (d == std::string::npos || d >= b) return false;
    at = d + 7;
    if ((d == 0 || !std::isalnum(static_cast<unsigned char>(words[d - 1]))) &&
        (at >= words.size() || !std::isalnum(static_cast<unsigned char>(words[at])))) {
      break;
    }
  }
  if (at >= b) return false;
  // The expression: a parenthesised one, or one token with its arguments (UUID(), 'x', 0).
  size_t i = words.find_first_not_of(" \t\r\n", at);
  if (i == std::string::npos || i >= b) return false;
  size_t end = i;
  if (words[i] != '(') {
    while (end < b && !std::isspace(static_cast<unsigned char>(words[end])) && words[end] != '(' && words[end] != ',') ++end;
    const size_t next = words.find_first_not_of(" \t\r\n", end);
    if (next != std::string::npos && next < b && words[next] == '(') end = next;
  }
  if (end < b && words[end] == '(') {
    int depth = 0;
    for (; end < b; ++end) {
      if (words[end] == '(') ++depth;
      if (words[end] == ')' && --depth == 0) break;
    }
    ++end;
  }
  // Names and opening parentheses; operators, numbers' signs and blanked strings end a name.
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : Words(raw.substr(i, std::min(end, b) - i)) + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '`') {
      cur += c;
      continue;
    }
    if (!cur.empty()) tokens.push_back(cur);
    cur.clear();
    if (c == '(') tokens.emplace_back("(");
  }
  static const std::set<std::string> kPerRow = {"UUID", "UUID_SHORT", "SYS_GUID", "SYSDATE", "RANDOM_BYTES", "NEXTVAL",
                                                "NEXT"};
  static const std::set<std::string> kWords = {
      "NULL", "TRUE", "FALSE", "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "LOCALTIME", "LOCALTIMESTAMP",
      "CURRENT_USER", "CURRENT_ROLE", "AND", "OR", "NOT", "XOR", "IS", "IN", "LIKE", "DIV", "MOD", "BETWEEN", "CASE",
      "WHEN", "THEN", "ELSE", "END", "INTERVAL", "MICROSECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH",
      "QUARTER", "YEAR", "DATE", "TIME", "TIMESTAMP", "BINARY", "COLLATE", "AS", "CHAR", "SIGNED", "UNSIGNED",
      "DECIMAL", "INTEGER"};
  for (size_t n = 0; n < tokens.size(); ++n) {
    std::string t = tokens[n];
    std::erase(t, '`');
    if (t.empty() || t == "(" || !(std::isalpha(static_cast<unsigned char>(t[0])) || t[0] == '_')) continue;
    const bool call = n + 1 < tokens.size() && tokens[n + 1] == "(";
    if (kPerRow.count(t) && (call || t == "NEXT")) return true;
    if (call || kWords.count(t)) continue;
    if (table.columns.empty()) return true;
    for (const auto& [name, type] : table.columns) {
      if (AsciiUpper(name) == t) return true;
    }
  }
  return false;
}

class MariadbLinter {
 public:
  explicit MariadbLinter(const db::SchemaInfo* live) {
    if (live == nullptr) return;
    for (const db::TableInfo& t : live->tables) {
      MyTable& known = tables_[t.name];
      for (const db::ColumnInfo& c : t.columns) {
        MyType type = ReadType(Words(c.type), c.type);
        type.charset = c.charset;
        type.nullable = c.nullable;
        known.columns[c.name] = type;
      }
      for (const db::IndexInfo& i : t.indexes) known.fulltext = known.fulltext || i.method == "fulltext";
      known.charset = t.charset;
    }
  }

  // A schema dump: what its statements create or change is known as it stands, not as created by
  // the migration, and nothing in it is reported.
  void Learn(const std::string& text, const std::string& file) {
    CheckIsText(text, file);
    for (const MyStatement& st : SplitMariadb(text, file)) Statement(st, text, file, true);
    for (const std::string& t : created_) tables_[t];  // stays known, no longer "created here"
    created_.clear();
  }

  std::vector<LintFinding> Lint(const std::string& text, const std::string& file) {
    CheckIsText(text, file);
    timeout_ = false;
    warned_ = false;
    fk_checks_ = true;
    file_disabled_ = Disabled(text, "disable-file");
    index_.emplace(text);
    for (const MyStatement& st : SplitMariadb(text, file)) Statement(st, text, file, false);
    return std::move(out_);
  }

 private:
  // Reads a CREATE TABLE's columns and FULLTEXT indexes.
  void ReadCreateTable(const MyStatement& st, MyTable& t) {
    const std::string& w = st.words;
    const size_t open = w.find('(');
    const size_t close = w.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) return;
    std::vector<std::string> primary;
    for (const auto& [a, b] : Clauses(w, open + 1, close)) {
      size_t at = a;
      const std::vector<std::string> first = Tokens(w.substr(a, std::min<size_t>(b - a, 40)));
      if (first.empty()) continue;
      if (first[0] == "FULLTEXT") t.fulltext = true;
      if (first[0] == "PRIMARY" || (first[0] == "CONSTRAINT" && w.substr(a, b - a).find("PRIMARY KEY") != std::string::npos)) {
        // Its columns are NOT NULL whatever their definitions say.
        const size_t p = w.find('(', a);
        if (p < b) {
          for (const std::string& c : Tokens(st.raw.substr(p, w.find(')', p) - p))) {
            if (c != "(") primary.push_back(c.front() == '`' ? c.substr(1, c.size() - 2) : c);
          }
        }
      }
      static const std::set<std::string> kNotColumns = {"PRIMARY", "KEY",      "INDEX", "UNIQUE", "CONSTRAINT",
                                                        "FOREIGN", "FULLTEXT", "SPATIAL", "CHECK", "PERIOD"};
      if (kNotColumns.count(first[0])) continue;
      const std::string name = NameAt(st.raw, at);
      t.columns[name] = ReadType(w.substr(at, b - at), st.raw.substr(at, b - at));
    }
    for (const std::string& c : primary) {
      if (auto col = t.columns.find(c); col != t.columns.end()) col->second.nullable = false;
    }
    // The table's options: DEFAULT CHARSET=utf8mb4, CHARACTER SET latin1.
    const std::vector<std::string> options = Tokens(w.substr(close));
    for (size_t n = 0; n + 1 < options.size(); ++n) {
      if (options[n] == "CHARSET" || (options[n] == "SET" && n > 0 && options[n - 1] == "CHARACTER")) {
        t.charset = options[n + 1] == "=" && n + 2 < options.size() ? options[n + 2] : options[n + 1];
        for (char& ch : t.charset) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
    }
  }

  void Statement(const MyStatement& st, const std::string& text, const std::string& file, bool context) {
    const std::string& w = st.words;
    const std::string table = MariadbStatementTable(st.raw);
    const std::string bare = BareTable(table);
    const bool made_here = created_.count(bare) > 0;
    auto find = [&](const std::string& id, const std::string& message, const std::string& fix,
                    const std::string& column_name = "") {
      if (context) return;
      const std::set<std::string> disabled = lint_detail::DisabledAround(text, st.start, st.start + st.raw.size());
      if (disabled.count(id) || file_disabled_.count(id)) return;
      // A table this file created: nothing waits on it, and no query uses its names yet.
      if (made_here && (lint_detail::SizeGraded(id) || id == "SS306" || id == "SS307" || id == "SS308")) return;
      const LintRule& r = Rule(id);
      const auto [line, column] = index_->Position(st.start);
      out_.push_back({r.id, r.name, r.severity, file, line, column, message, fix, table, column_name});
    };
    const bool alter = StartsWith(w, "ALTER TABLE") || StartsWith(w, "ALTER ONLINE") || StartsWith(w, "ALTER IGNORE");
    const bool create_index = StartsWith(w, "CREATE INDEX") || StartsWith(w, "CREATE UNIQUE") ||
                              StartsWith(w, "CREATE FULLTEXT") || StartsWith(w, "CREATE SPATIAL") ||
                              StartsWith(w, "CREATE OR");
    const bool ddl = alter || create_index || StartsWith(w, "DROP INDEX") || StartsWith(w, "DROP TABLE") ||
                     StartsWith(w, "RENAME TABLE") || StartsWith(w, "OPTIMIZE TABLE");
    const std::vector<std::string> tokens = Tokens(w);
    if (HasWords(w, "SET") && w.find("LOCK_WAIT_TIMEOUT") != std::string::npos) timeout_ = true;
    if (HasWords(w, "SET") && w.find("FOREIGN_KEY_CHECKS") != std::string::npos) {
      const auto at = std::find(tokens.begin(), tokens.end(), "FOREIGN_KEY_CHECKS");
      if (at != tokens.end() && at + 2 < tokens.end() && *(at + 1) == "=") {
        fk_checks_ = !(*(at + 2) == "0" || *(at + 2) == "OFF");
      }
    }
    if (StartsWith(w, "CREATE TABLE") || StartsWith(w, "CREATE OR REPLACE TABLE") || StartsWith(w, "CREATE TEMPORARY")) {
      created_.insert(bare);
      MyTable fresh;
      ReadCreateTable(st, fresh);
      tables_[bare] = fresh;
    }
    if (StartsWith(w, "DROP TABLE")) tables_.erase(bare);
    if (ddl && !timeout_ && !warned_ && !context) {
      warned_ = true;
      find("SS305", "DDL with no lock_wait_timeout set: while it waits for the metadata lock, every query on the "
                    "table queues behind it",
           "SET SESSION lock_wait_timeout = 5; at the top of the file");
    }
    // A written ALGORITHM or LOCK: COPY, SHARED and EXCLUSIVE block writes on purpose; INSTANT and
    // LOCK=NONE make the server refuse what it cannot do without blocking, so nothing below can
    // block (NOCOPY alone does not: it may still lock, as for a SPATIAL index). INSTANT and NOCOPY
    // also refuse a rebuild.
    std::string algorithm, lock;
    for (size_t i = 0; i + 2 < tokens.size(); ++i) {
      if (tokens[i] == "ALGORITHM" && tokens[i + 1] == "=") algorithm = tokens[i + 2];
      if (tokens[i] == "LOCK" && tokens[i + 1] == "=") lock = tokens[i + 2];
    }
    if (algorithm == "COPY" || lock == "SHARED" || lock == "EXCLUSIVE") {
      find("SS307", algorithm == "COPY" ? "ALGORITHM=COPY copies the whole table while writes wait"
                                        : "LOCK=" + lock + " blocks " + (lock == "SHARED" ? "writes" : "reads and writes") +
                                              " for the whole operation",
           "leave ALGORITHM and LOCK out, or say ALGORITHM=INPLACE, LOCK=NONE (refused, rather than blocking, where "
           "the server cannot)");
    }
    const bool guarded = algorithm == "INSTANT" || lock == "NONE";
    const bool no_rebuild = algorithm == "INSTANT" || algorithm == "NOCOPY";
    MyTable& known = tables_[bare];
    if (create_index && (HasWords(w, "CREATE FULLTEXT") || HasWords(w, "CREATE SPATIAL")) && !guarded) {
      find("SS301", "a FULLTEXT or SPATIAL index cannot be built with LOCK=NONE: writes to the table wait for the "
                    "whole build (and the first FULLTEXT index rebuilds the table)",
           "build it on a copy of the table (a shadow-table rebuild), or at a quiet hour");
    }
    if (create_index && HasWords(w, "CREATE FULLTEXT")) known.fulltext = true;
    std::vector<std::string> rebuilds;  // what makes the server rebuild the table, in words
    if (alter) {
      // The clauses after ALTER [ONLINE] [IGNORE] TABLE [IF EXISTS] name.
      size_t at = 0;
      Skip(w, at, {"ALTER"});
      Skip(w, at, {"ONLINE"});
      const bool ignore = Skip(w, at, {"IGNORE"});
      Skip(w, at, {"TABLE"});
      Skip(w, at, {"IF", "EXISTS"});
      NameAt(st.raw, at);
      if (at < st.raw.size() && st.raw[at] == '.') NameAt(st.raw, ++at);  // db.table
      const bool adds_primary = HasWords(w, "PRIMARY KEY") && HasWords(w, "ADD");
      bool adds_fulltext = false;
      for (const auto& [a, b] : Clauses(w, at, w.size())) {
        const std::string clause = w.substr(a, b - a);
        size_t c = a;
        const std::vector<std::string> ct = Tokens(clause);
        if (ct.empty()) continue;
        auto has = [&](const std::string& word) { return std::find(ct.begin(), ct.end(), word) != ct.end(); };
        if (ct[0] == "ADD" && ct.size() > 1 && (ct[1] == "FULLTEXT" || ct[1] == "SPATIAL") && !guarded) {
          find("SS301", "a " + ct[1] + " index cannot be built with LOCK=NONE: writes to the table wait for the whole "
                        "build" + (ct[1] == "FULLTEXT" ? " (and the first FULLTEXT index rebuilds the table)" : ""),
               "build it on a copy of the table (a shadow-table rebuild), or at a quiet hour");
        }
        adds_fulltext = adds_fulltext || (ct[0] == "ADD" && ct.size() > 1 && ct[1] == "FULLTEXT");
        if (ct[0] == "ADD" && has("FOREIGN") && fk_checks_ && !guarded) {
          find("SS308", "adding a foreign key while foreign_key_checks is on copies the table (ALGORITHM=COPY): "
                        "writes wait for the whole copy",
               "SET foreign_key_checks = 0 for the session first (then it is INPLACE, with LOCK=NONE; the rows are not "
               "checked), after checking them yourself");
        }
        if (ct[0] == "ADD" && has("CHECK") && !has("FOREIGN") && !guarded) {
          find("SS308", "adding a CHECK constraint copies the table to check every row: writes wait for the whole copy",
               "check the rule in the application, or add it to a new table and move the rows over");
        }
        if (ct[0] == "ADD" && ignore && has("UNIQUE") && !guarded) {
          find("SS308", "ALTER IGNORE with a UNIQUE key copies the table to drop the duplicate rows: writes wait for "
                        "the whole copy",
               "delete the duplicates in batches first, then add the key without IGNORE (built with LOCK=NONE)");
        }
        if (ct[0] == "CONVERT" && !guarded) {
          find("SS308", "CONVERT TO CHARACTER SET copies the whole table, writes waiting",
               "change the columns' character sets one by one where InnoDB can in place, or rebuild the table on a copy");
        }
        if (ct[0] == "ADD" && has("PRIMARY") && has("KEY")) rebuilds.push_back("adding a primary key");
        if (ct[0] == "DROP" && ct.size() > 1 && ct[1] == "PRIMARY" && !adds_primary && !guarded) {
          find("SS308", "dropping the primary key without adding another copies the table: writes wait for the whole "
                        "copy",
               "drop it and add the new one in the same ALTER TABLE (an online rebuild), or rebuild on a copy");
        }
        const bool add_column = ct[0] == "ADD" && ct.size() > 1 &&
                                !(ct[1] == "INDEX" || ct[1] == "KEY" || ct[1] == "UNIQUE" || ct[1] == "PRIMARY" ||
                                  ct[1] == "CONSTRAINT" || ct[1] == "FOREIGN" || ct[1] == "FULLTEXT" ||
                                  ct[1] == "SPATIAL" || ct[1] == "CHECK" || ct[1] == "PERIOD" || ct[1] == "SYSTEM" ||
                                  ct[1] == "PARTITION");
        if (add_column) {
          Skip(w, c, {"ADD"});
          Skip(w, c, {"COLUMN"});
          Skip(w, c, {"IF", "NOT", "EXISTS"});
          const std::string name = NameAt(st.raw, c);
          known.columns[name] = ReadType(w.substr(c, b - c), st.raw.substr(c, b - c));
          const bool stored = (has("STORED") || has("PERSISTENT")) && has("AS");
          const bool expr_default = DefaultCopies(w, st.raw, a, b, known);
          if (!guarded && (stored || has("AUTO_INCREMENT") || expr_default)) {
            find("SS308",
                 "adding column '" + name + "' " +
                     (stored ? "as a stored generated column" : has("AUTO_INCREMENT") ? "with AUTO_INCREMENT"
                                                                                      : "with a DEFAULT evaluated per row") +
                     " gives every row a value by copying the table: writes wait for the whole copy",
                 "add a plain nullable column (INSTANT) and fill it in batches", name);
          } else if (known.fulltext) {
            rebuilds.push_back("adding column '" + name + "'");
          }
        }
        if (ct[0] == "DROP" && ct.size() > 1 && !(ct[1] == "INDEX" || ct[1] == "KEY" || ct[1] == "PRIMARY" ||
                                                  ct[1] == "FOREIGN" || ct[1] == "CONSTRAINT" || ct[1] == "CHECK" ||
                                                  ct[1] == "PARTITION" || ct[1] == "PERIOD" || ct[1] == "SYSTEM")) {
          Skip(w, c, {"DROP"});
          Skip(w, c, {"COLUMN"});
          Skip(w, c, {"IF", "EXISTS"});
          const std::string name = NameAt(st.raw, c);
          known.columns.erase(name);
          if (known.fulltext) rebuilds.push_back("dropping column '" + name + "'");
        }
        if (ct[0] == "MODIFY" || ct[0] == "CHANGE") {
          Skip(w, c, {ct[0]});
          Skip(w, c, {"COLUMN"});
          Skip(w, c, {"IF", "EXISTS"});
          const std::string old_name = NameAt(st.raw, c);
          const std::string new_name = ct[0] == "CHANGE" ? NameAt(st.raw, c) : old_name;
          const MyType to = ReadType(w.substr(c, b - c), st.raw.substr(c, b - c));
          std::optional<MyType> from;
          if (auto col = known.columns.find(old_name); col != known.columns.end()) from = col->second;
          if (from) {
            known.columns.erase(old_name);
            known.columns[new_name] = to;
          }
          auto in_table_charset = [&](MyType t) {
            if (t.charset.empty()) t.charset = known.charset;
            return t;
          };
          const Change change = from ? ChangeOf(in_table_charset(*from), in_table_charset(to)) : Change::kCopy;
          if (change == Change::kRebuild) {
            rebuilds.push_back("making column '" + old_name + "' " + (to.nullable ? "nullable" : "NOT NULL") +
                               (to.nullable ? " (a MODIFY without NOT NULL makes it nullable)" : ""));
          }
          if (guarded || change != Change::kCopy) continue;
          find("SS302",
               from ? "changing column '" + old_name + "' from " + from->Shown() + " to " + to.Shown() +
                          " copies the table (ALGORITHM=COPY): writes wait for the whole copy"
                    : "MODIFY/CHANGE of column '" + old_name + "' copies the table (writes wait) unless the change is "
                      "instant, which lint cannot tell without the column's type (--db or --schema gives it)",
               "say ALGORITHM=INSTANT (refused when it is not), or add a new column and backfill it", old_name);
        }
      }
      for (const char* option : {"FORCE", "ENGINE", "ROW_FORMAT", "KEY_BLOCK_SIZE"}) {
        if (std::find(tokens.begin(), tokens.end(), option) != tokens.end()) rebuilds.push_back(AsciiUpper(option));
      }
      // The server takes ALGORITHM=INSTANT here and copies anyway; only LOCK=NONE makes it refuse.
      if ((HasWords(w, "PARTITION BY") || HasWords(w, "REMOVE PARTITIONING")) && lock != "NONE") {
        find("SS308", "partitioning a table or removing its partitioning copies every row: writes wait for the whole "
                      "copy, even with ALGORITHM=INSTANT written (the server takes it and copies)",
             "build the partitioned table beside it and move the rows online (shardshift's shadow-table rebuild)");
      }
      if (adds_fulltext) known.fulltext = true;
    }
    if (StartsWith(w, "OPTIMIZE TABLE")) rebuilds.push_back("OPTIMIZE TABLE");
    if (!rebuilds.empty() && !no_rebuild) {
      std::string what;
      for (const std::string& r : rebuilds) what += (what.empty() ? "" : ", ") + r;
      if (known.fulltext && !StartsWith(w, "OPTIMIZE TABLE")) {
        if (!guarded) {
          find("SS308", what + " rebuilds the table, and a table with a FULLTEXT index cannot be rebuilt with "
                               "LOCK=NONE: writes wait for the whole rebuild",
               "drop the FULLTEXT index first (LOCK=NONE) and add it back at a quiet hour, or rebuild on a copy");
        }
      } else {
        find("SS303", what + " rebuilds the whole table: online (LOCK=NONE), but it takes as long as a copy, every "
                             "write meanwhile must fit the online log (innodb_online_alter_log_max_size), and "
                             "replicas apply it in one piece, falling behind by as long",
             "a shadow-table rebuild (shardshift's online copy), or at a quiet hour with the replicas' lag watched");
      }
    }
    if (StartsWith(w, "LOCK TABLES") || StartsWith(w, "LOCK TABLE") || HasWords(w, "FLUSH TABLES WITH READ LOCK")) {
      find("SS304", "an explicit table lock blocks every other session until it is released",
           "let each statement take the lock it needs, under a lock_wait_timeout");
    }
    if (StartsWith(w, "DROP TABLE") || StartsWith(w, "RENAME TABLE") ||
        (alter && (HasWords(w, "DROP COLUMN") || HasWords(w, "RENAME COLUMN") || HasWords(w, "RENAME TO")))) {
      // The column after DROP [COLUMN] / RENAME COLUMN, backticks removed.
      std::string column_name;
      for (const char* phrase : {"DROP COLUMN", "RENAME COLUMN"}) {
        const size_t at = w.find(phrase);
        if (at == std::string::npos || !column_name.empty()) continue;
        std::stringstream rest(st.raw.substr(std::min(at + std::string(phrase).size(), st.raw.size())));
        rest >> column_name;
        if (column_name == "IF" || column_name == "if") rest >> column_name >> column_name;  // IF EXISTS
        std::erase(column_name, '`');
        while (!column_name.empty() && (column_name.back() == ',' || column_name.back() == ';')) column_name.pop_back();
      }
      find("SS306", "dropping or renaming breaks the queries that still use the name", "move the application off it first",
           column_name);
    }
  }

  std::map<std::string, MyTable> tables_;  // by bare name
  std::set<std::string> created_;          // tables the file (not the schema dump) created
  std::set<std::string> file_disabled_;
  std::optional<TextIndex> index_;
  std::vector<LintFinding> out_;
  bool timeout_ = false;
  bool warned_ = false;
  bool fk_checks_ = true;  // foreign_key_checks: on unless the file turns it off
};

}  // namespace

std::vector<LintFinding> LintMariadbSql(const std::string& text, const std::string& file, const db::SchemaInfo* live,
                                        const SchemaDump* schema) {
  MariadbLinter linter(live);
  if (schema != nullptr) linter.Learn(schema->text, schema->file);
  return linter.Lint(text, file);
}

}  // namespace shardshift::planner
