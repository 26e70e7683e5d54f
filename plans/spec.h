// The spec: what the user wants, in a TOML file they write. Format: docs/spec-format.md.
//
// ParseSpec validates everything that can be checked without a database (types, required fields,
// unknown fields, duplicates, range order) and throws InputError naming file, line, column and
// field. Checks that need the databases (does the table exist, is the key unique) are the planner's.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plans/input_error.h"

namespace shardshift::plans {

inline constexpr int kSpecFormatVersion = 1;

enum class MigrationKind { kReshard, kVerticalSplit, kCreateIndex, kReplica, kMoveTables, kMoveKeys };
std::string_view KindName(MigrationKind kind);

// A database named in a spec, with where it was named (for "unknown database" errors).
struct DatabaseRef {
  std::string name;
  SourcePos pos;
};

// A key value as the user wrote it: integers in decimal, strings as they are. Composite keys have
// one element per key column.
using KeyValue = std::vector<std::string>;

enum class SourceLayout { kSingle, kRange, kHash };
std::string_view LayoutName(SourceLayout layout);

struct SourceShard {
  DatabaseRef database;
  std::optional<KeyValue> from;  // inclusive; nullopt = unbounded below
  std::optional<KeyValue> to;    // exclusive; nullopt = unbounded above
};

// Where the table's keys live after the reshard: hash shards (the routing map), or a directory
// created over the shards the table is on (plans/directory.h: every key stays where it is).
enum class TargetLayout { kHash, kDirectory };

// A directory: its database and the name of its entries' table.
struct DirectoryRef {
  DatabaseRef database;
  std::string table;
  SourcePos pos;  // the [....directory] table
};

struct ReshardSpec {
  std::string table;  // "name" or "schema.name"
  std::vector<std::string> key;
  // The leading key columns the routing function hashes; default: the whole key. Rows that share
  // them share a shard (key = ["customer_id", "id"], shard_by = ["customer_id"]).
  std::vector<std::string> shard_by;
  SourcePos key_pos;  // where the key was written, for errors found against the databases
  SourceLayout source_layout = SourceLayout::kSingle;
  std::vector<SourceShard> sources;  // in key order for kRange; shard order for kHash
  std::vector<DatabaseRef> targets;  // shard order: shard i is targets[i]
  std::string target_table;          // defaults to table
  TargetLayout target_layout = TargetLayout::kHash;
  std::optional<DirectoryRef> directory;  // set for kDirectory
  SourcePos target_pos;                   // [reshard.target]
};

// One new table of a vertical split: the key columns (same names) and the moved columns.
struct SplitTable {
  std::string name;                            // "name" or "schema.name"
  DatabaseRef database;                        // defaults to the source's database
  std::vector<std::string> columns;            // source column names, in order
  std::map<std::string, std::string> rename;   // source name -> name in the new table
  std::vector<std::vector<std::string>> indexes;  // extra indexes, by new column names
  SourcePos pos;                               // the [[vertical_split.tables]] entry
  SourcePos columns_pos;
  // The column's name in the new table.
  std::string NewName(const std::string& source_column) const {
    auto it = rename.find(source_column);
    return it == rename.end() ? source_column : it->second;
  }
};

enum class SplitForeignKeys { kRefuse, kDropAtContract };

struct VerticalSplitSpec {
  DatabaseRef database;  // where the table is
  std::string table;
  std::vector<std::string> key;
  SourcePos key_pos;
  std::optional<std::vector<std::string>> keep;  // the columns that stay (besides the key); unset = all not moved
  SourcePos keep_pos;
  std::vector<SplitTable> tables;
  bool contract = false;           // drop the moved columns from the source, a later step
  std::string compat_view;         // PostgreSQL, new tables in the same database: a view joining them back
  SourcePos compat_view_pos;
  SplitForeignKeys foreign_keys = SplitForeignKeys::kRefuse;
};

// One index to build on every database of a create_index spec.
// A column or an expression as part of an index name: lower("email") -> lower_email.
std::string IndexNamePart(const std::string& column);

struct IndexColumnSpec {
  std::string name;         // the column, or the expression's SQL when `expression`
  bool descending = false;
  std::string opclass;      // PostgreSQL operator class, "" = the default
  bool expression = false;  // written "(lower(email))" in the spec: an expression key part (PostgreSQL)
};

struct IndexSpec {
  std::string table;                  // "name" or "schema.name"
  std::string name;                   // the index's name
  std::vector<IndexColumnSpec> columns;
  std::vector<std::string> include;   // covering columns (PostgreSQL INCLUDE)
  std::string where;                  // partial index predicate (PostgreSQL), "" = none
  bool unique = false;
  std::string method = "btree";       // PostgreSQL access method
  // How it is built: "auto" (online where the engine can, else a shadow-table rebuild), "online"
  // (refused where the engine cannot), "shadow" (always a shadow-table rebuild of its table).
  std::string build = "auto";
  SourcePos pos;                      // the [[create_index.indexes]] entry
};

struct DropIndexSpec {
  std::string table;
  std::string name;
  SourcePos pos;
};

struct CreateIndexSpec {
  std::vector<DatabaseRef> databases;  // the shards, in order (from `databases` or the routing map)
  std::string routing_map;             // a reshard's routing map naming the shards, "" when listed
  std::vector<IndexSpec> indexes;
  std::vector<DropIndexSpec> drops;    // PostgreSQL: dropped concurrently; MariaDB: IGNORED, dropped at --cleanup
  int64_t parallel = 1;                // shards built at once
};

// One replica of a replica spec.
struct ReplicaTarget {
  DatabaseRef database;        // the replica, by config name (for a new physical standby: where it will listen)
  std::string method;          // "logical", "physical" (PostgreSQL) or "gtid" (MariaDB)
  std::string mode = "async";  // "async", "sync" (PostgreSQL) or "semi-sync" (MariaDB)
  std::vector<std::string> tables;  // logical: the tables replicated; empty = every table of the primary
  std::string data_dir;        // physical: the standby's data folder on this machine; "" = another host
  int64_t max_lag_bytes = 16 * 1024 * 1024;  // ready when behind by at most this (PostgreSQL WAL bytes)
  double max_lag_seconds = 5;               // ... and this many seconds
  SourcePos pos;               // the [[replica.replicas]] entry
};

struct ReplicaSpec {
  DatabaseRef primary;
  std::vector<ReplicaTarget> replicas;
  int64_t ready_timeout_seconds = 600;  // apply fails when a replica is not ready by then
};

// A group of tables moved to another database of the same engine (functional partitioning), with
// one cutover for the whole group. Format: docs/move-tables.md.
enum class MoveForeignKeys {
  kRefuse,         // a foreign key between a moved and a staying table refuses the plan
  kDropAtCutover,  // ... is dropped on the source just before the cutover
};

struct MoveTablesSpec {
  DatabaseRef source;
  DatabaseRef target;
  std::vector<std::string> tables;  // as written: "name", "schema.name" or "schema.*"
  SourcePos tables_pos;
  MoveForeignKeys foreign_keys = MoveForeignKeys::kRefuse;
  SourcePos foreign_keys_pos;
};

// Some keys of a directory-routed layout (tenants) moved, with their rows in every colocated table,
// from the shard the directory says to another database, online: only those keys' writes wait at
// the cutover. Format: docs/move-keys.md.
struct MoveKeysSpec {
  DirectoryRef directory;           // where the directory is (plans/directory.h)
  std::vector<std::string> keys;    // shard_by values, as text (integers in decimal)
  SourcePos keys_pos;
  DatabaseRef to;
  std::vector<std::string> tables;  // "name" or "schema.name"; empty = the directory's tables
  SourcePos tables_pos;
};

// Knobs shared by every kind. Defaults are what a cautious DBA would pick.
struct Options {
  int64_t chunk_rows = 1000;           // initial chunk size; adapts toward target_chunk_ms
  int64_t target_chunk_ms = 500;
  int64_t max_rows_per_second = 0;     // 0 = unthrottled
  int64_t lock_timeout_ms = 2000;      // every statement runs under it
  int64_t retries = 5;                 // bounded retries of retryable failures
  int64_t parallel_sources = 2;        // sources copied at once
  double skew_warning = 1.2;           // warn when predicted max/mean rows per shard exceeds it
  std::string check_command;           // paused while it exits non-zero; empty = none
  // The cutover fences the sources (any later write fails naming the migration). Off only for
  // users who fence at their proxy; lint warns (SS216).
  bool fence = true;
  SourcePos fence_pos;
  // Where captured changes come from: "log" (PostgreSQL's WAL through a logical slot: nothing in the
  // application's write path), "trigger" (row triggers writing a changelog in the application's
  // transactions), "auto" (the log where the server allows it, else triggers; the plan says why).
  std::string capture = "auto";
  SourcePos capture_pos;
};

// The user's commands at cutover (run with /bin/sh -c; see docs/spec-format.md).
struct Hooks {
  std::string before_cutover;  // before writes are blocked; non-zero exit: no cutover, nothing changed
  std::string during_cutover;  // writes blocked, changelog drained, routing map published; non-zero
                               // exit or timeout: the cutover is undone and the sources stay in use
  std::string after_cutover;   // writes unblocked; non-zero exit is reported, the cutover stands
  int64_t timeout_ms = 30000;  // each hook; during_cutover holds the write block this long at most
};

struct Spec {
  std::string file;
  int format_version = kSpecFormatVersion;
  std::string name;
  MigrationKind kind = MigrationKind::kReshard;
  std::string description;
  Options options;
  Hooks hooks;
  std::optional<ReshardSpec> reshard;  // set when kind == kReshard
  std::optional<VerticalSplitSpec> vertical_split;  // set when kind == kVerticalSplit
  std::optional<CreateIndexSpec> create_index;       // set when kind == kCreateIndex
  std::optional<ReplicaSpec> replica;                // set when kind == kReplica
  std::optional<MoveTablesSpec> move_tables;         // set when kind == kMoveTables
  std::optional<MoveKeysSpec> move_keys;             // set when kind == kMoveKeys
};

Spec ParseSpec(std::string_view text, const std::string& file);
Spec LoadSpec(const std::string& path);

// A canonical text of the spec's meaning: comments, key order and whitespace do not change it.
std::string CanonicalSpec(const Spec& spec);
// Hex xxHash64 of CanonicalSpec: the "spec_hash" a plan carries.
std::string SpecHash(const Spec& spec);

}  // namespace shardshift::plans
