#include "planner/lint.h"

#include <fmt/format.h>
#include <pg_query.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "planner/lint_internal.h"
#include "planner/lint_text.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {

using nlohmann::json;

const std::vector<LintRule> kRules = {
    {"SS101", "create-index-not-concurrently", "error"},
    {"SS102", "drop-index-not-concurrently", "error"},
    {"SS103", "add-not-null-column-without-default", "error"},
    {"SS104", "add-column-with-volatile-default", "error"},
    {"SS105", "change-column-type", "error"},
    {"SS106", "add-constraint-without-not-valid", "error"},
    {"SS107", "add-unique-or-primary-key-without-index", "error"},
    {"SS108", "drop-column-or-table", "warning"},
    {"SS109", "rename-column-or-table", "warning"},
    {"SS110", "table-rewrite-command", "error"},
    {"SS111", "explicit-lock-table", "error"},
    {"SS112", "ddl-without-lock-timeout", "warning"},
    {"SS113", "concurrently-in-transaction", "error"},
    {"SS114", "validate-in-adding-transaction", "error"},
    {"SS115", "several-exclusive-locks-in-transaction", "warning"},
    {"SS116", "new-enum-value-used-in-transaction", "error"},
    {"SS117", "whole-table-update-with-alter", "error"},
    {"SS118", "transaction-nesting", "error"},
    {"SS119", "uncommitted-transaction", "error"},
    {"SS120", "set-not-null", "error"},
    {"SS121", "add-stored-generated-column", "error"},
    {"SS122", "add-column-references", "error"},
    {"SS123", "alter-domain-add-constraint", "error"},
    {"SS124", "detach-partition-not-concurrently", "error"},
    {"SS125", "reindex-not-concurrently", "error"},
    {"SS126", "add-auto-increment-column", "error"},
    {"SS127", "add-exclusion-constraint", "error"},
    {"SS128", "domain-with-constraint", "warning"},
    {"SS129", "ddl-in-do-block", "warning"},
    {"SS130", "drop-database", "error"},
    {"SS131", "truncate", "error"},
    {"SS132", "drop-not-null", "warning"},
    {"SS133", "rename-enum-value", "warning"},
    {"SS134", "rename-schema", "warning"},
    {"SS135", "set-local-outside-transaction", "warning"},
    {"SS136", "drop-default", "warning"},
    {"SS137", "type-change-may-rewrite", "warning"},
    {"SS140", "prefer-bigint", "warning"},
    {"SS141", "prefer-identity", "warning"},
    {"SS142", "prefer-text", "warning"},
    {"SS143", "prefer-timestamptz", "warning"},
    {"SS144", "ban-char", "warning"},
    {"SS145", "identifier-too-long", "warning"},
    {"SS146", "prefer-robust-concurrent-index", "warning"},
    {"SS147", "prefer-jsonb", "warning"},
    {"SS100", "psql-line-skipped", "note"},
    {"SS301", "index-change-not-online", "error"},
    {"SS302", "column-type-change", "error"},
    {"SS303", "table-rebuild", "error"},
    {"SS304", "explicit-table-lock", "error"},
    {"SS305", "ddl-without-lock-wait-timeout", "warning"},
    {"SS306", "drop-or-rename", "warning"},
    {"SS201", "cutover-without-verify", "error"},
    {"SS202", "step-without-undo", "warning"},
    {"SS211", "long-lock-timeout", "warning"},
    {"SS212", "long-during-cutover-hook", "warning"},
    {"SS213", "contract-drops-columns", "warning"},
    {"SS214", "shadow-rebuild", "warning"},
    {"SS215", "single-synchronous-replica", "warning"},
    {"SS216", "unfenced-sources", "warning"},
};

// The rules whose harm grows with the table: --db grades them by its size.
const std::set<std::string> kSizeGraded = {"SS101", "SS103", "SS104", "SS105", "SS106", "SS107", "SS110",
                                           "SS111", "SS120", "SS121", "SS124", "SS125", "SS126", "SS127",
                                           "SS137", "SS301", "SS302", "SS303", "SS304"};


}  // namespace

