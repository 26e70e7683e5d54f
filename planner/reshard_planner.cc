#include "planner/reshard_planner.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "db/row_sql.h"
#include "planner/capture_sql.h"
#include "planner/copy_steps.h"
#include "planner/directory_planner.h"
#include "planner/fence_sql.h"
#include "planner/key_distribution.h"
#include "planner/source_check.h"
#include "planner/target_ddl.h"
#include "plans/input_error.h"

namespace shardshift::planner {

namespace {

std::vector<std::string> sources_of(const plans::ReshardSpec& r) {
  std::vector<std::string> out;
  for (const auto& s : r.sources) out.push_back(s.database.name);
  return out;
}

std::vector<std::string> targets_of(const plans::ReshardSpec& r) {
  std::vector<std::string> out;
  for (const auto& t : r.targets) out.push_back(t.name);
  return out;
}

}  // namespace

plans::Plan PlanReshard(const plans::Spec& spec, const db::Catalog& catalog, SchemaReader& reader,
                        const PlanOptions& options) {
  const plans::ReshardSpec& r = *spec.reshard;
  // Every database named, and all of one engine.
  std::vector<plans::DatabaseRef> all;
  for (const auto& s : r.sources) all.push_back(s.database);
  all.insert(all.end(), r.targets.begin(), r.targets.end());
  const db::Engine engine = CheckDatabases(catalog, all, "");
  SourceSchemas schemas = CheckReshardSources(reader, spec);
  const db::TableInfo& table = schemas.table;
  const db::TableName source_table = db::TableName::Parse(r.table);
  const db::TableName target_table = db::TableName::Parse(r.target_table);

  // Each range source holds only its range.
  for (const plans::SourceShard& s : r.sources) {
    if (r.source_layout != plans::SourceLayout::kRange) break;
    auto conn = catalog.Connect(s.database.name);
    OutsideRange out = CountOutsideRange(*conn, source_table, r.key, s.from, s.to);
    if (out.below || out.above) {
      throw plans::InputError(s.database.pos, "reshard.source.shards",
                              fmt::format("database '{}' holds {} row(s) below its range and {} at or above it; "
                                          "fix the ranges or the data first", s.database.name, out.below, out.above));
    }
  }

  // Where rows land.
  DistributionBuilder distribution(static_cast<int32_t>(r.targets.size()),
                                   {options.read_all_keys_below, options.sample_keys, 10'000});
  for (size_t i = 0; i < r.sources.size(); ++i) {
    auto conn = catalog.Connect(r.sources[i].database.name);
    std::optional<DistributionBuilder::HashHome> home;
    if (r.source_layout == plans::SourceLayout::kHash) {
      home = DistributionBuilder::HashHome{static_cast<int32_t>(i), static_cast<int32_t>(r.sources.size())};
    }
    const int64_t misplaced = distribution.AddSource(*conn, source_table, r.shard_by, schemas.row_estimates[i], home);
    if (misplaced > 0) {
      throw plans::InputError(r.sources[i].database.pos, "reshard.source.databases",
                              fmt::format("database '{}' is hash shard {} of {}, but {} of the {} keys read there{} "
                                          "route to another source shard under xxh64-jump-v1 (docs/routing.md); a "
                                          "hash source layout must be sharded with that function, in this order",
                                          r.sources[i].database.name, i, r.sources.size(), misplaced,
                                          distribution.last_keys_read(), distribution.sampled() ? " (a sample)" : ""));
    }
  }
  KeyDistribution d = distribution.Finish();
  if (r.target_layout == plans::TargetLayout::kDirectory) {
    return PlanDirectory(spec, catalog, engine, table, schemas.row_estimates);
  }
  int64_t total_rows = 0;
  for (int64_t n : d.predicted_rows) total_rows += n;
  const double bytes_per_row = table.row_estimate > 0 && table.total_bytes > 0
                                   ? static_cast<double>(table.total_bytes) / static_cast<double>(table.row_estimate)
                                   : 100.0;

  plans::Plan plan;
  plans::PlanHeader& h = plan.header;
  h = HeaderFor(spec);
  for (size_t i = 0; i < r.sources.size(); ++i) h.schema_fingerprints[r.sources[i].database.name] = schemas.fingerprints[i];
  h.warnings.push_back(fmt::format("predicted rows per target shard: {} ({}), skew {:.3f} (max/mean)",
                                   fmt::join(d.predicted_rows, ", "), d.sampled ? "from a sample" : "from every key",
                                   d.skew));
  if (d.skew > spec.options.skew_warning) {
    h.warnings.push_back(fmt::format("skew {:.3f} is above the spec's skew_warning {:.3f}", d.skew,
                                     spec.options.skew_warning));
  }

  // Generated columns are computed by the targets, not copied.
  const std::vector<std::string> columns = CopiedColumns(table);
  std::vector<std::string> targets;
  for (const auto& t : r.targets) targets.push_back(t.name);
  std::vector<std::string> sources;
  for (const auto& s : r.sources) sources.push_back(s.database.name);
  std::map<std::string, std::string> common = {
      {"table", r.table}, {"target_table", r.target_table}, {"key", JsonList(r.key)}, {"shard_by", JsonList(r.shard_by)}, {"columns", JsonList(columns)},
      {"targets", JsonList(targets)}, {"sources", JsonList(sources)}, {"chunk_rows", std::to_string(spec.options.chunk_rows)},
      {"lock_timeout_ms", std::to_string(spec.options.lock_timeout_ms)}, {"retries", std::to_string(spec.options.retries)},
      {"target_chunk_ms", std::to_string(spec.options.target_chunk_ms)},
      {"max_rows_per_second", std::to_string(spec.options.max_rows_per_second)},
      {"parallel_sources", std::to_string(spec.options.parallel_sources)},
  };
  if (!spec.options.check_command.empty()) common["check_command"] = spec.options.check_command;
  // Where a key lives among the sources, for changes that flow back after the cutover.
  common["source_layout"] = std::string(plans::LayoutName(r.source_layout));
  if (r.source_layout == plans::SourceLayout::kRange) {
    nlohmann::json ranges = nlohmann::json::array();
    for (const plans::SourceShard& src : r.sources) {
      ranges.push_back({src.from ? nlohmann::json(*src.from) : nlohmann::json(nullptr),
                        src.to ? nlohmann::json(*src.to) : nlohmann::json(nullptr)});
    }
    common["source_ranges"] = ranges.dump();
  }

  db::TableInfo target_shape = table;
  if (std::none_of(table.unique_keys.begin(), table.unique_keys.end(), [&](const auto& k) {
        return std::set<std::string>(k.begin(), k.end()) == std::set<std::string>(r.key.begin(), r.key.end());
      })) {
    // The key holds a unique key and more: the targets get a unique index on exactly it, which the
    // copy's insert-if-absent names (and which serves the shard key's lookups).
    db::IndexInfo idx;
    idx.name = (db::TableName::Parse(r.target_table).name + "_shard_key").substr(0, 63);
    idx.unique = true;
    idx.method = "btree";
    for (const std::string& c : r.key) idx.columns.push_back(db::IndexColumn{c, "", false, "", 0});
    target_shape.indexes.push_back(idx);
  }
  TargetDdl ddl = BuildTargetDdl(engine, target_shape, target_table, options.keep_counters);
  for (const std::string& note : ddl.notes) h.warnings.push_back(note);
  // The way back (DESIGN.md rule 5): capture on the targets from their creation, so that once the
  // application writes there its changes can flow back to the sources until cleanup. It records
  // nothing of the copy (shardshift's own sessions are not recorded).
  db::TableInfo target_info = table;
  target_info.schema = target_table.schema;
  target_info.name = target_table.name;
  const CaptureSql reverse = BuildCapture(engine, target_info, r.key, spec.name, "reverse");
  // The fences: the targets refuse the application's writes until the cutover, the sources after it.
  const FenceSql target_fence = BuildFence(
      engine, target_table, spec.name,
      fmt::format("shardshift migration '{}': {} on this database takes writes only after the migration switches "
                  "to it; write to {} on {} meanwhile",
                  spec.name, r.target_table, r.table, fmt::join(sources_of(r), ", ")));
  const FenceSql source_fence = BuildFence(
      engine, source_table, spec.name,
      fmt::format("shardshift migration '{}' moved {} to {} on {} at its cutover: this copy takes no more writes; "
                  "route them with the migration's routing map",
                  spec.name, r.table, r.target_table, fmt::join(targets_of(r), ", ")));
  const bool fence = spec.options.fence;
  for (size_t i = 0; i < targets.size(); ++i) {
    plans::Step s;
    s.id = "create_target." + targets[i];
    s.kind = plans::StepKind::kSql;
    s.database = targets[i];
    s.description = fmt::format("create {} on shard {} of {}, with capture of its changes for the way back{}",
                                r.target_table, i, targets.size(),
                                fence ? " and a fence until the cutover" : "");
    s.sql = ddl.create;
    s.sql.insert(s.sql.end(), reverse.install.begin(), reverse.install.end());
    if (fence) s.sql.insert(s.sql.end(), target_fence.fence.begin(), target_fence.fence.end());
    s.undo = reverse.remove;
    s.undo.insert(s.undo.end(), ddl.drop.begin(), ddl.drop.end());
    s.estimate = {0, 0, 0.1};
    plan.steps.push_back(s);
  }
  const CaptureChoice choice = ChooseCapture(
      spec, catalog, engine, sources, table, r.key,
      fence ? "" : "fence = false: writes that reach the sources after the cutover are found by their capture, "
                   "which log capture ends at the switch",
      h.warnings);
  std::vector<CaptureSql> captures;  // per source
  for (const std::string& src : sources) captures.push_back(SourceCapture(choice, engine, table, r.key, spec.name, src));
  const CaptureSql& capture = captures.front();
  AddCaptureParams(choice, capture, common);
  for (size_t i = 0; i < sources.size(); ++i) {
    plan.steps.push_back(CaptureStep(engine, sources[i], r.table, captures[i], common));
  }
  db::RowSql rows(engine, source_table, r.key, columns);
  db::KeyValues placeholder_key(r.key.size(), "<cursor>");
  for (size_t i = 0; i < sources.size(); ++i) {
    int64_t n = std::max<int64_t>(0, schemas.row_estimates[i]);
    plans::Step s;
    s.id = "backfill." + sources[i];
    s.kind = plans::StepKind::kBackfill;
    s.database = sources[i];
    s.description = fmt::format("copy {} to the {} targets in key order, {} rows a chunk, replaying captured "
                                "changes between chunks", r.table, targets.size(), spec.options.chunk_rows);
    s.sql = {rows.SelectChunk(placeholder_key, std::nullopt, spec.options.chunk_rows).sql};
    s.lock = engine == db::Engine::kPostgres ? "ACCESS SHARE" : "none (consistent snapshot reads)";
    s.estimate = {n, static_cast<int64_t>(static_cast<double>(n) * bytes_per_row), Seconds(n, kCopyRowsPerSecond)};
    s.undo = {"drop the target tables (the create_target steps' undo)"};
    s.params = common;
    s.params["source"] = sources[i];
    plan.steps.push_back(s);
  }
  for (const std::string& src : sources) plan.steps.push_back(ReplayStep(src, common));
  {
    plans::Step s;
    s.id = "verify";
    s.kind = plans::StepKind::kVerify;
    s.database = sources[0];
    s.description = "compare every source chunk with the targets by checksum; name any differing key";
    s.sql = {rows.Checksum(placeholder_key, placeholder_key).sql};
    s.params = common;
    s.estimate = {total_rows, 0, Seconds(static_cast<double>(total_rows), kVerifyRowsPerSecond)};
    plan.steps.push_back(s);
  }
  {
    plans::Step s;
    s.id = "cutover";
    s.kind = plans::StepKind::kCutover;
    s.database = sources[0];
    s.online = false;
    s.description = fence ? "catch up, block writes to the sources briefly, drain the changelog, fence the sources "
                            "(later writes there fail), lift the targets' fence, publish the routing map"
                          : "catch up, block writes to the sources briefly, drain the changelog, publish the routing "
                            "map (fence = false: the sources stay writable, fence them at your proxy)";
    s.sql = {SourceBlockSql(engine, source_table, choice, capture)};
    if (fence) {
      s.sql.insert(s.sql.end(), source_fence.fence.begin(), source_fence.fence.end());
      s.sql.insert(s.sql.end(), target_fence.unfence.begin(), target_fence.unfence.end());
    }
    s.lock = WriteBlockLock(engine);
    s.undo = {"shardshift apply --revert PLAN until cleanup: writes blocked on the targets, their changes drained "
              "back to the sources, the targets fenced and the sources unfenced, the routing map withdrawn"};
    s.params = common;
    s.params["fence"] = fence ? "true" : "false";
    s.params["fence_sources"] = JsonList(source_fence.fence);
    s.params["unfence_sources"] = JsonList(source_fence.unfence);
    s.params["source_fence_triggers"] = JsonList(source_fence.triggers);
    s.params["fence_targets"] = JsonList(target_fence.fence);
    s.params["unfence_targets"] = JsonList(target_fence.unfence);
    s.params["target_fence_triggers"] = JsonList(target_fence.triggers);
    s.params["reverse_changelog"] = reverse.changelog.ToString();
    s.params["target_block_sql"] = WriteBlockSql(engine, target_table, reverse.changelog);
    const plans::Hooks& hooks = spec.hooks;
    AddHookParams(hooks, s);
    if (!hooks.during_cutover.empty()) {
      s.description += fmt::format(", run the during_cutover hook (at most {} ms)", hooks.timeout_ms);
    }
    s.estimate = {0, 0, 0.2};
    plan.steps.push_back(s);
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::string& src = sources[i];
    plan.steps.push_back(CaptureRemovalStep(
        engine, "cleanup." + src, src, r.table, captures[i],
        "remove capture (run later, with apply --cleanup, once the application uses the targets)", common));
  }
  for (const std::string& target : targets) {
    plan.steps.push_back(CaptureRemovalStep(
        engine, "cleanup." + target, target, r.target_table, reverse,
        "remove the capture of the way back (ends the window in which apply --revert can switch back)", common));
  }
  return plan;
}

}  // namespace shardshift::planner
