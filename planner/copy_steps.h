// Steps the copy-based planners (reshard, vertical split) share: capture, replay, and the hook
// parameters a cutover-like step carries. One place, so both kinds say the same things.
#pragma once

#include <map>
#include <string>

#include "db/connection.h"
#include "planner/capture_sql.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

// The lock trigger DDL takes on the source table, in the engine's words.
std::string TriggerLock(db::Engine engine, const std::string& table);
plans::Step CaptureStep(db::Engine engine, const std::string& source, const std::string& table, const CaptureSql& capture,
                        const std::map<std::string, std::string>& params);
plans::Step ReplayStep(const std::string& source, const std::map<std::string, std::string>& params);
// hook.<name> and hook_timeout_ms for each hook the spec sets.
void AddHookParams(const plans::Hooks& hooks, plans::Step& step);

}  // namespace shardshift::planner