namespace lint_detail {

const LintRule& Rule(const std::string& id) {
  for (const LintRule& r : kRules) {
    if (r.id == id) return r;
  }
  return kRules.front();
}

bool SizeGraded(const std::string& id) { return kSizeGraded.count(id) > 0; }

// The first byte of a statement's own text: past the whitespace and comments before it.
size_t StatementStart(const std::string& text, size_t from, size_t to) {
  size_t i = from;
  while (i < to) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    } else if (text.compare(i, 2, "--") == 0) {
      while (i < to && text[i] != '\n') ++i;
    } else if (text.compare(i, 2, "/*") == 0) {
      const size_t end = text.find("*/", i + 2);
      i = end == std::string::npos ? to : end + 2;
    } else {
      break;
    }
  }
  return i;
}

// Rule ids disabled by `shardshift-lint: <directive> A, B` comments in text.
std::set<std::string> Disabled(const std::string& text, const std::string& directive) {
  std::set<std::string> out;
  const std::string marker = "shardshift-lint: " + directive + " ";
  for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
    const size_t end = text.find('\n', at);
    std::stringstream ids(text.substr(at + marker.size(), end == std::string::npos
                                                              ? std::string::npos
                                                              : end - at - marker.size()));
    for (std::string id; std::getline(ids, id, ',');) {
      id.erase(std::remove_if(id.begin(), id.end(),
                              [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
               id.end());
      if (!id.empty()) out.insert(id);
    }
  }
  return out;
}

}  // namespace lint_detail

using lint_detail::Disabled;
using lint_detail::Rule;

