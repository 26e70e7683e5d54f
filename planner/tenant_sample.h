// Which tenants a shard's application is calling and writing right now: a sample of the statements
// its sessions run, each read with PostgreSQL's own parser (libpg-query) for the values of the
// shard_by column it names. The server's statement statistics cannot say this (pg_stat_statements
// and performance_schema's digests replace every literal), so the sampler reads what each session
// runs, with its literals, over a window:
//   - PostgreSQL: pg_stat_activity's latest query of each client backend, a statement counted once
//     per (backend, query_start);
//   - MariaDB: performance_schema.events_statements_current (the latest statement of each thread,
//     once per (thread, event id)); without performance_schema, information_schema.PROCESSLIST,
//     which shows only the statements running at the instant (short ones are rarely seen).
// It is a sample: a session that runs many statements between two polls is seen once per poll, so
// shares are what it measures, not totals. Statements with bind parameters ($1, ?) name no value
// (prepared statements show no literal) and count as unattributed. shardshift's own sessions are
// left out. Read-only; needs no extension (PostgreSQL shows other roles' queries only to members
// of pg_read_all_stats or a superuser: without it the sample says so).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/catalog.h"
#include "db/connection.h"
#include "db/schema.h"

namespace shardshift::planner {

// The values of column that one statement names on tables: its WHERE's `column = v` and
// `column IN (...)` (any table of the statement, qualified or not), an INSERT's VALUES at
// column's place (the column list's, else columns_of's order for the table). Text as the
// directory keeps keys: integers in decimal, strings unquoted.
struct StatementKeys {
  bool on_tables = false;  // the statement reads or writes one of tables
  bool write = false;      // INSERT, UPDATE or DELETE
  std::vector<std::string> values;
};
// tables and columns_of: lower-case names without schema. sql in PostgreSQL's spelling.
StatementKeys KeysNamed(const std::string& sql, const std::string& column, const std::set<std::string>& tables,
                        const std::map<std::string, std::vector<std::string>>& columns_of);

struct TenantCalls {
  int64_t calls = 0;   // sampled statements naming the tenant
  int64_t writes = 0;  // of them, INSERT, UPDATE or DELETE
};

struct CallSample {
  bool known = false;   // false: nothing could be sampled (note says why)
  std::string note;     // how it sampled, or why it could not
  double seconds = 0;
  int64_t statements = 0;  // distinct statements seen on the tables
  int64_t writes = 0;      // of them, writes
  int64_t attributed = 0;  // of them, naming a value of the column
  std::map<std::string, TenantCalls> tenants;
  // The rows each tenant's writes changed in the window, counted exactly from the server's log
  // (PostgreSQL: a temporary logical slot with test_decoding, read once at the end; MariaDB: the
  // binary log between the window's two positions). rows_known false: the log could not be read
  // (rows_note says what it needs); then only the sampled write statements tell.
  bool rows_known = false;
  std::string rows_note;
  int64_t rows_written = 0;
  std::map<std::string, int64_t> rows_by_tenant;
};

// Samples database's statements for duration (stop, when given and set, ends it early): the
// statements on tables (introspected there) and the values of column they name; and from its log,
// the rows written per value of column.
CallSample SampleCalls(const db::Catalog& catalog, const std::string& database, const std::string& column,
                       const std::vector<db::TableInfo>& tables, std::chrono::milliseconds duration,
                       const std::atomic<bool>* stop = nullptr);

// One line of test_decoding's output ("table public.t: UPDATE: a[integer]:1 b[text]:'x'"): the
// table's name (unqualified) and the value of column in it (the new tuple's; nothing when the line
// lacks it, e.g. a DELETE whose replica identity leaves it out).
std::optional<std::pair<std::string, std::string>> DecodedValue(const std::string& line, const std::string& column);

}  // namespace shardshift::planner
