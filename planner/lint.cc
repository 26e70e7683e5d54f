#include "planner/lint.h"

#include <fmt/format.h>
#include <pg_query.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "planner/ascii.h"
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
    {"SS307", "copy-or-lock-written", "error"},
    {"SS308", "operation-copies-table", "error"},
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
                                           "SS137", "SS301", "SS302", "SS303", "SS304", "SS308"};


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

std::set<std::string> DisabledAround(const std::string& text, size_t start, size_t end) {
  const size_t line_before = start < 2 ? std::string::npos : text.rfind('\n', start - 2);
  const size_t from = line_before == std::string::npos ? 0 : line_before;
  const size_t line_end = text.find('\n', end);
  const size_t to = line_end == std::string::npos ? text.size() : line_end;
  return Disabled(text.substr(from, to - from), "disable");
}

}  // namespace lint_detail

using lint_detail::Disabled;
using lint_detail::Rule;

const std::vector<LintRule>& LintRules() { return kRules; }

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

// "app.users", "public.users", "users" -> "users".
std::string BareName(const std::string& table) {
  const size_t dot = table.rfind('.');
  return AsciiLower(dot == std::string::npos ? table : table.substr(dot + 1));
}

// Does text hold word as a whole identifier (not part of a longer one)?
bool HasIdentifier(const std::string& text, const std::string& word) {
  const std::string t = AsciiLower(text);
  const std::string w = AsciiLower(word);
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
