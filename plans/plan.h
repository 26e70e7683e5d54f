// The plan: what will happen, written by the planner, read by `show` and `apply`.
// Format: docs/plan-format.md. Writing is deterministic: the same Plan gives the same bytes, so a
// plan can be reviewed as a diff and re-planning unchanged databases changes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "plans/input_error.h"

namespace shardshift::plans {

// 2: plans are sealed (a `seal` on [plan] and on every step; see docs/plan-format.md).
inline constexpr int kPlanFormatVersion = 2;

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
  // Where ParsePlan read the step and each parameter, for messages (empty for a plan made in memory).
  SourcePos pos;
  std::map<std::string, SourcePos> param_pos;
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
// Throws InputError (file, line, column, field) on anything malformed or unknown, and on a plan
// edited after `plan` wrote it beyond the settings that may be edited (EditableParam): each step's
// seal covers its place, kind, database, statements, undo and other parameters, and the header's
// the plan's name, kind, spec hash, schema fingerprints and every step's seal. check_seals = false
// reads an edited plan anyway (lint, which reviews whatever it is given).
Plan ParsePlan(std::string_view text, const std::string& file, bool check_seals = true);
Plan LoadPlan(const std::string& path);

nlohmann::json PlanToJson(const Plan& plan);
// A human summary for `shardshift show`.
std::string RenderPlanText(const Plan& plan);

// The step parameters a reviewer may change in a plan file without re-planning: how fast and how
// patiently it runs, not what runs or where (chunk_rows, target_chunk_ms, max_rows_per_second,
// lock_timeout_ms, retries, parallel_sources, hook_timeout_ms).
bool EditableParam(const std::string& name);
// The range an editable setting may take (in a spec's [options], a hook's timeout and a plan's
// params alike), or nullopt for a name that is not one.
struct Bounds {
  int64_t min;
  int64_t max;
};
std::optional<Bounds> SettingBounds(const std::string& name);
// "xxh64:" + 16 hex digits: a step's seal (index: its place in the plan), and the plan's.
std::string StepSeal(const Step& step, size_t index);
std::string PlanSeal(const Plan& plan);

// A step's parameter, or fallback when it has none.
std::string StepParam(const Step& step, const std::string& name, const std::string& fallback = "");
// A parameter holding a JSON array of strings ("targets", "sources", "databases"); empty when absent.
std::vector<std::string> StepParamList(const Step& step, const std::string& name);

// Bytes for a human: "512 B", "32.8 MiB".
std::string HumanBytes(int64_t bytes);

// Quotes a string as a TOML basic string, escaping what TOML requires.
std::string TomlQuote(std::string_view s);

}  // namespace shardshift::plans
