// Options every subcommand shares, and the helpers that turn them into a config and a catalog.
#pragma once

#include <string>

#include "db/catalog.h"
#include "plans/config.h"

namespace CLI {
class App;
}

namespace shardshift::cmd {

struct GlobalOptions {
  std::string config = "shardshift.toml";
  bool config_given = false;  // --config was on the command line
  std::string log_level = "info";
  std::string log_format = "text";
};

void SetupGlobalOptions(CLI::App& app, GlobalOptions& options);
// Applies --log-level and --log-format: logs go to stderr.
void SetupLogging(const GlobalOptions& options);

// Reads the config file; plans::InputError when it is missing (naming it) or malformed.
plans::Config LoadConfigFile(const GlobalOptions& options);
db::Catalog MakeCatalog(const plans::Config& config);

}  // namespace shardshift::cmd
