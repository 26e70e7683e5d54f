#include "planner/copy_steps.h"

#include <utility>

namespace shardshift::planner {

std::string TriggerLock(db::Engine engine, const std::string& table) {
  return engine == db::Engine::kPostgres ? "SHARE ROW EXCLUSIVE on " + table + " while the triggers are created"
                                         : "metadata lock on " + table + " while the triggers are created";
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
  return s;
}

plans::Step ReplayStep(const std::string& source, const std::map<std::string, std::string>& params) {
  plans::Step s;
  s.id = "replay." + source;
  s.kind = plans::StepKind::kReplay;
  s.database = source;
  s.description = "apply the captured changes until the backlog is drained";
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
