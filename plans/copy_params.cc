#include "plans/copy_params.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "plans/input_error.h"
#include "plans/step_params.h"

namespace shardshift::plans {

namespace {

std::optional<std::vector<std::string>> Bound(const nlohmann::json& b) {
  if (b.is_null()) return std::nullopt;
  return b.get<std::vector<std::string>>();
}

CutoverParams ReadCutover(const StepParams& p) {
  CutoverParams c;
  c.id = p.step().id;
  c.fence = p.Text("fence") == "true";
  c.fence_sources = p.List("fence_sources");
  c.unfence_sources = p.List("unfence_sources");
  c.source_fence_triggers = p.List("source_fence_triggers");
  c.target_block_sql = p.Text("target_block_sql");
  c.fence_targets = p.List("fence_targets");
  c.unfence_targets = p.List("unfence_targets");
  c.target_fence_triggers = p.List("target_fence_triggers");
  c.reverse_changelog = p.Text("reverse_changelog");
  c.source_gate_state = p.Text("source_gate_state");
  c.target_gate_state = p.Text("target_gate_state");
  c.target_sides = p.Read("target_sides", "[]", [](const nlohmann::json& j) {
    std::vector<TargetSideParams> out;
    for (const nlohmann::json& s : j) {
      TargetSideParams side{s.at("database").get<std::string>(), s.at("block_sql").get<std::string>(),
                            s.at("fence").get<std::vector<std::string>>(),
                            s.at("unfence").get<std::vector<std::string>>(), {}};
      for (const nlohmann::json& t : s.at("triggers")) {
        side.triggers.emplace_back(t.at(0).get<std::string>(), t.at(1).get<std::string>());
      }
      out.push_back(std::move(side));
    }
    return out;
  });
  c.way_back = p.Read("way_back", "[]", [](const nlohmann::json& j) {
    std::vector<WayBackParams> out;
    for (const nlohmann::json& w : j) {
      out.push_back({w.at("database").get<std::string>(), w.at("table").get<std::string>(),
                     w.at("changelog").get<std::string>()});
    }
    return out;
  });
  for (const char* hook : {"before_cutover", "during_cutover", "after_cutover"}) {
    if (p.Has(std::string("hook.") + hook)) c.hooks[hook] = p.Text(std::string("hook.") + hook);
  }
  if (c.fence && (c.fence_sources.empty() || c.source_fence_triggers.empty())) {
    throw p.Error("fence", "says true but the step lacks its fence statements (fence_sources, source_fence_triggers)");
  }
  for (const TargetSideParams& side : c.target_sides) {
    if (c.fence && !side.unfence.empty() && side.block_sql.empty()) {
      throw p.Error("target_sides", "a side that is unfenced at the switch has no statement to block its writes");
    }
  }
  if (c.fence && !c.unfence_targets.empty() && c.target_block_sql.empty()) {
    throw p.Error("target_block_sql", "is missing, and the targets are unfenced at the cutover");
  }
  return c;
}

}  // namespace

Pace ReadPace(const Plan& plan) {
  Pace pace;
  // One value for the plan, on whichever steps carry it.
  struct Setting {
    const char* name;
    int64_t* value;
    const Step* from = nullptr;
  };
  std::vector<Setting> settings = {
      {"chunk_rows", &pace.chunk_rows},           {"target_chunk_ms", &pace.target_chunk_ms},
      {"max_rows_per_second", &pace.max_rows_per_second}, {"parallel_sources", &pace.parallel_sources},
      {"lock_timeout_ms", &pace.lock_timeout_ms}, {"retries", &pace.retries},
      {"hook_timeout_ms", &pace.hook_timeout_ms},
  };
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& s = plan.steps[i];
    const StepParams sp(s, i);
    for (Setting& setting : settings) {
      if (!sp.Has(setting.name)) continue;
      const int64_t v = sp.Number(setting.name, 0);
      if (setting.from == nullptr) {
        *setting.value = v;
        setting.from = &s;
      } else if (v != *setting.value) {
        throw sp.Error(setting.name,
                       fmt::format("is {} but step '{}' says {}: this setting is one for the whole plan, on every "
                                   "step that carries it; give them all the same value (or change the spec's "
                                   "[options] and plan again)",
                                   v, setting.from->id, *setting.value));
      }
    }
  }
  return pace;
}

