#include "planner/copy_steps.h"

#include <cmath>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "db/replication_check.h"
#include "plans/input_error.h"

namespace shardshift::planner {

plans::PlanHeader HeaderFor(const plans::Spec& spec) {
  plans::PlanHeader h;
  h.name = spec.name;
  h.kind = std::string(plans::KindName(spec.kind));
  h.spec_file = spec.file;
  h.spec_hash = plans::SpecHash(spec);
  h.shardshift_version = SHARDSHIFT_VERSION;
  return h;
}

double Seconds(double rows, double rate) { return std::round(rows / rate * 10.0) / 10.0; }

std::string JsonList(const std::vector<std::string>& items) { return nlohmann::json(items).dump(); }

db::Engine CheckDatabases(const db::Catalog& catalog, const std::vector<plans::DatabaseRef>& databases,
                          const std::string& field) {
  std::optional<db::Engine> engine;
  for (const plans::DatabaseRef& ref : databases) {
    if (!catalog.Has(ref.name)) {
      throw plans::InputError(ref.pos, field, fmt::format("unknown database '{}': the config names {}", ref.name,
                                                          fmt::join(catalog.Names(), ", ")));
    }
    const db::Engine e = catalog.Url(ref.name).engine;
    if (engine && *engine != e) {
      throw plans::InputError(ref.pos, field, fmt::format("database '{}' is {} but the others are {}: one migration "
                                                          "stays on one engine", ref.name, db::EngineName(e),
                                                          db::EngineName(*engine)));
    }
    engine = e;
  }
  return *engine;  // the spec readers require at least one database
}

std::string WriteBlockSql(db::Engine engine, const db::TableName& table, const std::optional<db::TableName>& changelog) {
  if (engine == db::Engine::kPostgres) return "LOCK TABLE " + db::QuoteTable(engine, table) + " IN EXCLUSIVE MODE";
  return "LOCK TABLES " + db::QuoteTable(engine, table) + " WRITE" +
         (changelog ? ", " + db::QuoteTable(engine, *changelog) + " WRITE" : "");
}

std::string WriteBlockSql(db::Engine engine,
                          const std::vector<std::pair<db::TableName, db::TableName>>& tables) {
  std::vector<std::string> parts;
  for (const auto& [table, changelog] : tables) {
    parts.push_back(db::QuoteTable(engine, table) + (engine == db::Engine::kPostgres ? "" : " WRITE"));
    if (engine != db::Engine::kPostgres) parts.push_back(db::QuoteTable(engine, changelog) + " WRITE");
  }
  if (engine == db::Engine::kPostgres) return fmt::format("LOCK TABLE {} IN EXCLUSIVE MODE", fmt::join(parts, ", "));
  return fmt::format("LOCK TABLES {}", fmt::join(parts, ", "));
}

std::string WriteBlockLock(db::Engine engine) {
  return engine == db::Engine::kPostgres ? "EXCLUSIVE (reads continue, writes wait)"
                                         : "WRITE table lock (reads and writes wait; the fence is created under it)";
}

std::string TriggerLock(db::Engine engine, const std::string& table) {
  return engine == db::Engine::kPostgres ? "SHARE ROW EXCLUSIVE on " + table + " while the triggers are created"
                                         : "metadata lock on " + table + " while the triggers are created";
}

CaptureChoice ChooseCapture(const plans::Spec& spec, const db::Catalog& catalog, db::Engine engine,
                            const std::vector<std::string>& sources, const db::TableInfo& table,
                            const std::vector<std::string>& key, const std::string& triggers_because,
                            std::vector<std::string>& warnings) {
  const std::string& asked = spec.options.capture;
  if (asked == "trigger") return {false, "capture = \"trigger\""};
  if (!triggers_because.empty()) {
    if (asked == "log") {
      throw plans::InputError(spec.options.capture_pos, "options.capture",
                              "log capture is not possible for this plan: " + triggers_because +
                                  "; set capture = \"trigger\" (or \"auto\")");
    }
    return {false, "triggers: " + triggers_because};
  }
  const bool pg = engine == db::Engine::kPostgres;
  for (const std::string& source : sources) {
    auto conn = catalog.Connect(source);
    db::ReplicationReadiness ready;
    if (pg) {
      const std::string slot = BuildLogCapture(table, key, spec.name, source).slot;
      db::CheckLogCapture(*conn, {table.schema, table.name}, key, db::SlotExists(*conn, slot), ready);
    } else {
      db::CheckBinlogCapture(*conn, {table.schema, table.name}, key, ready);
    }
    if (ready.ready()) continue;
    const std::string what = fmt::format("database '{}': {}", source, fmt::join(ready.problems, "; "));
    const std::string fix = fmt::format("{}{}", fmt::join(ready.fixes, "; "),
                                        ready.restart ? " (a server restart is needed)" : "");
    if (asked == "log") {
      throw plans::InputError(spec.options.capture_pos, "options.capture",
                              fmt::format("log capture is not possible on {}; fix: {} — or set capture = "
                                          "\"trigger\" (nothing was changed)", what, fix));
    }
    warnings.push_back(fmt::format("capture by triggers (each write to {} also writes its key to a changelog in the "
                                   "same transaction), because log capture is not possible on {}; to capture from "
                                   "the {} instead: {}, then plan again",
                                   table.name, what, pg ? "WAL" : "binary log", fix));
    return {false, "triggers, as the sources do not allow log capture (see the plan's warnings)"};
  }
  return {true, pg ? "from the WAL through a logical slot (wal_level = logical; the user may replicate)"
                   : "from the binary log, read as a replica reads it (log_bin on, ROW format; the user may "
                     "replicate)"};
}

CaptureSql SourceCapture(const CaptureChoice& choice, db::Engine engine, const db::TableInfo& table,
                         const std::vector<std::string>& key, const std::string& migration,
                         const std::string& source) {
  if (!choice.log) return BuildCapture(engine, table, key, migration);
  return engine == db::Engine::kPostgres ? BuildLogCapture(table, key, migration, source)
                                         : BuildBinlogCapture(table, key, migration, source);
}

std::string SourceBlockSql(db::Engine engine, const db::TableName& table, const CaptureChoice& choice,
                           const CaptureSql& capture) {
  if (choice.log && engine != db::Engine::kPostgres) return WriteBlockSql(engine, table, std::nullopt);
  return WriteBlockSql(engine, table, capture.changelog);
}

void AddCaptureParams(const CaptureChoice& choice, const CaptureSql& any_source,
                      std::map<std::string, std::string>& params) {
  params["changelog"] = any_source.changelog.ToString();
  params["capture_trigger"] = any_source.insert_trigger;
  if (choice.log) params["capture"] = "log";
}

plans::Step CaptureStep(db::Engine engine, const std::string& source, const std::string& table, const CaptureSql& capture,
                        const std::map<std::string, std::string>& params) {
  plans::Step s;
  s.id = "capture." + source;
  s.kind = plans::StepKind::kCapture;
  s.database = source;
  s.description = "record the key of every write to " + table + " in " + capture.changelog.ToString();
  s.sql = capture.install;
  s.undo = capture.remove;
  s.lock = TriggerLock(engine, table);
  s.estimate = {0, 0, 0.1};
  s.params = params;
  if (!capture.slot.empty()) {
    // Nothing on the table but the publication; the slot's creation waits for the transactions
    // running then to end (its changes start after them).
    s.description = fmt::format("read every write to {} from the WAL (logical slot {}, publication {}) into {}, "
                                "outside the application's transactions; apply streams it while it runs",
                                table, capture.slot, capture.publication, capture.changelog.ToString());
    s.lock = "SHARE UPDATE EXCLUSIVE on " + table + " while the publication is created (writes continue); the slot "
             "waits for transactions open then to end";
    s.params["slot"] = capture.slot;
    s.params["publication"] = capture.publication;
  }
  if (capture.server_id != 0) {
    // Nothing on the table and no lock: the position is the server's GTID state of that moment.
    s.description = fmt::format("read every write to {} from the binary log (as replica server id {}, from the GTID "
                                "position kept in {}) into {}, outside the application's transactions; apply "
                                "streams it while it runs",
                                table, capture.server_id, capture.position.ToString(), capture.changelog.ToString());
    s.lock = "none on " + table + " (the changelog and the position table are new tables)";
    s.params["server_id"] = std::to_string(capture.server_id);
    s.params["position"] = capture.position.ToString();
  }
  return s;
}

plans::Step CaptureRemovalStep(db::Engine engine, const std::string& id, const std::string& database,
                               const std::string& table, const CaptureSql& capture, const std::string& description,
                               const std::map<std::string, std::string>& params) {
  plans::Step s;
  s.id = id;
  s.kind = plans::StepKind::kCleanup;
  s.database = database;
  s.description = description;
  s.sql = capture.remove;
  s.lock = TriggerLock(engine, table);
  s.params = params;
  s.params["source"] = database;
  return s;
}

plans::Step ReplayStep(const std::string& source, const std::map<std::string, std::string>& params) {
  plans::Step s;
  s.id = "replay." + source;
  s.kind = plans::StepKind::kReplay;
  s.database = source;
  s.description = "apply the captured changes until replay has caught up (less than a batch queued)";
  s.params = params;
  s.params["source"] = source;
  s.estimate = {0, 0, 1.0};
  return s;
}

void AddHookParams(const plans::Hooks& hooks, plans::Step& step) {
  for (const auto& [name, command] : {std::pair{"before_cutover", hooks.before_cutover},
                                      {"during_cutover", hooks.during_cutover}, {"after_cutover", hooks.after_cutover}}) {
    if (command.empty()) continue;
    step.params[std::string("hook.") + name] = command;
    step.params["hook_timeout_ms"] = std::to_string(hooks.timeout_ms);
  }
}

}  // namespace shardshift::planner
