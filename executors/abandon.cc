// apply --abandon: a plan given up before its switch leaves nothing behind. What its steps made is
// removed by the statements the plan itself gives as their undo, in reverse order, so a reviewer
// reads in the plan exactly what abandoning it runs; then its run state and claim go.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "db/error.h"
#include "executors/runner.h"

namespace shardshift::executors {

void Runner::Abandon(const ApplyOptions& options, ApplyResult& result) {
  auto refuse = [&](const std::string& why) {
    return db::Error(db::ErrorKind::kBadInput,
                     "apply --abandon refused: plan '" + plan_.header.name + "' " + why + " (nothing was changed)");
  };
  if (CleanedUp()) throw refuse("was cleaned up: it has finished, there is nothing left to give up");
  if (Switched()) {
    throw refuse("has switched: the application's writes go to its " + std::string(IsSplit() ? "new tables" : "targets") +
                 "; run `shardshift apply --revert` to switch back first, then apply --abandon");
  }
  if ((IsShadow() && Swapped()) || SourcesFencedBySwitch()) {
    throw refuse("was switched by a cutover that stopped before recording it; run `shardshift apply` to finish the "
                 "switch, then `apply --revert`, then apply --abandon");
  }

  // Steps run in plan order and record themselves when done: besides those, only the first step
  // not done can have run, in part (a run killed inside it). A run that got as far as its first
  // step claimed the table first, so without a claim or a recorded step no apply has run and
  // nothing is undone: the undo of a step that never ran could drop what someone else made since.
  std::vector<const plans::Step*> undo;
  bool pending_seen = states_.empty() && !Claimed();
  for (const plans::Step& s : plan_.steps) {
    if (s.kind == plans::StepKind::kCleanup) continue;  // runs only after a switch
    if (!Done(s.id)) {
      if (pending_seen) continue;
      pending_seen = true;
    }
    if (s.kind == plans::StepKind::kSql || s.kind == plans::StepKind::kCapture ||
        s.kind == plans::StepKind::kExpandComplete) {
      undo.push_back(&s);
    }
  }
  std::reverse(undo.begin(), undo.end());
  result.undone.clear();
  // An interrupted cutover on MariaDB may have fenced some sources (its triggers are not
  // transactional): the switch was not decided, so they take writes again first.
  if (handover_.fence && !ShadowOnMysql()) {
    const db::TableName source_table = db::TableName::Parse(params_.table);
    for (const std::string& s : sources_) {
      const bool fenced = !handover_.source_gate_state.empty()
                              ? SourceFenceUp(conns_.Get(s))
                              : std::any_of(handover_.source_triggers.begin(), handover_.source_triggers.end(),
                                            [&](const std::string& t) { return TriggerExists(conns_.Get(s), source_table, t); });
      if (!fenced) continue;
      for (const std::string& sql : handover_.unfence_sources) {
        result.undone.push_back(fmt::format("unfence on {}: {}", s, sql));
        if (!options.dry_run) conns_.Get(s).Execute(sql);
      }
    }
  }
  for (const plans::Step* s : undo) {
    for (const std::string& sql : s->undo) {
      result.undone.push_back(fmt::format("{} on {}: {}", s->id, s->database, sql));
      if (!options.dry_run) conns_.Get(s->database).Execute(sql);
    }
  }
  if (options.dry_run) return;
  // A routing map left by an interrupted cutover that did not switch names targets now gone.
  if (!IsSplit() && !options.routing_path.empty() && std::filesystem::exists(options.routing_path)) {
    std::filesystem::remove(options.routing_path);
    result.undone.push_back("withdrew the routing map " + options.routing_path);
  }
  state_->Forget();
  states_.clear();
  Release();
  result.abandoned = true;
  spdlog::info("plan '{}' abandoned: {} statement(s) undid what it had made", plan_.header.name,
               result.undone.size());
}

}  // namespace shardshift::executors