CopyParams ReadCopyParams(const Plan& plan) {
  const std::string& kind = plan.header.kind;
  if (kind != "reshard" && kind != "vertical_split" && kind != "shadow_rebuild") {
    throw InputError({}, "plan.kind",
                     "plan '" + plan.header.name + "' is a " + kind + " plan, not a reshard, vertical_split or "
                     "shadow_rebuild plan");
  }
  // The plan's common parameters, from its first step that has them (every step of the copy
  // carries the same).
  const Step* first = nullptr;
  size_t first_index = 0;
  for (size_t i = 0; i < plan.steps.size() && first == nullptr; ++i) {
    if (plan.steps[i].params.count("table")) {
      first = &plan.steps[i];
      first_index = i;
    }
  }
  if (first == nullptr) {
    throw InputError({}, "steps", "plan '" + plan.header.name + "' has no step with the copy's parameters (table, "
                                  "sources, targets, key): it is not a plan `shardshift plan` wrote");
  }
  const StepParams p(*first, first_index);
  CopyParams c;
  c.table = p.Required("table");
  c.target_table = p.Text("target_table", c.table);
  c.sources = p.List("sources", "");
  c.targets = p.List("targets", "");
  c.key = p.List("key", "");
  c.shard_by = p.Has("shard_by") ? p.List("shard_by") : c.key;
  c.columns = p.List("columns", "");
  c.row_filter = p.Text("row_filter", "");
  if (c.sources.empty()) throw p.Error("sources", "names no source database");
  if (c.key.empty()) throw p.Error("key", "names no key column");
  c.outputs = p.Read("outputs", "[]", [](const nlohmann::json& j) {
    std::vector<CopyOutput> out;
    for (const nlohmann::json& o : j) {
      out.push_back({o.at("database").get<std::string>(), o.at("table").get<std::string>(),
                     o.at("columns").get<std::vector<std::string>>(),
                     o.at("target_columns").get<std::vector<std::string>>()});
    }
    return out;
  });
  c.source_layout = p.Text("source_layout", "single");
  c.source_ranges = p.Read("source_ranges", "[]", [](const nlohmann::json& j) {
    std::vector<KeyRange> out;
    for (const nlohmann::json& r : j) out.push_back({Bound(r.at(0)), Bound(r.at(1))});
    return out;
  });
  if (c.source_layout == "range" && c.source_ranges.size() != c.sources.size()) {
    throw p.Error("source_ranges", fmt::format("gives {} range(s) for {} source(s)", c.source_ranges.size(),
                                               c.sources.size()));
  }
  c.changelog = p.Required("changelog");
  c.capture_trigger = p.Text("capture_trigger");
  c.check_command = p.Text("check_command");
  c.shadow_table = p.Text("shadow_table");
  c.old_table = p.Text("old_table");

  c.pace = ReadPace(plan);
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step& s = plan.steps[i];
    const StepParams sp(s, i);
    if (s.kind == StepKind::kCapture && (sp.Has("slot") || sp.Has("server_id"))) {
      StreamParams stream;
      stream.database = s.database;
      stream.slot = sp.Text("slot");
      stream.publication = sp.Text("publication");
      if (sp.Has("server_id")) {
        const int64_t id = sp.Number("server_id", 0);
        if (id < 1 || id > 0xFFFFFFFFLL) throw sp.Error("server_id", "must be a replica server id, 1 to 4294967295");
        stream.server_id = static_cast<uint32_t>(id);
        stream.position = sp.Required("position");
      }
      if (sp.Has("capture_only_column")) {
        stream.only_column = sp.Required("capture_only_column");
        stream.only_values = sp.List("capture_only_values");
      }
      c.streams.push_back(std::move(stream));
    }
    if (s.kind == StepKind::kCutover) c.cutover = ReadCutover(sp);
  }
  return c;
}

}  // namespace shardshift::plans
