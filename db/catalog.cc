#include "db/catalog.h"

#include <fmt/format.h>

#include "db/error.h"

namespace shardshift::db {

Catalog::Catalog(std::vector<CatalogEntry> entries, std::string source, EnvLookup env)
    : source_(std::move(source)), env_(std::move(env)) {
  for (CatalogEntry& e : entries) entries_.emplace(e.name, std::move(e));
}

Catalog Catalog::FromConfig(const plans::Config& config, EnvLookup env) {
  std::vector<CatalogEntry> entries;
  for (const auto& [name, e] : config.databases) entries.push_back({name, e.url, e.pos.ToString()});
  return Catalog(std::move(entries), config.file, std::move(env));
}

bool Catalog::Has(const std::string& name) const { return entries_.count(name) > 0; }

std::vector<std::string> Catalog::Names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

const ConnectionUrl& Catalog::Url(const std::string& name) const {
  std::lock_guard<std::mutex> hold(*mu_);
  if (auto it = parsed_.find(name); it != parsed_.end()) return it->second;
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    std::string known = entries_.empty() ? "it names no databases"
                                         : fmt::format("it names {}", fmt::join(Names(), ", "));
    throw Error(ErrorKind::kBadInput,
                fmt::format("unknown database '{}': not in {} ({})", name, source_, known));
  }
  const CatalogEntry& e = it->second;
  try {
    return parsed_.emplace(name, ParseUrl(ExpandEnv(e.url_text, env_))).first->second;
  } catch (const Error& err) {
    throw Error(ErrorKind::kBadInput,
                fmt::format("{}: field 'databases.{}.url': {}", e.origin, name, err.what()));
  }
}

std::unique_ptr<Connection> Catalog::Connect(const std::string& name,
                                             const ConnectOptions& options) const {
  return db::Connect(Url(name), name, options);
}

}  // namespace shardshift::db