const std::vector<LintRule>& LintRules() { return kRules; }

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
      tokens.size() > 1 && (upper(tokens[1]) == "INDEX" || upper(tokens[1]) == "UNIQUE" ||
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

std::vector<LintFinding> LintMariadbSql(const std::string& text, const std::string& file) {
  std::vector<LintFinding> out;
  const std::set<std::string> file_disabled = Disabled(text, "disable-file");
  const TextIndex index(text);
  bool timeout = false;
  bool warned = false;
  CheckIsText(text, file);
  for (const MyStatement& st : SplitMariadb(text, file)) {
    const std::string& w = st.words;
    const auto [line, column] = index.Position(st.start);
    const size_t line_before = st.start < 2 ? std::string::npos : text.rfind('\n', st.start - 2);
    const size_t context_from = line_before == std::string::npos ? 0 : line_before;
    const size_t end = text.find('\n', st.start + st.raw.size());
    const std::set<std::string> disabled = Disabled(
        text.substr(context_from, (end == std::string::npos ? text.size() : end) - context_from),
        "disable");
    const std::string table = MariadbStatementTable(st.raw);
    auto find = [&](const std::string& id, const std::string& message, const std::string& fix,
                    const std::string& column_name = "") {
      if (disabled.count(id) || file_disabled.count(id)) return;
      const LintRule& r = Rule(id);
      out.push_back(
          {r.id, r.name, r.severity, file, line, column, message, fix, table, column_name});
    };
    const bool alter = StartsWith(w, "ALTER TABLE");
    const bool ddl = alter || StartsWith(w, "CREATE INDEX") || StartsWith(w, "CREATE UNIQUE") ||
                     StartsWith(w, "DROP INDEX") || StartsWith(w, "DROP TABLE") ||
                     StartsWith(w, "RENAME TABLE") || StartsWith(w, "OPTIMIZE TABLE");
    if (HasWords(w, "SET") && w.find("LOCK_WAIT_TIMEOUT") != std::string::npos) timeout = true;
    if (ddl && !timeout && !warned) {
      warned = true;
      find("SS305",
           "DDL with no lock_wait_timeout set: while it waits for the metadata lock, every query "
           "on the "
           "table queues behind it",
           "SET SESSION lock_wait_timeout = 5; at the top of the file");
    }
    const bool online = HasWords(w, "LOCK=NONE") || HasWords(w, "LOCK = NONE");
    const bool index_change = StartsWith(w, "CREATE INDEX") || StartsWith(w, "CREATE UNIQUE") ||
                              StartsWith(w, "DROP INDEX") ||
                              (alter && (HasWords(w, "ADD INDEX") || HasWords(w, "ADD KEY") ||
                                         HasWords(w, "ADD UNIQUE") || HasWords(w, "DROP INDEX") ||
                                         HasWords(w, "DROP KEY")));
    if (index_change && !online) {
      find("SS301", "an index change without LOCK=NONE may block writes for the whole build",
           "ALTER TABLE … ADD INDEX …, ALGORITHM=INPLACE, LOCK=NONE (refused, rather than "
           "blocking, where the "
           "engine cannot), or a create_index spec");
    }
    if (alter && (HasWords(w, "MODIFY") || HasWords(w, "CHANGE"))) {
      find("SS302",
           "MODIFY/CHANGE COLUMN rebuilds the table (ALGORITHM=COPY, writes blocked) unless the "
           "change is "
           "instant",
           "say ALGORITHM=INSTANT (refused when it is not), or add a new column and backfill it");
    }
    if (StartsWith(w, "OPTIMIZE TABLE") ||
        (alter && (HasWords(w, "FORCE") || HasWords(w, "ENGINE") ||
                   w.find(" ENGINE=") != std::string::npos))) {
      find("SS303", "this rebuilds the whole table",
           "a shadow-table rebuild (create_index build = \"shadow\"), or "
           "ALGORITHM=INPLACE, LOCK=NONE where InnoDB can");
    }
    if (StartsWith(w, "LOCK TABLES") || StartsWith(w, "LOCK TABLE") ||
        HasWords(w, "FLUSH TABLES WITH READ LOCK")) {
      find("SS304", "an explicit table lock blocks every other session until it is released",
           "let each statement take the lock it needs, under a lock_wait_timeout");
    }
    if (StartsWith(w, "DROP TABLE") || StartsWith(w, "RENAME TABLE") ||
        (alter && (HasWords(w, "DROP COLUMN") || HasWords(w, "RENAME COLUMN") ||
                   HasWords(w, "RENAME TO")))) {
      // The column after DROP [COLUMN] / RENAME COLUMN, backticks removed.
      std::string column_name;
      for (const char* phrase : {"DROP COLUMN", "RENAME COLUMN"}) {
        const size_t at = w.find(phrase);
        if (at == std::string::npos || !column_name.empty()) continue;
        std::stringstream rest(
            st.raw.substr(std::min(at + std::string(phrase).size(), st.raw.size())));
        rest >> column_name;
        if (column_name == "IF" || column_name == "if")
          rest >> column_name >> column_name;  // IF EXISTS
        std::erase(column_name, '`');
        while (!column_name.empty() && (column_name.back() == ',' || column_name.back() == ';'))
          column_name.pop_back();
      }
      find("SS306", "dropping or renaming breaks the queries that still use the name",
           "move the application off it first", column_name);
    }
  }
  return out;
}

std::vector<LintFinding> LintPlan(const plans::Plan& plan, const std::string& text,
                                  const std::string& file) {
  std::vector<LintFinding> out;
  const TextIndex index(text);
  auto line_of = [&](const std::string& id) {
    const size_t at = text.find("id = " + plans::TomlQuote(id));
    return at == std::string::npos ? 1 : index.Position(at).first;
  };
  auto find = [&](const std::string& rule, const plans::Step& step, const std::string& message,
                  const std::string& fix) {
    const LintRule& r = Rule(rule);
    out.push_back({r.id, r.name, r.severity, file, line_of(step.id), 1, message, fix, "", ""});
  };
  bool verified = false;
  for (const plans::Step& step : plan.steps) {
    if (step.kind == plans::StepKind::kVerify) verified = true;
    if (step.kind == plans::StepKind::kCutover && !verified) {
      find("SS201", step,
           "step " + step.id +
               " cuts over with no verification before it: a difference would be "
               "published",
           "plan a verify step before the cutover (shardshift plans always do; was the "
           "plan edited?)");
    }
    const bool changes =
        step.kind == plans::StepKind::kSql || step.kind == plans::StepKind::kCapture ||
        step.kind == plans::StepKind::kBackfill || step.kind == plans::StepKind::kCutover ||
        step.kind == plans::StepKind::kBuildIndex;
    if (changes && step.undo.empty()) {
      find("SS202", step,
           "step " + step.id + " changes " + step.database + " and says no way to undo it",
           "give the step an undo (statements or instructions) before it runs against production");
    }
  }
  return out;
}

std::vector<LintFinding> LintSpec(const plans::Spec& spec, const std::string& text,
                                  const std::string& file) {
  std::vector<LintFinding> out;
  const std::set<std::string> file_disabled = Disabled(text, "disable-file");
  const TextIndex index(text);
  // The line of the first `key =` (a spec's options and hooks are written once).
  auto line_of = [&](const std::string& key) {
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
      const size_t eq = text.find_first_not_of(" \t", at + key.size());
      if ((at == 0 ||
           (!std::isalnum(static_cast<unsigned char>(text[at - 1])) && text[at - 1] != '_')) &&
          eq != std::string::npos && text[eq] == '=') {
        return index.Position(at).first;
      }
    }
    return 1;
  };
  auto find = [&](const std::string& id, int line, const std::string& message,
                  const std::string& fix) {
    if (file_disabled.count(id)) return;
    const LintRule& r = Rule(id);
    out.push_back({r.id, r.name, r.severity, file, line, 1, message, fix, "", ""});
  };
  constexpr int64_t kLongLockTimeoutMs = 10000;
  constexpr int64_t kLongHookMs = 5000;
  if (spec.options.lock_timeout_ms > kLongLockTimeoutMs) {
    find("SS211", line_of("lock_timeout_ms"),
         fmt::format("lock_timeout_ms = {}: a statement waiting that long for its lock queues the "
                     "application's "
                     "queries on the table behind it",
                     spec.options.lock_timeout_ms),
         "keep it at a few seconds (the default is 2000); shardshift retries a statement that "
         "times out");
  }
  if (!spec.hooks.during_cutover.empty() && spec.hooks.timeout_ms > kLongHookMs) {
    find("SS212", line_of("timeout_ms"),
         fmt::format("the during_cutover hook may hold writes blocked for up to {} ms",
                     spec.hooks.timeout_ms),
         "keep during_cutover short (a config reload), with timeout_ms at a few seconds; do slow "
         "work in "
         "before_cutover or after_cutover");
  }
  if (!spec.options.fence && (spec.reshard || spec.vertical_split)) {
    find("SS216", line_of("fence"),
         "fence = false: after the cutover the sources keep taking writes; an application instance "
         "that switches late writes where no one carries its rows over (status reports them as late "
         "writes, apply --cleanup refuses to drop them)",
         "leave the fence on (the default) unless your proxy refuses writes to the old shards at the "
         "cutover, in the during_cutover hook");
  }
  if (spec.vertical_split && spec.vertical_split->contract) {
    find("SS213", line_of("contract"),
         "contract = true drops the moved columns from " + spec.vertical_split->table +
             ": a query that still names them fails",
         "apply the expand phase (--until expand-complete), deploy the application reading the new "
         "tables, then "
         "set contract = true");
  }
  if (spec.create_index) {
    for (const plans::IndexSpec& index : spec.create_index->indexes) {
      if (index.build == "shadow") {
        find("SS214", index.pos.line > 0 ? index.pos.line : line_of("build"),
             "index " + index.name + " is built by copying the whole of " + index.table +
                 " into a new table (twice its space while it runs) and swapping them",
             "build = \"auto\" builds online where the engine can and rebuilds only where it "
             "cannot");
      }
    }
  }
  if (spec.replica) {
    int sync = 0;
    const plans::ReplicaTarget* first = nullptr;
    for (const plans::ReplicaTarget& r : spec.replica->replicas) {
      if (r.mode == "sync") {
        ++sync;
        if (!first) first = &r;
      }
    }
    if (sync == 1) {
      find("SS215", first->pos.line > 0 ? first->pos.line : line_of("mode"),
           "one synchronous replica (" + first->database.name +
               "): while it is down or behind, every commit on " + spec.replica->primary.name +
               " waits",
           "name at least two sync replicas (any one acknowledges), or use mode = \"async\" with "
           "lag checks");
    }
  }
  return out;
}

