#include "plans/plan.h"

#include <charconv>
#include <set>

#include <fmt/format.h>
#include <xxhash.h>
#include <nlohmann/json.hpp>

#include "plans/toml_reader.h"

namespace shardshift::plans {

namespace {
constexpr StepKind kAllStepKinds[] = {
    StepKind::kSql,     StepKind::kCapture,    StepKind::kBackfill, StepKind::kReplay,
    StepKind::kVerify,  StepKind::kCutover,    StepKind::kBuildIndex, StepKind::kReplica,
    StepKind::kHook,    StepKind::kCleanup,    StepKind::kExpandComplete,
};
}  // namespace

std::string_view StepKindName(StepKind kind) {
  switch (kind) {
    case StepKind::kSql: return "sql";
    case StepKind::kCapture: return "capture";
    case StepKind::kBackfill: return "backfill";
    case StepKind::kReplay: return "replay";
    case StepKind::kVerify: return "verify";
    case StepKind::kCutover: return "cutover";
    case StepKind::kBuildIndex: return "build_index";
    case StepKind::kReplica: return "replica";
    case StepKind::kHook: return "hook";
    case StepKind::kCleanup: return "cleanup";
    case StepKind::kExpandComplete: return "expand_complete";
  }
  return "?";
}

std::string TomlQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04X}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {

std::string QuoteKey(std::string_view key) {
  bool bare = !key.empty();
  for (char c : key) {
    bare = bare && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  }
  return bare ? std::string(key) : TomlQuote(key);
}

std::string StringArray(const std::vector<std::string>& items) {
  if (items.empty()) return "[]";
  std::string out = "[\n";
  for (const std::string& s : items) out += "  " + TomlQuote(s) + ",\n";
  return out + "]";
}

// Shortest text that reads back as the same double, for byte-stable output.
std::string FormatDouble(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eE") == std::string::npos && s.find("inf") == std::string::npos &&
      s.find("nan") == std::string::npos) {
    s += ".0";
  }
  return s;
}

}  // namespace

