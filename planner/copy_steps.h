// What the planners share: the check that every database is known and of one engine; capture,
// replay, the write block and the hook parameters of the copy-based kinds (reshard, vertical
// split); estimate helpers. One place, so every kind says the same things.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "db/catalog.h"

#include "db/connection.h"
#include "planner/capture_sql.h"
#include "plans/plan.h"
#include "plans/spec.h"

namespace shardshift::planner {

// Assumed rates for estimates (rows per second copied and verified); bench/ measures real ones.
inline constexpr double kCopyRowsPerSecond = 50'000;
inline constexpr double kVerifyRowsPerSecond = 200'000;

// A plan's header for spec: name, kind, spec file and hash, this shardshift's version.
plans::PlanHeader HeaderFor(const plans::Spec& spec);
// Seconds for rows at rate, to a tenth.
double Seconds(double rows, double rate);
// A JSON array of strings, the form list-valued step params take.
std::string JsonList(const std::vector<std::string>& items);
// Every database is in the config and all share one engine, which is returned; otherwise an
// InputError located at the offending reference (field: the spec field to name, may be "").
db::Engine CheckDatabases(const db::Catalog& catalog, const std::vector<plans::DatabaseRef>& databases,
                          const std::string& field);
// The statement that blocks writes to table for a cutover, and the lock it takes in words. On
// MariaDB the session that holds it may touch only the tables it locked: the changelog it drains
// is locked with the table (both WRITE, so that it may also create the fence's triggers).
std::string WriteBlockSql(db::Engine engine, const db::TableName& table,
                          const std::optional<db::TableName>& changelog = std::nullopt);
std::string WriteBlockLock(db::Engine engine);

// The same block on several tables of one database at once (MariaDB's LOCK TABLES replaces the
// session's earlier locks, so one statement must name them all): each table with its changelog.
std::string WriteBlockSql(db::Engine engine,
                          const std::vector<std::pair<db::TableName, db::TableName>>& tables);

// The lock trigger DDL takes on the source table, in the engine's words.
std::string TriggerLock(db::Engine engine, const std::string& table);
plans::Step CaptureStep(db::Engine engine, const std::string& source, const std::string& table, const CaptureSql& capture,
                        const std::map<std::string, std::string>& params);
plans::Step ReplayStep(const std::string& source, const std::map<std::string, std::string>& params);
// A cleanup step that removes a capture (the forward one on a source, or the way back's on a
// target) from table on database: run by apply --cleanup.
plans::Step CaptureRemovalStep(db::Engine engine, const std::string& id, const std::string& database,
                               const std::string& table, const CaptureSql& capture, const std::string& description,
                               const std::map<std::string, std::string>& params);
// How a plan captures the changes made to its sources meanwhile (spec [options] capture, checked
// against the servers): from the log (PostgreSQL's WAL through a slot per source) or by triggers.
struct CaptureChoice {
  bool log = false;
  std::string why;  // in words, for the capture step's description
};
// "log" that a source cannot serve: InputError at [options] capture naming the database, what is
// missing and the statement that fixes it. "auto" falls back to triggers and adds a warning saying
// why and what would allow the log (PostgreSQL: the WAL through a slot; MariaDB: the binary log).
// triggers_because: why this plan cannot use the log whatever the servers allow ("" = it can).
CaptureChoice ChooseCapture(const plans::Spec& spec, const db::Catalog& catalog, db::Engine engine,
                            const std::vector<std::string>& sources, const db::TableInfo& table,
                            const std::vector<std::string>& key, const std::string& triggers_because,
                            std::vector<std::string>& warnings);
// One source's capture as chosen: its triggers, or its slot and publication.
CaptureSql SourceCapture(const CaptureChoice& choice, db::Engine engine, const db::TableInfo& table,
                         const std::vector<std::string>& key, const std::string& migration,
                         const std::string& source);
// Marks the plan's common step parameters with the choice (capture, changelog, capture_trigger).
// What blocks writes to a captured source table at a cutover or switch: WriteBlockSql with its
// changelog, except under MariaDB's log capture, whose stream fills the changelog from another
// session while writes are blocked (the drain then reads it by a session of its own).
std::string SourceBlockSql(db::Engine engine, const db::TableName& table, const CaptureChoice& choice,
                           const CaptureSql& capture);

void AddCaptureParams(const CaptureChoice& choice, const CaptureSql& any_source,
                      std::map<std::string, std::string>& params);

// hook.<name> and hook_timeout_ms for each hook the spec sets.
void AddHookParams(const plans::Hooks& hooks, plans::Step& step);

}  // namespace shardshift::planner
