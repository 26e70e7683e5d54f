// The parameters of a copy plan (reshard, vertical_split, shadow_rebuild) in the types the
// executors use. A plan file holds them as strings (JSON for lists and records) in each step's
// [steps.params], repeated on every step that needs them (docs/plan-format.md); ReadCopyParams
// reads them once, so that no executor parses a parameter and every mistake is found before
// anything runs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plans/plan.h"

namespace shardshift::plans {

// A split's or a shadow rebuild's new table: the source's key and columns, copied into table's
// target_columns (renames included) on database.
struct CopyOutput {
  std::string database;
  std::string table;
  std::vector<std::string> columns;
  std::vector<std::string> target_columns;
};

// A range source shard's bounds (from inclusive, to exclusive; nullopt = unbounded).
struct KeyRange {
  std::optional<std::vector<std::string>> from;
  std::optional<std::vector<std::string>> to;
};

// One source's log capture (its capture step): PostgreSQL's slot and publication, or MariaDB's
// replica server id and the table that keeps its GTID position.
struct StreamParams {
  std::string database;
  std::string slot;
  std::string publication;
  uint32_t server_id = 0;
  std::string position;
  // A key move's: only the changes of rows whose only_column holds one of only_values are queued.
  std::string only_column;
  std::vector<std::string> only_values;
};

// How fast and how patiently a plan (of any kind) runs: the settings a reviewer may edit
// (EditableParam). Every step that carries one carries the same value.
struct Pace {
  int64_t chunk_rows = 1000;
  int64_t target_chunk_ms = 500;
  int64_t max_rows_per_second = 0;  // 0: no limit
  int64_t parallel_sources = 2;
  int64_t lock_timeout_ms = 2000;
  int64_t retries = 5;
  int64_t hook_timeout_ms = 30000;
};

// A split's new tables on one database, at the switch: the statement that blocks their writes,
// the fence that refuses the application's writes until the switch and again after a revert, and
// the fence's triggers as (table, trigger).
struct TargetSideParams {
  std::string database;
  std::string block_sql;
  std::vector<std::string> fence;
  std::vector<std::string> unfence;
  std::vector<std::pair<std::string, std::string>> triggers;
};

// A split's way back from one new table: its changelog there, whose changes go to the source.
struct WayBackParams {
  std::string database;
  std::string table;
  std::string changelog;
};

// The cutover step (the switch of a split, the swap of a shadow rebuild).
struct CutoverParams {
  std::string id;
  bool fence = false;  // older plans do not fence
  std::vector<std::string> fence_sources;
  std::vector<std::string> unfence_sources;
  std::vector<std::string> source_fence_triggers;
  // A reshard: the same block, fence and triggers on every target.
  std::string target_block_sql;
  std::vector<std::string> fence_targets;
  std::vector<std::string> unfence_targets;
  std::vector<std::string> target_fence_triggers;
  std::string reverse_changelog;  // "" = no way back (older plans)
  // A move_keys table's: the fences are key gates (planner/key_gate_sql.h), up when these queries
  // read 'fenced' (their triggers stand all along); "" = fences are triggers, up while they exist.
  std::string source_gate_state;
  std::string target_gate_state;
  // A split: one side per database of its new tables, one way back per new table.
  std::vector<TargetSideParams> target_sides;
  std::vector<WayBackParams> way_back;
  std::map<std::string, std::string> hooks;  // "before_cutover" etc. -> command
};

struct CopyParams {
  std::string table;         // the source table
  std::string target_table;  // a reshard's (the table's name when the spec gives none)
  std::vector<std::string> sources;
  std::vector<std::string> targets;
  std::vector<std::string> key;
  std::vector<std::string> shard_by;  // the key's leading columns the routing hashes
  std::vector<std::string> columns;   // read from the source
  std::vector<CopyOutput> outputs;    // a split's and a shadow rebuild's; empty for a reshard
  std::string source_layout = "single";
  std::vector<KeyRange> source_ranges;  // layout "range": one per source
  std::string changelog;
  std::string capture_trigger;  // trigger capture's insert trigger ("" with log capture)
  std::string check_command;
  std::string shadow_table;  // a shadow rebuild's new table and the name the old one takes
  std::string old_table;
  // A move_keys table's: only the rows this predicate matches are copied, replayed and compared, on
  // both sides (SQL text, values inlined); "" = the whole table.
  std::string row_filter;
  std::vector<StreamParams> streams;  // log capture, one per source; empty with triggers
  Pace pace;
  std::optional<CutoverParams> cutover;
};

// The plan's settings; InputError naming the step, the parameter, the file and line when two
// steps disagree on one or one is not a whole number.
Pace ReadPace(const Plan& plan);

// Throws InputError naming the step and the parameter (and the file and line when the plan was
// read from one) when a parameter is missing, malformed, or an editable setting differs between
// two steps; and when the plan is not a copy plan.
CopyParams ReadCopyParams(const Plan& plan);

}  // namespace shardshift::plans
