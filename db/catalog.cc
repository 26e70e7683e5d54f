#include "db/catalog.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "db/error.h"

namespace shardshift::db {

using IdleClock = std::chrono::steady_clock;

// The connections waiting for reuse, by database and options; shared by a catalog's copies and
// the connections out of it, so that either may go first.
struct IdleConnections {
  static constexpr size_t kPerKey = 8;
  static constexpr std::chrono::seconds kMaxIdle{30};
  struct Waiting {
    std::unique_ptr<Connection> conn;
    IdleClock::time_point since;
  };
  std::mutex mu;
  bool on = false;                                   // GUARDED_BY(mu)
  std::map<std::string, std::vector<Waiting>> idle;  // GUARDED_BY(mu)
};

namespace {

// A connection out of a catalog that reuses them: every call goes to the real one, which goes
// back to the idle list, reset, when this is destroyed.
class ReusedConnection final : public Connection {
 public:
  ReusedConnection(std::unique_ptr<Connection> inner, std::shared_ptr<IdleConnections> idle, std::string key,
                   ConnectOptions options)
      : Connection(inner->url(), inner->name()),
        inner_(std::move(inner)),
        idle_(std::move(idle)),
        key_(std::move(key)),
        options_(std::move(options)) {}
  ~ReusedConnection() override {
    try {
      if (!inner_->Usable() || inner_->InTransaction()) return;  // closed below
      // Reset now, not when taken: what the session holds (an advisory or GET_LOCK lock, a table
      // lock) is let go when its user drops it, as closing it did.
      inner_->ResetSession(options_);
      std::lock_guard<std::mutex> hold(idle_->mu);
      std::vector<IdleConnections::Waiting>& list = idle_->idle[key_];
      if (idle_->on && list.size() < IdleConnections::kPerKey) list.push_back({std::move(inner_), IdleClock::now()});
    } catch (...) {  // NOLINT: a connection that cannot be reset is closed
    }
  }

  std::string Placeholder(int i) const override { return inner_->Placeholder(i); }
  int64_t Execute(std::string_view sql, const Params& params) override { return inner_->Execute(sql, params); }
  ResultSet Query(std::string_view sql, const Params& params) override { return inner_->Query(sql, params); }
  void ExecuteScript(std::string_view script) override { inner_->ExecuteScript(script); }
  std::unique_ptr<RowStream> Stream(std::string_view sql, const Params& params, size_t chunk_rows) override {
    return inner_->Stream(sql, params, chunk_rows);
  }
  int64_t BulkInsert(const TableName& table, const std::vector<std::string>& columns, const Chunk& rows) override {
    return inner_->BulkInsert(table, columns, rows);
  }
  void Begin(const TxOptions& options) override { inner_->Begin(options); }
  void Commit() override { inner_->Commit(); }
  void Rollback() override { inner_->Rollback(); }
  bool InTransaction() const override { return inner_->InTransaction(); }
  void SetLockTimeout(int milliseconds) override { inner_->SetLockTimeout(milliseconds); }
  bool Usable() const override { return inner_->Usable(); }
  std::string ServerVersion() override { return inner_->ServerVersion(); }
  SchemaInfo Introspect(const IntrospectOptions& options) override { return inner_->Introspect(options); }
  void ResetSession(const ConnectOptions& options) override { inner_->ResetSession(options); }

 private:
  std::unique_ptr<Connection> inner_;
  std::shared_ptr<IdleConnections> idle_;
  const std::string key_;
  const ConnectOptions options_;
};

}  // namespace

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
  std::shared_ptr<IdleConnections> idle;
  {
    std::lock_guard<std::mutex> hold(*mu_);
    idle = idle_;
  }
  if (idle) {
    std::lock_guard<std::mutex> hold(idle->mu);
    if (!idle->on) idle.reset();
  }
  if (!idle) return db::Connect(Url(name), name, options);
  const std::string key = fmt::format("{}\x1f{}\x1f{}\x1f{}", name, options.connect_timeout_seconds,
                                      options.application_name, options.executor_session);
  for (;;) {
    std::unique_ptr<Connection> taken;
    std::vector<IdleConnections::Waiting> stale;  // closed outside the lock
    {
      std::lock_guard<std::mutex> hold(idle->mu);
      std::vector<IdleConnections::Waiting>& list = idle->idle[key];
      while (!list.empty() && !taken) {
        IdleConnections::Waiting w = std::move(list.back());
        list.pop_back();
        if (IdleClock::now() - w.since <= IdleConnections::kMaxIdle) {
          taken = std::move(w.conn);
        } else {
          stale.push_back(std::move(w));
        }
      }
    }
    if (!taken) break;
    try {
      taken->Query("SELECT 1 AS alive");  // the server may have ended it meanwhile
      spdlog::debug("reusing a connection to database '{}'", name);
      return std::make_unique<ReusedConnection>(std::move(taken), idle, key, options);
    } catch (const Error& e) {
      spdlog::debug("an idle connection to database '{}' was gone ({}); trying another", name, e.what());
    }
  }
  return std::make_unique<ReusedConnection>(db::Connect(Url(name), name, options), idle, key, options);
}

void Catalog::ReuseConnections(bool on) {
  std::shared_ptr<IdleConnections> idle;
  {
    std::lock_guard<std::mutex> hold(*mu_);
    if (on && !idle_) idle_ = std::make_shared<IdleConnections>();
    idle = idle_;
  }
  if (!idle) return;
  std::map<std::string, std::vector<IdleConnections::Waiting>> closed;  // closed outside the lock
  std::lock_guard<std::mutex> hold(idle->mu);
  idle->on = on;
  if (!on) closed.swap(idle->idle);
}

}  // namespace shardshift::db
