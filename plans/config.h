// The configuration file (default ./shardshift.toml): named databases and their URLs.
//
//   [databases.app]
//   url = "postgres://shardshift:${APP_DB_PASSWORD}@db1.internal:5432/app"
//
// The URL text is kept as written (with ${ENV} references unexpanded) together with where it was
// written, so that later errors (bad scheme, unreachable server) can point at the line. Parsing the
// URL itself belongs to db/.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "plans/input_error.h"

namespace shardshift::plans {

struct DatabaseEntry {
  std::string name;
  std::string url;  // as written; may contain ${ENV}
  SourcePos pos;    // of the url value
};

// The [lint] section: rules switched off or re-graded for every file this config lints.
//
//   [lint]
//   disable = ["SS109"]
//   small_table_mb = 10          # with --db: a lock or rewrite of a smaller table is a warning
//   [lint.severity]
//   SS108 = "error"
struct LintSettings {
  std::vector<std::pair<std::string, SourcePos>> disable;            // rule id, where it was named
  std::vector<std::tuple<std::string, std::string, SourcePos>> severity;  // rule id, "error"/"warning", where
  int64_t small_table_mb = 10;
};

struct Config {
  std::string file;
  std::map<std::string, DatabaseEntry> databases;  // by name
  LintSettings lint;
};

// Throws InputError on a malformed file, a missing url or an unknown field.
Config ParseConfig(std::string_view text, const std::string& file);
Config LoadConfig(const std::string& path);

}  // namespace shardshift::plans
