// A throwaway PostgreSQL 15 and MariaDB server pair on free 127.0.0.1 ports in one folder, for the
// demo, the tests and rehearsals. Servers run as their system users (postgres, mysql) when we are
// root: PostgreSQL refuses to run as root. Servers outlive the command that started them; `Down`
// stops them and removes the folder.
//
// Folder layout: postgres/{data,run,server.log}, mariadb/{data,run,error.log} (and postgres2/,
// mariadb2/, standby/ with replicas), sandbox.toml (the
// state: ports and pids), shardshift.toml (the config naming every database; mode 0600, it holds
// the sandbox's generated password).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace shardshift::sandbox {

// A sandbox operation failed: a server would not start or stop, the folder is unusable, or it is
// already running. Its message says what to look at (a log file) or do.
class SandboxError : public std::runtime_error {
 public:
  enum class Kind { kAlreadyRunning, kNotRunning, kFailed };
  SandboxError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// Every example database exists on both servers under these names; the config calls them
// pg_<name> and my_<name>.
inline const std::vector<std::string> kExampleDatabases = {
    "app", "range_0", "range_1", "range_2", "hash_0", "hash_1", "hash_2", "hash_3"};

struct ServerState {
  int port = 0;
  int pid = 0;
  std::string data_dir;
  std::string socket;  // directory (PostgreSQL) or file (MariaDB)
  bool running = false;
};

struct SandboxState {
  std::string dir;
  std::string config_path;
  ServerState postgres;
  ServerState mariadb;
  // With replicas (`sandbox up --replicas`): a second PostgreSQL with default settings
  // (wal_level = replica; config names pg2_*), a second MariaDB (server-id 2; my2_*), both holding
  // the database "app" only, and a free port and empty folder for a physical standby that a
  // replica plan creates (pgstandby_app; data folder standby/data).
  bool replicas = false;
  ServerState postgres2;
  ServerState mariadb2;
  ServerState standby;
};

// The folder `sandbox up` uses without --dir: $TMPDIR/shardshift-sandbox (or /tmp/...).
std::string DefaultDir();

class Sandbox {
 public:
  explicit Sandbox(std::string dir);

  // Starts both servers and creates the example databases and the shardshift user; writes the
  // config. Throws SandboxError(kAlreadyRunning) when this folder's servers run; on any failure it
  // stops what it started.
  SandboxState Up(bool replicas = false);
  // The same with only the engines asked for (a rehearsal of a one-engine plan starts one); the
  // config then names only their databases.
  SandboxState Up(bool replicas, bool postgres, bool mariadb);
  // Stops both servers (fast shutdown) and removes the folder. Throws kNotRunning when there is
  // no sandbox in the folder.
  void Down();
  // Restarts the PostgreSQL server (fast shutdown: every session is cut; same port and data), as a
  // server restart under a running migration looks. Throws kNotRunning without a running sandbox.
  void RestartPostgres() const;
  // Restarts the MariaDB server, or its replica (SIGTERM, then the same options, port and data):
  // what a server restart forgets (SET GLOBAL) is gone. Throws kNotRunning when it does not run.
  void RestartMariadb(bool replica) const;
  // nullopt when the folder holds no sandbox.
  std::optional<SandboxState> Status() const;

  // Runs examples/seed/<engine>_<database>.sql files found in seed_dir against the sandbox's
  // databases (pg_app.sql -> pg_app). Returns the names seeded.
  std::vector<std::string> Seed(const std::string& seed_dir) const;

 private:
  std::string dir_;
};

}  // namespace shardshift::sandbox
