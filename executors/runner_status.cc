// `shardshift status` of a reshard, split or shadow rebuild (executors/runner.h).
#include <nlohmann/json.hpp>

#include "db/error.h"
#include "executors/runner.h"

namespace shardshift::executors {

nlohmann::json Runner::Status() {
  states_ = state_->Load();
  nlohmann::json steps = nlohmann::json::array();
  for (const plans::Step& step : plan_.steps) {
    const StepState& st = states_[step.id];
    nlohmann::json j = {{"id", step.id}, {"kind", plans::StepKindName(step.kind)}, {"database", step.database},
                        {"status", st.status}, {"rows_done", st.rows_done}, {"detail", st.detail}};
    if (step.kind == plans::StepKind::kBackfill) {
      j["rows_per_second"] = st.rows_per_second;
      if (step.estimate.rows > 0) {
        j["percent"] = std::min(100.0, 100.0 * static_cast<double>(st.rows_done) / static_cast<double>(step.estimate.rows));
      }
      if (st.status != "done" && st.rows_per_second > 0) {
        j["eta_seconds"] = std::max<double>(0, static_cast<double>(step.estimate.rows - st.rows_done) / st.rows_per_second);
      }
    }
    steps.push_back(j);
  }
  nlohmann::json backlog = nlohmann::json::object();
  const db::TableName changelog = db::TableName::Parse(params_.changelog);
  for (const std::string& s : sources_) {
    try {
      db::Connection& c = conns_.Get(s);
      backlog[s] = std::stoll(c.Query("SELECT COUNT(*) AS n FROM " + c.Quote(changelog)).Text(0, "n"));
    } catch (const db::Error&) {
      backlog[s] = nullptr;  // capture not installed (yet, or any more)
    }
  }
  // Which way changes flow: forward (sources → targets) until the cutover, back (targets →
  // sources) in the window after it, none once cleaned up.
  const bool cleaned = CleanedUp();
  std::string direction = "forward";
  std::string detail;
  if (const plans::Step* cut = CutoverStep(); cut && states_[cut->id].detail.starts_with("reverted")) {
    detail = states_[cut->id].detail;
  }
  nlohmann::json reverse = nlohmann::json::object();
  if (Switched()) {
    direction = cleaned ? "done" : handover_.way_back.empty() ? "none" : "reverse";
    for (const WayBack& w : handover_.way_back) {
      // A reshard's targets hold one table each; a split's database may hold several new tables.
      const std::string name = IsSplit() ? w.database + ":" + w.back.source.ToString() : w.database;
      try {
        db::Connection& c = conns_.Get(w.database);
        reverse[name] = std::stoll(c.Query("SELECT COUNT(*) AS n FROM " + c.Quote(w.changelog)).Text(0, "n"));
      } catch (const db::Error&) {
        reverse[name] = nullptr;
      }
    }
  }
  nlohmann::json out = {{"plan", plan_.header.name}, {"steps", steps}, {"changelog_backlog", backlog},
                        {"direction", direction}, {"fenced", handover_.fence}};
  if (!reverse.empty()) out["reverse_backlog"] = reverse;
  if (!detail.empty()) out["last_revert"] = detail;
  if (streams_->enabled()) out["capture_streams"] = streams_->Status();
  if (Switched() && !IsSplit()) {
    // After the switch the sources' changelog fills only with writes that got past the fence (none
    // when the plan fences): they are on no target.
    int64_t late = 0;
    for (auto& [name, n] : backlog.items()) late += n.is_number() ? n.get<int64_t>() : 0;
    out["late_writes"] = late;
  }
  return out;
}

}  // namespace shardshift::executors