void ApplyLintSettings(std::vector<LintFinding>& findings, const plans::LintSettings& settings) {
  auto known = [](const std::string& id, const plans::SourcePos& pos) {
    for (const LintRule& r : kRules) {
      if (r.id == id) return;
    }
    throw plans::InputError(pos, "", "unknown lint rule '" + id + "' (docs/lint.md lists them)");
  };
  std::set<std::string> disabled;
  for (const auto& [id, pos] : settings.disable) {
    known(id, pos);
    disabled.insert(id);
  }
  for (const auto& [id, level, pos] : settings.severity) known(id, pos);
  std::erase_if(findings, [&](const LintFinding& f) { return disabled.count(f.rule) > 0; });
  for (LintFinding& f : findings) {
    for (const auto& [id, level, pos] : settings.severity) {
      if (f.rule == id) f.severity = level;
    }
  }
}

void GradeByTableSize(std::vector<LintFinding>& findings, const db::SchemaInfo& schema,
                      const std::string& database, int64_t small_bytes) {
  for (LintFinding& f : findings) {
    if (f.table.empty() || !kSizeGraded.count(f.rule)) continue;
    const db::TableInfo* t = schema.FindWritten(f.table);
    if (!t) {
      f.severity = "warning";
      f.message +=
          " (" + f.table + " does not exist on " + database + " yet: nothing waits on a new table)";
      continue;
    }
    const int64_t bytes = t->total_bytes >= 0 ? t->total_bytes : t->data_bytes;
    const std::string size =
        fmt::format("{} is {}, ~{} rows on {}", f.table, plans::HumanBytes(bytes),
                    std::max<int64_t>(t->row_estimate, 0), database);
    if (bytes >= 0 && bytes < small_bytes) {
      f.severity = "warning";
      f.message += " (" + size + ": small enough that the lock is brief)";
    } else {
      f.severity = "error";
      f.message += " (" + size + ")";
    }
  }
}

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "app.users", "public.users", "users" -> "users".
std::string BareName(const std::string& table) {
  const size_t dot = table.rfind('.');
  return Lower(dot == std::string::npos ? table : table.substr(dot + 1));
}

