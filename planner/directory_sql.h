// The directory's two tables (plans/directory.h, docs/routing.md#directory): the SQL that creates
// them and the reads of them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"
#include "plans/directory.h"

namespace shardshift::planner {

// `<name>_layout`, beside the entries' table.
db::TableName DirectoryLayoutTable(const db::TableName& directory);

// Creates both tables if missing and the layout row if missing: safe to run again. MariaDB's
// shard_key compares bytes (utf8mb4_bin), so that tenants 'A' and 'a' are two keys, as on PostgreSQL.
std::vector<std::string> CreateDirectorySql(db::Engine engine, const db::TableName& directory,
                                            const plans::DirectoryLayout& layout);
std::vector<std::string> DropDirectorySql(db::Engine engine, const db::TableName& directory);

// Points each key's entry at shard (inserted or replaced), naming the migration: one statement.
std::vector<std::string> DirectoryUpsertSql(db::Engine engine, const db::TableName& directory,
                                            const std::vector<std::string>& keys, const std::string& shard,
                                            const std::string& migration);

// nullopt when the layout table does not exist. Throws db::Error when it holds no row or a
// malformed one.
std::optional<plans::DirectoryLayout> ReadDirectoryLayout(db::Connection& conn, const db::TableName& directory);
// The layout and every entry. Throws db::Error(kBadInput) naming the database when there is no
// directory there.
plans::Directory ReadDirectory(db::Connection& conn, const db::TableName& directory, const std::string& database);

}  // namespace shardshift::planner
