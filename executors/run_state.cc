#include "executors/run_state.h"

#include <atomic>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "db/error.h"

namespace shardshift::executors {

RunState::RunState(Connector connect, std::string migration)
    : connect_(std::move(connect)), migration_(std::move(migration)) {}

RunState::RunState(db::Connection& home, std::string migration) : home_(&home), migration_(std::move(migration)) {}

db::Connection& RunState::Home() {
  if (connect_ && (!owned_ || !owned_->Usable())) {
    owned_ = connect_();
    home_ = owned_.get();
  }
  return *home_;
}

namespace {

// The format row: migration '' (no migration has an empty name), step 'format_version'.
constexpr const char* kFormatStep = "format_version";

}  // namespace

void CreateTableIfMissing(db::Connection& conn, const std::string& sql) {
  try {
    conn.Execute(sql);
  } catch (const db::Error& e) {
    if (e.sqlstate() != "23505" && e.sqlstate() != "42P07") throw;
    conn.Execute(sql);
  }
}

void RunState::EnsureTable() {
  std::lock_guard<std::mutex> hold(mu_);
  db::Connection& home = Home();
  CreateTableIfMissing(home, home.engine() == db::Engine::kPostgres
                    ? "CREATE TABLE IF NOT EXISTS _shardshift_state (migration text NOT NULL, step text NOT NULL, "
                      "status text NOT NULL, checkpoint text NOT NULL, rows_done bigint NOT NULL, rows_per_second double precision NOT NULL, detail text NOT NULL, "
                      "updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (migration, step))"
                    : "CREATE TABLE IF NOT EXISTS _shardshift_state (migration VARCHAR(190) NOT NULL, step "
                      "VARCHAR(190) NOT NULL, status VARCHAR(16) NOT NULL, checkpoint TEXT NOT NULL, rows_done BIGINT NOT "
                      "NULL, rows_per_second DOUBLE NOT NULL, detail TEXT NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON "
                      "UPDATE CURRENT_TIMESTAMP(6), PRIMARY KEY (migration, step)) ENGINE=InnoDB");
  const std::string v = std::to_string(kStateFormatVersion);
  const std::string values = home.engine() == db::Engine::kPostgres ? "('', $1, $2, '', 0, 0, 'format of this table')"
                                                                     : "('', ?, ?, '', 0, 0, 'format of this table')";
  home.Execute("INSERT INTO _shardshift_state (migration, step, status, checkpoint, rows_done, rows_per_second, detail) "
                "VALUES " + values + (home.engine() == db::Engine::kPostgres ? " ON CONFLICT DO NOTHING"
                                                                              : " ON DUPLICATE KEY UPDATE step = step"),
                {kFormatStep, v});
}

std::map<std::string, StepState> RunState::Load() {
  std::lock_guard<std::mutex> hold(mu_);
  db::Connection& home = Home();
  const bool pg = home.engine() == db::Engine::kPostgres;
  db::ResultSet exists = home.Query(pg ? "SELECT to_regclass('_shardshift_state') IS NOT NULL AS e"
                                        : "SELECT COUNT(*) > 0 AS e FROM information_schema.TABLES WHERE "
                                          "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_shardshift_state'");
  if (exists.Text(0, "e") != "t" && exists.Text(0, "e") != "1") return {};  // no run has started here
  db::ResultSet version;
  try {
    version = home.Query(std::string("SELECT status FROM _shardshift_state WHERE migration = '' AND step = ") +
                             (pg ? "$1" : "?"),
                         {kFormatStep});
  } catch (const db::Error& e) {
    // Another user's runs made the table: this one must be able to read and write it too.
    if (e.sqlstate() != "42501" && e.errnum() != 1142) throw;
    throw db::Error(db::ErrorKind::kBadInput,
                    fmt::format("the run state table _shardshift_state on database '{}' exists but {} may not read "
                                "it; GRANT SELECT, INSERT, UPDATE, DELETE ON _shardshift_state TO {}",
                                home.name(), home.url().user, home.url().user));
  }
  if (!version.rows.empty() && version.Text(0, "status") != std::to_string(kStateFormatVersion)) {
    throw db::Error(db::ErrorKind::kBadInput,
                    "the run state table _shardshift_state on database '" + home.name() + "' has format " +
                        version.Text(0, "status") + "; this shardshift reads format " +
                        std::to_string(kStateFormatVersion) + ": finish the run with the shardshift that started it");
  }
  db::ResultSet r = home.Query(std::string("SELECT step, status, checkpoint, rows_done, rows_per_second, detail FROM _shardshift_state "
                                            "WHERE migration = ") + (pg ? "$1" : "?"), {migration_});
  std::map<std::string, StepState> out;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    out[r.Text(i, "step")] = {r.Text(i, "status"), r.Text(i, "checkpoint"), std::stoll(r.Text(i, "rows_done")),
                              std::stod(r.Text(i, "rows_per_second")), r.Text(i, "detail")};
  }
  return out;
}

namespace {
std::atomic<bool> g_run_started{false};
}  // namespace

bool RunHasStarted() { return g_run_started.load(); }

void RunState::Save(const std::string& step, const StepState& s) {
  g_run_started = true;
  std::lock_guard<std::mutex> hold(mu_);
  db::Connection& home = Home();
  const db::Params p = {migration_, step, s.status, s.cursor, s.rows_done, std::to_string(s.rows_per_second), s.detail};
  if (home.engine() == db::Engine::kPostgres) {
    home.Execute("INSERT INTO _shardshift_state (migration, step, status, checkpoint, rows_done, rows_per_second, detail) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (migration, step) DO UPDATE SET status = "
                  "EXCLUDED.status, checkpoint = EXCLUDED.checkpoint, rows_done = EXCLUDED.rows_done, rows_per_second = EXCLUDED.rows_per_second, detail = "
                  "EXCLUDED.detail, updated_at = now()", p);
  } else {
    // The state table's only unique key is its primary key, so this cannot touch another row.
    home.Execute("INSERT INTO _shardshift_state (migration, step, status, checkpoint, rows_done, rows_per_second, detail) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE status = VALUES(status), checkpoint = "
                  "VALUES(checkpoint), rows_done = VALUES(rows_done), rows_per_second = VALUES(rows_per_second), detail = "
                  "VALUES(detail)", p);
  }
}

void RunState::Forget() {
  std::lock_guard<std::mutex> hold(mu_);
  db::Connection& home = Home();
  try {
    home.Execute(std::string("DELETE FROM _shardshift_state WHERE migration = ") +
                     (home.engine() == db::Engine::kPostgres ? "$1" : "?"),
                 {migration_});
  } catch (const db::Error& e) {
    if (e.sqlstate() != "42P01" && e.errnum() != 1146) throw;  // no table: no run ever saved anything
  }
}

RunLock::RunLock(db::Connection& conn, const std::string& migration, std::chrono::milliseconds wait) {
  const std::string name = "shardshift:" + migration;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (bool told = false;;) {
    if (conn.engine() == db::Engine::kPostgres) {
      acquired_ = conn.Query("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", {name}).Text(0, "ok") == "t";
    } else {
      acquired_ = conn.Query("SELECT GET_LOCK(?, 0) AS ok", {name.substr(0, 64)}).At(0, "ok") == db::Value("1");
    }
    if (acquired_ || std::chrono::steady_clock::now() >= deadline) return;
    if (!told) {
      spdlog::info("the run lock of plan '{}' is held by another session; waiting up to {} s for it (a run killed "
                   "a moment ago holds it until the server ends its session)",
                   migration, std::chrono::duration_cast<std::chrono::seconds>(wait).count());
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace shardshift::executors