std::optional<Bounds> SettingBounds(const std::string& name) {
  static const std::map<std::string, Bounds> kBounds = {
      {"chunk_rows", {1, 1'000'000}},
      {"target_chunk_ms", {10, 600'000}},
      {"max_rows_per_second", {0, 1'000'000'000}},  // 0: no limit
      {"lock_timeout_ms", {1, 600'000}},            // PostgreSQL's 0 would wait forever
      {"retries", {0, 100}},
      {"parallel_sources", {1, 256}},
      {"hook_timeout_ms", {1, 86'400'000}},
  };
  auto it = kBounds.find(name);
  if (it == kBounds.end()) return std::nullopt;
  return it->second;
}

bool EditableParam(const std::string& name) { return SettingBounds(name).has_value(); }

namespace {
std::string Xxh64(const std::string& text) {
  return fmt::format("xxh64:{:016x}", XXH64(text.data(), text.size(), 0));
}
}  // namespace

std::string StepSeal(const Step& s, size_t index) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : s.params) {
    if (!EditableParam(k)) params[k] = v;
  }
  const nlohmann::json j = {index, s.id, StepKindName(s.kind), s.database, s.online, s.lock, s.sql, s.undo, params};
  return Xxh64(j.dump());
}

std::string PlanSeal(const Plan& plan) {
  const PlanHeader& h = plan.header;
  nlohmann::json steps = nlohmann::json::array();
  for (size_t i = 0; i < plan.steps.size(); ++i) steps.push_back(StepSeal(plan.steps[i], i));
  const nlohmann::json j = {h.format_version, h.name, h.kind, h.spec_hash, h.schema_fingerprints, steps};
  return Xxh64(j.dump());
}

std::string WritePlanToml(const Plan& plan) {
  const PlanHeader& h = plan.header;
  std::string out;
  out += "# shardshift plan: review it, then `shardshift apply` it. Format: docs/plan-format.md\n";
  out += "[plan]\n";
  out += fmt::format("format_version = {}\n", h.format_version);
  out += "name = " + TomlQuote(h.name) + "\n";
  out += "kind = " + TomlQuote(h.kind) + "\n";
  out += "spec_file = " + TomlQuote(h.spec_file) + "\n";
  out += "spec_hash = " + TomlQuote(h.spec_hash) + "\n";
  out += "shardshift_version = " + TomlQuote(h.shardshift_version) + "\n";
  out += "warnings = " + StringArray(h.warnings) + "\n";
  out += "seal = " + TomlQuote(PlanSeal(plan)) + "\n";
  out += "\n[plan.schema_fingerprints]\n";
  for (const auto& [db, fp] : h.schema_fingerprints) out += QuoteKey(db) + " = " + TomlQuote(fp) + "\n";
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& s = plan.steps[i];
    out += "\n[[steps]]\n";
    out += "id = " + TomlQuote(s.id) + "\n";
    out += "kind = " + TomlQuote(StepKindName(s.kind)) + "\n";
    out += "database = " + TomlQuote(s.database) + "\n";
    out += "description = " + TomlQuote(s.description) + "\n";
    out += std::string("online = ") + (s.online ? "true" : "false") + "\n";
    out += "lock = " + TomlQuote(s.lock) + "\n";
    out += "sql = " + StringArray(s.sql) + "\n";
    out += "undo = " + StringArray(s.undo) + "\n";
    out += fmt::format("estimate = {{ rows = {}, bytes = {}, seconds = {} }}\n", s.estimate.rows,
                       s.estimate.bytes, FormatDouble(s.estimate.seconds));
    out += "seal = " + TomlQuote(StepSeal(s, i)) + "\n";
    if (!s.params.empty()) {
      out += "[steps.params]\n";
      for (const auto& [k, v] : s.params) out += QuoteKey(k) + " = " + TomlQuote(v) + "\n";
    }
  }
  return out;
}

Plan ParsePlan(std::string_view text, const std::string& file, bool check_seals) {
  toml::table root = ParseToml(text, file);
  TableReader top(root, file, "");
  top.RejectUnknown({"plan", "steps"});
  TableReader p = top.RequireTable("plan");
  p.RejectUnknown({"format_version", "name", "kind", "spec_file", "spec_hash",
                   "shardshift_version", "warnings", "schema_fingerprints", "seal"});
  Plan plan;
  PlanHeader& h = plan.header;
  h.format_version = static_cast<int>(p.RequireInt("format_version"));
  if (h.format_version != kPlanFormatVersion) {
    throw p.Error("format_version",
                  fmt::format("this shardshift reads plan format version {}, the file says {}; "
                              "re-plan with this version", kPlanFormatVersion, h.format_version));
  }
  h.name = p.RequireString("name");
  h.kind = p.RequireString("kind");
  h.spec_file = p.OptString("spec_file").value_or("");
  h.spec_hash = p.RequireString("spec_hash");
  h.shardshift_version = p.OptString("shardshift_version").value_or("");
  h.warnings = p.OptStringArray("warnings").value_or(std::vector<std::string>{});
  if (auto fps = p.OptTable("schema_fingerprints")) {
    for (const auto& [k, v] : fps->table()) {
      h.schema_fingerprints[std::string(k.str())] = fps->RequireString(k.str());
    }
  }
  std::set<std::string> ids;
  for (const TableReader& s : top.TableArray("steps")) {
    s.RejectUnknown({"id", "kind", "database", "description", "online", "lock", "sql", "undo",
                     "estimate", "params", "seal"});
    Step step;
    step.pos = s.Pos();
    step.id = s.RequireString("id");
    if (step.id.empty()) throw s.Error("id", "must not be empty");
    if (!ids.insert(step.id).second) throw s.Error("id", "step id '" + step.id + "' is used twice");
    std::string kind = s.RequireString("kind");
    bool found = false;
    for (StepKind k : kAllStepKinds) {
      if (StepKindName(k) == kind) {
        step.kind = k;
        found = true;
      }
    }
    if (!found) throw s.Error("kind", "unknown step kind '" + kind + "'");
    step.database = s.RequireString("database");
    step.description = s.OptString("description").value_or("");
    step.online = s.OptBool("online").value_or(true);
    step.lock = s.OptString("lock").value_or("");
    step.sql = s.OptStringArray("sql").value_or(std::vector<std::string>{});
    step.undo = s.OptStringArray("undo").value_or(std::vector<std::string>{});
    if (auto e = s.OptTable("estimate")) {
      e->RejectUnknown({"rows", "bytes", "seconds"});
      step.estimate.rows = e->OptInt("rows").value_or(0);
      step.estimate.bytes = e->OptInt("bytes").value_or(0);
      step.estimate.seconds = e->OptNumber("seconds").value_or(0);
    }
    if (auto params = s.OptTable("params")) {
      for (const auto& [k, v] : params->table()) {
        const std::string name(k.str());
        step.params[name] = params->RequireString(name);
        step.param_pos[name] = params->PosOf(name);
        if (std::optional<Bounds> b = SettingBounds(name)) {  // editable, so checked like a spec's option
          const std::string& text = step.params[name];
          int64_t n = 0;
          const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
          if (ec != std::errc() || end != text.data() + text.size() || n < b->min || n > b->max) {
            throw params->Error(name, fmt::format("must be a whole number from {} to {}, not \"{}\"", b->min, b->max, text));
          }
        }
      }
    }
    if (check_seals) {
      const std::string seal = s.RequireString("seal");
      if (seal != StepSeal(step, plan.steps.size())) {
        throw s.Error("seal", fmt::format("step '{}' is not the step `shardshift plan` wrote at this place (edited, "
                                          "moved, or a step before it removed or added): a plan runs only as "
                                          "planned; change the spec and run `shardshift plan` again (only the "
                                          "settings docs/plan-format.md lists may be edited)", step.id));
      }
    }
    plan.steps.push_back(std::move(step));
  }
  if (check_seals && p.RequireString("seal") != PlanSeal(plan)) {
    throw p.Error("seal", "the plan is not what `shardshift plan` wrote: its name, kind, spec hash or schema "
                          "fingerprints were edited, or steps were removed from its end; run `shardshift plan` again");
  }
  return plan;
}

Plan LoadPlan(const std::string& path) { return ParsePlan(ReadFileText(path), path); }

nlohmann::json PlanToJson(const Plan& plan) {
  const PlanHeader& h = plan.header;
  nlohmann::json steps = nlohmann::json::array();
  for (const Step& s : plan.steps) {
    steps.push_back({
        {"id", s.id},
        {"kind", StepKindName(s.kind)},
        {"database", s.database},
        {"description", s.description},
        {"online", s.online},
        {"lock", s.lock},
        {"sql", s.sql},
        {"undo", s.undo},
        {"estimate", {{"rows", s.estimate.rows}, {"bytes", s.estimate.bytes},
                      {"seconds", s.estimate.seconds}}},
        {"params", s.params},
    });
  }
  return {
      {"plan", {{"format_version", h.format_version}, {"name", h.name}, {"kind", h.kind},
                {"spec_file", h.spec_file}, {"spec_hash", h.spec_hash},
                {"shardshift_version", h.shardshift_version}, {"warnings", h.warnings},
                {"schema_fingerprints", h.schema_fingerprints}}},
      {"steps", steps},
  };
}

std::string StepParam(const Step& step, const std::string& name, const std::string& fallback) {
  auto it = step.params.find(name);
  return it == step.params.end() ? fallback : it->second;
}

std::vector<std::string> StepParamList(const Step& step, const std::string& name) {
  const std::string text = StepParam(step, name);
  if (text.empty() || text.front() != '[') return {};
  return nlohmann::json::parse(text).get<std::vector<std::string>>();
}

std::string HumanBytes(int64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string RenderPlanText(const Plan& plan) {
  const PlanHeader& h = plan.header;
  std::string out = fmt::format("plan {} ({}), {} step(s)\n", h.name, h.kind, plan.steps.size());
  out += fmt::format("  spec {} {}\n", h.spec_file.empty() ? "-" : h.spec_file, h.spec_hash);
  for (const auto& [db, fp] : h.schema_fingerprints) out += fmt::format("  planned against {} {}\n", db, fp);
  for (const std::string& w : h.warnings) out += "  warning: " + w + "\n";
  int n = 0;
  for (const Step& s : plan.steps) {
    out += fmt::format("\n{:>3}. {} [{}] on {}{}\n", ++n, s.id, StepKindName(s.kind), s.database,
                       s.online ? "" : "  (OFFLINE: blocks the application)");
    if (!s.description.empty()) out += "     " + s.description + "\n";
    out += fmt::format("     lock: {}   estimate: {} rows, {}, {:.1f} s\n",
                       s.lock.empty() ? "none" : s.lock, s.estimate.rows,
                       HumanBytes(s.estimate.bytes), s.estimate.seconds);
    for (const std::string& q : s.sql) out += "     sql:  " + q + "\n";
    for (const std::string& u : s.undo) out += "     undo: " + u + "\n";
  }
  return out;
}

}  // namespace shardshift::plans
