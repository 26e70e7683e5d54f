#include "sandbox/sandbox.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include "db/catalog.h"
#include "db/connection.h"
#include "db/error.h"
#include "plans/config.h"
#include "plans/plan.h"

namespace shardshift::sandbox {

namespace bp = boost::process;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";
constexpr const char* kSandboxUser = "shardshift";

SandboxError Failed(const std::string& message) {
  return SandboxError(SandboxError::Kind::kFailed, message);
}

// The account a server runs as: its system user when we are root, else ourselves.
struct Account {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

Account AccountFor(const std::string& user) {
  Account a;
  if (geteuid() != 0) return a;
  struct passwd* pw = getpwnam(user.c_str());
  if (!pw) {
    throw Failed("the system user '" + user + "' does not exist; install the server package "
                 "(scripts/install-deps.sh) or run as an ordinary user");
  }
  a.switch_user = true;
  a.uid = pw->pw_uid;
  a.gid = pw->pw_gid;
  return a;
}

// Runs in the child between fork and exec: a new session (so that a terminal's signals do not
// reach the server) and, as root, the server's own user.
struct ExecSetup : bp::extend::handler {
  Account account;
  template <class Executor>
  void on_exec_setup(Executor&) const {
    setsid();
    if (account.switch_user) {
      if (setgroups(0, nullptr) != 0 || setgid(account.gid) != 0 || setuid(account.uid) != 0) _exit(126);
    }
  }
};

void ChownTree(const fs::path& path, const Account& account) {
  if (!account.switch_user) return;
  auto chown_one = [&](const fs::path& p) {
    if (::chown(p.c_str(), account.uid, account.gid) != 0) {
      throw Failed("cannot chown " + p.string() + ": " + std::strerror(errno));
    }
  };
  chown_one(path);
  for (const auto& entry : fs::recursive_directory_iterator(path)) chown_one(entry.path());
}

std::string Tail(const fs::path& file, size_t lines = 15) {
  std::ifstream in(file);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "    " + all[i] + "\n";
  }
  return out;
}

// Runs a command to completion with its output in log; throws with the log's tail on failure.
void RunChecked(const std::string& exe, const std::vector<std::string>& args, const Account& account,
                const fs::path& log, const std::string& what) {
  int rc = -1;
  try {
    ExecSetup setup;
    setup.account = account;
    rc = bp::system(bp::exe = exe, bp::args = args, bp::std_in < bp::null,
                    bp::std_out > log.string(), bp::std_err > log.string(), setup);
  } catch (const std::exception& e) {
    throw Failed(what + ": cannot run " + exe + ": " + e.what());
  }
  if (rc != 0) {
    throw Failed(fmt::format("{} failed (exit {}); {} ends with:\n{}", what, rc, log.string(), Tail(log)));
  }
}

// Free ports chosen together so that the two servers never get the same one.
std::vector<int> FreePorts(size_t n) {
  std::vector<int> fds;
  std::vector<int> ports;
  for (size_t i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw Failed("cannot find a free port on 127.0.0.1");
    }
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) close(fd);
  return ports;
}

std::string RandomPassword() {
  std::random_device rd;
  std::string out;
  static const char* kChars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  for (int i = 0; i < 24; ++i) out += kChars[rd() % 57];
  return out;
}

// A server we started in this process is our child: reap it once it exits, or kill(pid, 0) would
// keep answering for the zombie.
bool Alive(int pid) {
  if (pid <= 0) return false;
  waitpid(pid, nullptr, WNOHANG);
  return kill(pid, 0) == 0 || errno == EPERM;
}

int ReadPid(const fs::path& pid_file) {
  std::ifstream in(pid_file);
  int pid = 0;
  in >> pid;
  return pid;
}

db::ConnectionUrl PgAdminUrl(const ServerState& server) {
  db::ConnectionUrl url;
  url.engine = db::Engine::kPostgres;
  url.scheme = "postgres";
  url.user = "postgres";
  url.host = server.socket;  // a directory: libpq connects over the unix socket
  url.port = server.port;
  url.database = "postgres";
  return url;
}

