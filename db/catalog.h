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

struct IdleConnections;

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
  // With reuse on, a connection Connect returned goes back, reset (Connection::ResetSession), to
  // an idle list when its user drops it, unless it broke or was left in a transaction; the next
  // Connect of the same database and options takes it, once a round trip shows the server still
  // holds it. At most 8 wait per database and options, and one idle for more than 30 s is closed.
  // Why: a PostgreSQL connection is a server process's start (14-25 ms on a 2-core machine), and
  // one apply opened 20-35 of them. Off by default (a test that drops a database must not meet a
  // session the catalog keeps); the shardshift command turns it on. Copies share the list.
  void ReuseConnections(bool on);

 private:
  std::map<std::string, CatalogEntry> entries_;
  std::string source_;  // the config file, for "unknown database" messages
  EnvLookup env_;
  mutable std::map<std::string, ConnectionUrl> parsed_;  // under *mu_; entries never move
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<IdleConnections> idle_;  // under *mu_; set once, by ReuseConnections
};

}  // namespace shardshift::db
