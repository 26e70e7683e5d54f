// The plan: what will happen, written by the planner, read by `show` and `apply`.
// Format: docs/plan-format.md. Writing is deterministic: the same Plan gives the same bytes, so a
// plan can be reviewed as a diff and re-planning unchanged databases changes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace shardshift::plans {

inline constexpr int kPlanFormatVersion = 1;

enum class StepKind {
  kSql,
  kCapture,
  kBackfill,
  kReplay,
  kVerify,
  kCutover,
  kBuildIndex,
  kReplica,
  kHook,
  kCleanup,
  kExpandComplete,  // a vertical split's switch point: the new tables are complete and kept current
};
std::string_view StepKindName(StepKind kind);

struct Estimate {
  int64_t rows = 0;
  int64_t bytes = 0;
  double seconds = 0;
};

struct Step {
  std::string id;           // unique within the plan, stable across re-planning ("backfill.src_a")
  StepKind kind = StepKind::kSql;
  std::string database;     // the database it touches, by config name
  std::string description;  // one line for a human
  std::vector<std::string> sql;   // the exact statements it runs, where it runs SQL
  bool online = true;       // the application keeps reading and writing while it runs
  std::string lock;         // the strongest lock it takes, in the engine's words; "" = none
  Estimate estimate;
  std::vector<std::string> undo;  // how to undo it: statements or instructions
  std::map<std::string, std::string> params;  // kind-specific settings, documented per kind
};

struct PlanHeader {
  int format_version = kPlanFormatVersion;
  std::string name;
  std::string kind;               // the spec's kind
  std::string spec_file;          // as given to `plan`
  std::string spec_hash;          // plans::SpecHash
  std::string shardshift_version;
  // database name -> fingerprint of the schema it had when planned (db::Fingerprint)
  std::map<std::string, std::string> schema_fingerprints;
  std::vector<std::string> warnings;
};

struct Plan {
  PlanHeader header;
  std::vector<Step> steps;
};

std::string WritePlanToml(const Plan& plan);
// Throws InputError (file, line, column, field) on anything malformed or unknown.
Plan ParsePlan(std::string_view text, const std::string& file);
Plan LoadPlan(const std::string& path);

nlohmann::json PlanToJson(const Plan& plan);
// A human summary for `shardshift show`.
std::string RenderPlanText(const Plan& plan);

// A step's parameter, or fallback when it has none.
std::string StepParam(const Step& step, const std::string& name, const std::string& fallback = "");
// A parameter holding a JSON array of strings ("targets", "sources", "databases"); empty when absent.
std::vector<std::string> StepParamList(const Step& step, const std::string& name);

// Bytes for a human: "512 B", "32.8 MiB".
std::string HumanBytes(int64_t bytes);

// Quotes a string as a TOML basic string, escaping what TOML requires.
std::string TomlQuote(std::string_view s);

}  // namespace shardshift::plans