db::ConnectionUrl MyAdminUrl(const ServerState& server) {
  db::ConnectionUrl url;
  url.engine = db::Engine::kMySQL;
  url.scheme = "mysql";
  url.user = "root";
  url.host = "localhost";
  url.options.emplace_back("socket", server.socket);
  return url;
}

void WriteState(const SandboxState& s) {
  std::ofstream out(fs::path(s.dir) / "sandbox.toml");
  out << "# state of the shardshift sandbox in this folder; `shardshift sandbox down` removes it\n";
  out << "[postgres]\n";
  out << fmt::format("port = {}\ndata_dir = {}\nsocket = {}\n\n", s.postgres.port,
                     plans::TomlQuote(s.postgres.data_dir), plans::TomlQuote(s.postgres.socket));
  out << "[mariadb]\n";
  out << fmt::format("port = {}\npid = {}\ndata_dir = {}\nsocket = {}\n", s.mariadb.port,
                     s.mariadb.pid, plans::TomlQuote(s.mariadb.data_dir),
                     plans::TomlQuote(s.mariadb.socket));
  if (!s.replicas) return;
  out << fmt::format("\n[postgres2]\nport = {}\ndata_dir = {}\nsocket = {}\n", s.postgres2.port,
                     plans::TomlQuote(s.postgres2.data_dir), plans::TomlQuote(s.postgres2.socket));
  out << fmt::format("\n[mariadb2]\nport = {}\npid = {}\ndata_dir = {}\nsocket = {}\n", s.mariadb2.port,
                     s.mariadb2.pid, plans::TomlQuote(s.mariadb2.data_dir), plans::TomlQuote(s.mariadb2.socket));
  out << fmt::format("\n[standby]\nport = {}\ndata_dir = {}\n", s.standby.port, plans::TomlQuote(s.standby.data_dir));
}

void WriteConfig(const SandboxState& s, const std::string& password) {
  const fs::path path = s.config_path;
  std::string text =
      "# written by `shardshift sandbox up`: throwaway local servers. This file holds the\n"
      "# sandbox's generated password; real configs should say ${ENV_VAR} instead.\n";
  for (const std::string& db : kExampleDatabases) {
    if (s.postgres.port == 0) break;
    text += fmt::format("\n[databases.pg_{}]\nurl = \"postgres://{}:{}@127.0.0.1:{}/{}\"\n", db,
                        kSandboxUser, password, s.postgres.port, db);
  }
  for (const std::string& db : kExampleDatabases) {
    if (s.mariadb.port == 0) break;
    text += fmt::format("\n[databases.my_{}]\nurl = \"mysql://{}:{}@127.0.0.1:{}/{}\"\n", db,
                        kSandboxUser, password, s.mariadb.port, db);
  }
  if (s.replicas) {
    text += "\n# replica servers (sandbox up --replicas)\n";
    if (s.postgres2.port != 0) {
      text += fmt::format("[databases.pg2_app]\nurl = \"postgres://{}:{}@127.0.0.1:{}/app\"\n", kSandboxUser,
                          password, s.postgres2.port);
    }
    if (s.mariadb2.port != 0) {
      text += fmt::format("\n[databases.my2_app]\nurl = \"mysql://{}:{}@127.0.0.1:{}/app\"\n", kSandboxUser,
                          password, s.mariadb2.port);
    }
    if (s.standby.port != 0) {
      text += fmt::format("\n# a physical standby of pg_app that a replica plan creates in {}\n",
                          s.standby.data_dir);
      text += fmt::format("[databases.pgstandby_app]\nurl = \"postgres://{}:{}@127.0.0.1:{}/app\"\n", kSandboxUser,
                          password, s.standby.port);
    }
  }
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
}