// Does text hold word as a whole identifier (not part of a longer one)?
bool HasIdentifier(const std::string& text, const std::string& word) {
  const std::string t = Lower(text);
  const std::string w = Lower(word);
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t at = t.find(w); at != std::string::npos; at = t.find(w, at + 1)) {
    if ((at == 0 || !ident(t[at - 1])) && (at + w.size() >= t.size() || !ident(t[at + w.size()])))
      return true;
  }
  return false;
}

}  // namespace

void GradeByWorkload(std::vector<LintFinding>& findings, const Workload& workload,
                     const std::string& database) {
  static const std::set<std::string> kInUse = {"SS108", "SS109", "SS306"};
  for (LintFinding& f : findings) {
    if (!kInUse.count(f.rule) || f.table.empty()) continue;
    if (!workload.known) {
      f.message +=
          " (cannot tell whether it is still in use on " + database + ": " + workload.note + ")";
      continue;
    }
    const std::string table = BareName(f.table);
    int statements = 0;
    int64_t calls = 0;
    std::string example;
    for (const WorkloadStatement& s : workload.statements) {
      bool uses = false;
      for (const TableUse& use : s.shape.tables) {
        if (BareName(use.table) != table) continue;
        // The whole table; or the column, wherever the statement names it (filters, joins, sorts,
        // the select list, SET and INSERT lists) or selects every column.
        uses = f.dropped_column.empty() || HasIdentifier(s.sql, f.dropped_column) ||
               std::find(use.selected.begin(), use.selected.end(), "*") != use.selected.end();
        if (uses) break;
      }
      if (!uses) continue;
      ++statements;
      calls += s.calls;
      if (example.empty()) example = s.sql.size() > 120 ? s.sql.substr(0, 117) + "..." : s.sql;
    }
    const std::string what = f.dropped_column.empty() ? f.table : f.table + "." + f.dropped_column;
    if (statements > 0) {
      f.severity = "error";
      f.message += fmt::format(
          " ({} is still in use on {}: {} statement(s), {} call(s) in the workload, e.g. `{}`)",
          what, database, statements, calls, example);
    } else {
      f.message += " (no statement in " + database + "'s workload uses " + what + ")";
    }
  }
}

}  // namespace shardshift::planner
