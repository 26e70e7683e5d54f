// The databases a run may use, by name, as the config file names them. Resolves ${ENV}, parses
// URLs on first use, and opens connections. Errors name the database and where its URL was written
// ("shardshift.toml:4:7") and never show a password. Connect may be called from several threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/connection.h"
#include "db/url.h"
#include "plans/config.h"

namespace shardshift::db {

struct CatalogEntry {
  std::string name;
  std::string url_text;  // as written, with ${ENV} references
  std::string origin;    // where it was written, for messages: "file:line:column"
};

class Catalog {
 public:
  Catalog(std::vector<CatalogEntry> entries, std::string source, EnvLookup env = GetEnv);
  // The databases a config file names.
  static Catalog FromConfig(const plans::Config& config, EnvLookup env = GetEnv);

  bool Has(const std::string& name) const;
  std::vector<std::string> Names() const;
  // Throws Error(kBadInput) for an unknown name, an unset variable or a malformed URL.
  const ConnectionUrl& Url(const std::string& name) const;
  std::unique_ptr<Connection> Connect(const std::string& name,
                                      const ConnectOptions& options = {}) const;

 private:
  std::map<std::string, CatalogEntry> entries_;
  std::string source_;  // the config file, for "unknown database" messages
  EnvLookup env_;
  mutable std::map<std::string, ConnectionUrl> parsed_;  // under *mu_; entries never move
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
};

}  // namespace shardshift::db