// primary: the main server (logical WAL, workload extensions); else a plain second server with
// PostgreSQL's defaults (wal_level = replica) and only the database "app".
void StartPostgres(SandboxState& s, ServerState& server, const std::string& folder, bool primary,
                   const std::string& password) {
  const fs::path root = fs::path(s.dir) / folder;
  const fs::path data = root / "data";
  const fs::path run = root / "run";
  fs::create_directories(run);
  Account account = AccountFor("postgres");
  ChownTree(root, account);
  server.data_dir = data.string();
  server.socket = run.string();
  const fs::path log = root / "initdb.log";
  RunChecked(std::string(kPgBin) + "/initdb",
             {"-D", data.string(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale",
              "--no-sync"},
             account, log, "initdb of the sandbox PostgreSQL");
  {
    std::ofstream conf(data / "postgresql.conf", std::ios::app);
    conf << "\n# shardshift sandbox: loopback only, throwaway durability, replication-ready\n"
         << "listen_addresses = '127.0.0.1'\n"
         << "port = " << server.port << "\n"
         << "unix_socket_directories = '" << run.string() << "'\n"
         << "max_connections = 100\n"
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
         << "password_encryption = 'scram-sha-256'\n";
    if (primary) {
      conf << "wal_level = logical\nmax_replication_slots = 10\nmax_wal_senders = 10\n"
           << "shared_preload_libraries = 'pg_stat_statements,pg_qualstats'\n"
           << "pg_qualstats.sample_rate = 1\n";
    }
  }
  {
    std::ofstream hba(data / "pg_hba.conf", std::ios::trunc);
    hba << "local all all trust\n"
        << "host all all 127.0.0.1/32 scram-sha-256\n"
        << "host replication all 127.0.0.1/32 scram-sha-256\n";
  }
  ChownTree(data, account);
  RunChecked(std::string(kPgBin) + "/pg_ctl",
             {"-D", data.string(), "-l", (root / "server.log").string(), "-w", "-t", "60", "start"},
             account, root / "pg_ctl.log", "starting the sandbox PostgreSQL");
  server.pid = ReadPid(data / "postmaster.pid");
  server.running = true;
  auto admin = db::Connect(PgAdminUrl(server), "sandbox postgres");
  admin->Execute(fmt::format("CREATE ROLE {} LOGIN SUPERUSER REPLICATION PASSWORD '{}'", kSandboxUser, password));
  for (const std::string& db : primary ? kExampleDatabases : std::vector<std::string>{"app"}) {
    admin->Execute("CREATE DATABASE " + admin->Quote(db) + " OWNER " + kSandboxUser);
  }
}

// Starts mariadbd on an installed data folder and waits until it accepts connections; returns
// an admin connection.
std::unique_ptr<db::Connection> LaunchMariadb(ServerState& server, const fs::path& root, int server_id) {
  const fs::path error_log = root / "error.log";
  const fs::path pid_file = root / "run" / "mariadbd.pid";
  std::vector<std::string> args = {
      "--no-defaults",
      "--datadir=" + server.data_dir,
      "--socket=" + server.socket,
      "--port=" + std::to_string(server.port),
      "--bind-address=127.0.0.1",
      "--pid-file=" + pid_file.string(),
      "--log-error=" + error_log.string(),
      "--skip-name-resolve",
      "--local-infile=0",
      "--max-connections=200",
      "--innodb-buffer-pool-size=128M",
      "--innodb-flush-log-at-trx-commit=2",
      "--performance-schema=" + std::string(server_id == 1 ? "ON" : "OFF"),
      "--server-id=" + std::to_string(server_id),
      "--log-bin=mariadb-bin",
      "--binlog-format=ROW",
      "--relay-log=relay-bin",
  };
  try {
    ExecSetup setup;
    setup.account = AccountFor("mysql");
    bp::child child(bp::exe = "/usr/sbin/mariadbd", bp::args = args, bp::std_in < bp::null,
                     bp::std_out > (root / "stdout.log").string(), bp::std_err > error_log.string(),
                     setup);
    server.pid = child.id();
    child.detach();
  } catch (const std::exception& e) {
    throw Failed(std::string("cannot start /usr/sbin/mariadbd: ") + e.what());
  }
  // Wait until it accepts connections on its socket.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::unique_ptr<db::Connection> admin;
  while (!admin) {
    try {
      admin = db::Connect(MyAdminUrl(server), "sandbox mariadb", db::ConnectOptions{2, "shardshift"});
    } catch (const db::Error&) {
      if (!Alive(server.pid) || std::chrono::steady_clock::now() > deadline) {
        throw Failed("the sandbox MariaDB did not start; " + error_log.string() + " ends with:\n" +
                     Tail(error_log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  server.running = true;
  return admin;
}

void StartMariadb(SandboxState& s, ServerState& server, const std::string& folder, int server_id,
                  const std::string& password) {
  const bool primary = server_id == 1;
  const fs::path root = fs::path(s.dir) / folder;
  const fs::path data = root / "data";
  const fs::path run = root / "run";
  fs::create_directories(data);
  fs::create_directories(run);
  Account account = AccountFor("mysql");
  ChownTree(root, account);
  server.data_dir = data.string();
  server.socket = (run / "mariadbd.sock").string();
  RunChecked("/usr/bin/mariadb-install-db",
             {"--no-defaults", "--datadir=" + data.string(), "--auth-root-authentication-method=normal",
              "--skip-test-db", "--skip-name-resolve"},
             account, root / "install-db.log", "mariadb-install-db for the sandbox MariaDB");
  ChownTree(root, account);
  std::unique_ptr<db::Connection> admin = LaunchMariadb(server, root, server_id);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    admin->Execute(fmt::format("CREATE USER '{}'@'{}' IDENTIFIED BY '{}'", kSandboxUser, host, password));
    admin->Execute(fmt::format("GRANT ALL PRIVILEGES ON *.* TO '{}'@'{}' WITH GRANT OPTION",
                               kSandboxUser, host));
  }
  for (const std::string& db : primary ? kExampleDatabases : std::vector<std::string>{"app"}) {
    admin->Execute("CREATE DATABASE " + admin->Quote(db) + " CHARACTER SET utf8mb4");
  }
}

void StopPostgres(const SandboxState& s, const ServerState& server) {
  if (server.data_dir.empty() || !fs::exists(fs::path(server.data_dir) / "postmaster.pid")) return;
  Account account = AccountFor("postgres");
  RunChecked(std::string(kPgBin) + "/pg_ctl", {"-D", server.data_dir, "-m", "fast", "-w", "stop"},
             account, fs::path(s.dir) / "pg_ctl_stop.log", "stopping a sandbox PostgreSQL");
}

void StopMariadb(const ServerState& server) {
  int pid = server.pid;
  if (!Alive(pid)) return;
  kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Alive(pid) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (Alive(pid)) {
    spdlog::warn("MariaDB (pid {}) did not stop within 60 s; killing it", pid);
    kill(pid, SIGKILL);
  }
}

}  // namespace

std::string DefaultDir() {
  const char* tmp = std::getenv("TMPDIR");
  return (fs::path(tmp && *tmp ? tmp : "/tmp") / "shardshift-sandbox").string();
}

Sandbox::Sandbox(std::string dir) : dir_(fs::absolute(dir).lexically_normal().string()) {
  if (!dir_.empty() && dir_.back() == '/') dir_.pop_back();
}

std::optional<SandboxState> Sandbox::Status() const {
  const fs::path state_file = fs::path(dir_) / "sandbox.toml";
  if (!fs::exists(state_file)) return std::nullopt;
  SandboxState s;
  s.dir = dir_;
  s.config_path = (fs::path(dir_) / "shardshift.toml").string();
  try {
    toml::table t = toml::parse_file(state_file.string());
    s.postgres.port = t["postgres"]["port"].value_or(0);
    s.postgres.data_dir = t["postgres"]["data_dir"].value_or(std::string());
    s.postgres.socket = t["postgres"]["socket"].value_or(std::string());
    s.mariadb.port = t["mariadb"]["port"].value_or(0);
    s.mariadb.pid = t["mariadb"]["pid"].value_or(0);
    s.mariadb.data_dir = t["mariadb"]["data_dir"].value_or(std::string());
    s.mariadb.socket = t["mariadb"]["socket"].value_or(std::string());
    s.replicas = t.contains("postgres2");
    s.postgres2.port = t["postgres2"]["port"].value_or(0);
    s.postgres2.data_dir = t["postgres2"]["data_dir"].value_or(std::string());
    s.postgres2.socket = t["postgres2"]["socket"].value_or(std::string());
    s.mariadb2.port = t["mariadb2"]["port"].value_or(0);
    s.mariadb2.pid = t["mariadb2"]["pid"].value_or(0);
    s.mariadb2.data_dir = t["mariadb2"]["data_dir"].value_or(std::string());
    s.mariadb2.socket = t["mariadb2"]["socket"].value_or(std::string());
    s.standby.port = t["standby"]["port"].value_or(0);
    s.standby.data_dir = t["standby"]["data_dir"].value_or(std::string());
  } catch (const toml::parse_error& e) {
    throw Failed(state_file.string() + " is damaged: " + std::string(e.description()));
  }
  s.postgres.pid = ReadPid(fs::path(s.postgres.data_dir) / "postmaster.pid");
  s.postgres.running = Alive(s.postgres.pid);
  s.mariadb.running = Alive(s.mariadb.pid);
  if (s.replicas) {
    s.postgres2.pid = ReadPid(fs::path(s.postgres2.data_dir) / "postmaster.pid");
    s.postgres2.running = Alive(s.postgres2.pid);
    s.mariadb2.running = Alive(s.mariadb2.pid);
    s.standby.pid = ReadPid(fs::path(s.standby.data_dir) / "postmaster.pid");
    s.standby.running = Alive(s.standby.pid);
  }
  return s;
}

SandboxState Sandbox::Up(bool replicas) { return Up(replicas, true, true); }

SandboxState Sandbox::Up(bool replicas, bool postgres, bool mariadb) {
  if (auto existing = Status()) {
    if (existing->postgres.running || existing->mariadb.running) {
      throw SandboxError(
          SandboxError::Kind::kAlreadyRunning,
          fmt::format("the sandbox in {} is already running (postgres on 127.0.0.1:{}, mariadb on "
                      "127.0.0.1:{}); stop it with `shardshift sandbox down --dir {}`",
                      dir_, existing->postgres.port, existing->mariadb.port, dir_));
    }
    fs::remove_all(dir_);  // a stopped leftover: start afresh
  }
  if (fs::exists(dir_) && !fs::is_empty(dir_)) {
    throw Failed(dir_ + " exists and is not empty; give an empty or new folder with --dir");
  }
  fs::create_directories(dir_);
  // Server users must be able to reach their subfolders; the config inside is 0600.
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::replace);
  SandboxState s;
  s.dir = dir_;
  s.config_path = (fs::path(dir_) / "shardshift.toml").string();
  std::vector<int> ports = FreePorts(replicas ? 5 : 2);
  s.postgres.port = ports[0];
  s.mariadb.port = ports[1];
  s.replicas = replicas;
  if (replicas) {
    s.postgres2.port = ports[2];
    s.mariadb2.port = ports[3];
    s.standby.port = ports[4];
    s.standby.data_dir = (fs::path(dir_) / "standby" / "data").string();
  }
  // An engine not asked for keeps port 0: nothing starts for it and the config does not name it.
  if (!postgres) s.postgres.port = s.postgres2.port = s.standby.port = 0;
  if (!mariadb) s.mariadb.port = s.mariadb2.port = 0;
  const std::string password = RandomPassword();
  spdlog::info("starting{}{} in {}", postgres ? fmt::format(" PostgreSQL 15 on 127.0.0.1:{}", s.postgres.port) : "",
               mariadb ? fmt::format(" MariaDB on 127.0.0.1:{}", s.mariadb.port) : "", dir_);
  try {
    if (postgres) {
      StartPostgres(s, s.postgres, "postgres", true, password);
      WriteState(s);
    }
    if (mariadb) {
      StartMariadb(s, s.mariadb, "mariadb", 1, password);
      WriteState(s);
    }
    if (replicas) {
      spdlog::info("starting the replica servers:{}{}",
                   postgres ? fmt::format(" PostgreSQL on 127.0.0.1:{}", s.postgres2.port) : "",
                   mariadb ? fmt::format(" MariaDB on 127.0.0.1:{}", s.mariadb2.port) : "");
      if (postgres) {
        StartPostgres(s, s.postgres2, "postgres2", false, password);
        WriteState(s);
        // The standby's folder: created by a replica plan's pg_basebackup, as the postgres user.
        fs::create_directories(fs::path(s.standby.data_dir).parent_path());
        ChownTree(fs::path(s.standby.data_dir).parent_path(), AccountFor("postgres"));
      }
      if (mariadb) StartMariadb(s, s.mariadb2, "mariadb2", 2, password);
      WriteState(s);
    }
    WriteConfig(s, password);
  } catch (...) {
    try {
      StopMariadb(s.mariadb2);
      StopPostgres(s, s.postgres2);
      StopMariadb(s.mariadb);
      StopPostgres(s, s.postgres);
    } catch (const std::exception& e) {
      spdlog::warn("cleaning up after a failed sandbox start: {}", e.what());
    }
    throw;
  }
  return s;
}

void Sandbox::Down() {
  std::optional<SandboxState> s = Status();
  if (!s) {
    throw SandboxError(SandboxError::Kind::kNotRunning, "no sandbox in " + dir_);
  }
  spdlog::info("stopping the sandbox in {}", dir_);
  StopPostgres(*s, s->standby);  // a standby a replica plan started, if any
  StopMariadb(s->mariadb2);
  StopPostgres(*s, s->postgres2);
  StopMariadb(s->mariadb);
  StopPostgres(*s, s->postgres);
  fs::remove_all(dir_);
}

void Sandbox::RestartPostgres() const {
  std::optional<SandboxState> s = Status();
  if (!s || !s->postgres.running) {
    throw SandboxError(SandboxError::Kind::kNotRunning, "the sandbox PostgreSQL in " + dir_ + " is not running");
  }
  const fs::path root = fs::path(dir_) / "postgres";
  RunChecked(std::string(kPgBin) + "/pg_ctl",
             {"-D", s->postgres.data_dir, "-l", (root / "server.log").string(), "-m", "fast", "-w", "-t", "60", "restart"},
             AccountFor("postgres"), root / "pg_ctl.log", "restarting the sandbox PostgreSQL");
}

void Sandbox::RestartMariadb(bool replica) const {
  std::optional<SandboxState> s = Status();
  ServerState* server = s ? (replica ? &s->mariadb2 : &s->mariadb) : nullptr;
  if (!server || !server->running) {
    throw SandboxError(SandboxError::Kind::kNotRunning,
                       fmt::format("the sandbox MariaDB{} in {} is not running", replica ? " replica" : "", dir_));
  }
  StopMariadb(*server);
  LaunchMariadb(*server, fs::path(dir_) / (replica ? "mariadb2" : "mariadb"), replica ? 2 : 1);
  WriteState(*s);
}

std::vector<std::string> Sandbox::Seed(const std::string& seed_dir) const {
  std::optional<SandboxState> s = Status();
  if (!s || !s->postgres.running || !s->mariadb.running) {
    throw SandboxError(SandboxError::Kind::kNotRunning, "the sandbox in " + dir_ + " is not running");
  }
  db::Catalog catalog = db::Catalog::FromConfig(plans::LoadConfig(s->config_path));
  std::vector<std::string> seeded;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(seed_dir)) {
    if (entry.path().extension() == ".sql") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    const std::string name = file.stem().string();
    if (!catalog.Has(name)) continue;
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    spdlog::info("loading {} into {}", file.string(), name);
    auto conn = catalog.Connect(name);
    conn->ExecuteScript(text.str());
    seeded.push_back(name);
  }
  return seeded;
}

}  // namespace shardshift::sandbox
