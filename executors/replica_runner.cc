#include "executors/replica_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "db/error.h"
#include "db/replication_check.h"
#include "db/row_sql.h"
#include "executors/child_process.h"
#include "executors/failpoint.h"
#include "executors/pacing.h"
#include "executors/retry.h"
#include "plans/copy_params.h"
#include "plans/plan.h"
#include "plans/toml_reader.h"

namespace shardshift::executors {

namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";
constexpr int64_t kVerifyChunkRows = 5000;
constexpr int kVerifyAttempts = 5;
constexpr double kConvergeSeconds = 10;
// The folder of one run's dump logs: the prefix and the run's pid.
constexpr const char* kDumpFolderPrefix = "shardshift-dump-";


db::Error Failed(const std::string& message) { return db::Error(db::ErrorKind::kStatement, message); }

// In the child: the owner of the folder it works in (PostgreSQL will not run as root); none of our
// descriptors but `keep`, and it dies with us (child_process.h).
struct AsOwner : bp::extend::handler {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t parent = ::getpid();
  int keep = -1;
  template <class Executor>
  void on_exec_setup(Executor&) const {
    setsid();
    if (switch_user && (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) _exit(126);
    PrepareChild(parent, keep);
  }
};

AsOwner OwnerOf(const fs::path& folder) {
  AsOwner a;
  struct stat st {};
  if (geteuid() == 0 && ::stat(folder.c_str(), &st) == 0 && st.st_uid != 0) {
    a.switch_user = true;
    a.uid = st.st_uid;
    a.gid = st.st_gid;
  }
  return a;
}

std::string Tail(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > 8 ? lines.size() - 8 : 0; i < lines.size(); ++i) out += "\n    " + lines[i];
  return out;
}

// Runs a program to completion as the owner of folder, its output in log. The environment gets
// extra (passwords go this way, never on the command line).
void RunProgram(const std::string& what, const std::string& exe, const std::vector<std::string>& args,
                const fs::path& folder, const std::map<std::string, std::string>& extra, const fs::path& log) {
  bp::environment env = boost::this_process::environment();
  for (const auto& [k, v] : extra) env[k] = v;
  int rc = -1;
  try {
    rc = bp::system(bp::exe = exe, bp::args = args, bp::std_in < bp::null, bp::std_out > log.string(),
                    bp::std_err > log.string(), env, OwnerOf(folder));
  } catch (const std::exception& e) {
    throw Failed(what + ": cannot run " + exe + ": " + e.what());
  }
  if (rc != 0) throw Failed(fmt::format("{} failed (exit {}); {} ends with:{}", what, rc, log.string(), Tail(log)));
}

std::string RandomSecret() {
  std::random_device rd;
  static const char* kChars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  for (int i = 0; i < 32; ++i) out += kChars[rd() % 57];
  return out;
}

// A libpq keyword value, quoted.
std::string ConnValue(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// "0-1-42,1-2-7" -> domain -> sequence number
std::map<std::string, int64_t> GtidSeqs(const std::string& pos) {
  std::map<std::string, int64_t> out;
  std::stringstream in(pos);
  for (std::string item; std::getline(in, item, ',');) {
    const size_t a = item.find('-');
    const size_t b = item.rfind('-');
    if (a == std::string::npos || b == a) continue;
    out[item.substr(0, a)] = std::stoll(item.substr(b + 1));
  }
  return out;
}

std::string Text(const db::ResultSet& r, size_t row, const std::string& column) {
  return r.At(row, column).value_or("");
}

// Removes the dump folders of runs that are gone (killed: no exit path removed them; those of older
// versions held the passwords). A folder whose pid is a live shardshift is that run's own.
void RemoveDumpFoldersOfDeadRuns() {
  std::string self;
  std::getline(std::ifstream("/proc/self/comm"), self);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kDumpFolderPrefix)) continue;
    std::string comm;
    std::getline(std::ifstream("/proc/" + name.substr(std::string(kDumpFolderPrefix).size()) + "/comm"), comm);
    if (!comm.empty() && comm == self) continue;
    std::error_code gone;
    fs::remove_all(entry.path(), gone);
    if (!gone) spdlog::info("removed {}, which a killed run left behind", entry.path().string());
  }
}

// A synchronous PostgreSQL replica keeps its promise when the primary counts it as synchronous
// and the commits in its database wait (synchronous_commit). sr: its pg_stat_replication row.
void PostgresSync(db::Connection& p, const db::ResultSet& sr, ReplicaHealth& h) {
  if (!sr.rows.empty() && h.sync_state != "sync" && h.sync_state != "quorum") {
    h.unkept.push_back(fmt::format("the primary does not wait for it (sync_state {}): synchronous_standby_names ('{}') "
                                   "does not name it", h.sync_state,
                                   p.Query("SELECT current_setting('synchronous_standby_names') AS s").Text(0, "s")));
  }
  const db::SyncCommitSettings c = db::ReadSyncCommit(p);
  if (!c.server.empty() && !db::SyncCommitWaits(c.server)) {
    h.unkept.push_back(fmt::format("no commit on the primary waits for it: synchronous_commit is '{}' server-wide "
                                   "(ALTER SYSTEM SET synchronous_commit = 'on'; SELECT pg_reload_conf())", c.server));
  }
  if (!c.not_waiting.empty()) {
    h.unkept.push_back(fmt::format("commits do not wait for it under synchronous_commit set per role or database ({}): "
                                   "{}", fmt::join(c.not_waiting, "; "), fmt::join(c.fixes, "; ")));
  }
}

// A semi-synchronous MariaDB replica keeps its promise when both sides have semi-sync on, its I/O
// thread replies as a semi-sync replica, and the primary has not fallen back to asynchronous.
void MariadbSemiSync(db::Connection& p, db::Connection& r, ReplicaHealth& h) {
  auto status = [](db::Connection& c) {
    std::map<std::string, std::string> out;
    db::ResultSet s = c.Query(
        "SELECT UPPER(VARIABLE_NAME) AS n, VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE "
        "VARIABLE_NAME IN ('Rpl_semi_sync_slave_status', 'Rpl_semi_sync_master_status', "
        "'Rpl_semi_sync_master_clients')");
    for (size_t i = 0; i < s.rows.size(); ++i) out[s.Text(i, "n")] = s.Text(i, "v");
    return out;
  };
  const size_t before = h.unkept.size();
  const auto on_r = status(r);
  const auto on_p = status(p);
  const std::string timeout = p.Query("SELECT @@rpl_semi_sync_master_timeout AS t").Text(0, "t");
  if (r.Query("SELECT @@rpl_semi_sync_slave_enabled AS e").Text(0, "e") != "1") {
    h.unkept.push_back("semi-sync is off on the replica (rpl_semi_sync_slave_enabled = OFF; SET GLOBAL does not "
                       "survive a restart): put rpl_semi_sync_slave_enabled = ON in the [mariadb] section of its "
                       "configuration, and now: SET GLOBAL rpl_semi_sync_slave_enabled = ON; STOP SLAVE IO_THREAD; "
                       "START SLAVE IO_THREAD");
  } else if (on_r.count("RPL_SEMI_SYNC_SLAVE_STATUS") && on_r.at("RPL_SEMI_SYNC_SLAVE_STATUS") != "ON") {
    h.unkept.push_back("the replica's I/O thread does not reply as a semi-sync replica (it started before semi-sync "
                       "was on): STOP SLAVE IO_THREAD; START SLAVE IO_THREAD");
  }
  if (p.Query("SELECT @@rpl_semi_sync_master_enabled AS e").Text(0, "e") != "1") {
    h.unkept.push_back("semi-sync is off on the primary (rpl_semi_sync_master_enabled = OFF): put "
                       "rpl_semi_sync_master_enabled = ON in its configuration, and now SET GLOBAL "
                       "rpl_semi_sync_master_enabled = ON");
  } else if (on_p.count("RPL_SEMI_SYNC_MASTER_STATUS") && on_p.at("RPL_SEMI_SYNC_MASTER_STATUS") != "ON") {
    h.unkept.push_back(fmt::format("the primary has fallen back to asynchronous replication: no semi-sync replica "
                                   "acknowledged a commit within rpl_semi_sync_master_timeout ({} ms); it switches "
                                   "back once one catches up", timeout));
  } else if (on_p.count("RPL_SEMI_SYNC_MASTER_CLIENTS") && on_p.at("RPL_SEMI_SYNC_MASTER_CLIENTS") == "0") {
    h.unkept.push_back("no semi-sync replica is connected to the primary (Rpl_semi_sync_master_clients = 0)");
  }
  h.sync_state = h.unkept.size() == before ? "semi-sync" : "async";
}

}  // namespace

ReplicaRunner::ReplicaRunner(const plans::Plan& plan, const db::Catalog& catalog, LockMode lock,
                         std::chrono::milliseconds lock_wait)
    : plan_(plan), catalog_(catalog), params_(plans::ReadReplicaParams(plan)) {
  if (lock != LockMode::kNone) {
    lock_conn_ = catalog_.Connect(params_.primary);
    if (!RunLock(*lock_conn_, plan_.header.name,
                 lock == LockMode::kRequire ? lock_wait : std::chrono::milliseconds(0))
             .acquired() &&
        lock == LockMode::kRequire) {
      throw db::Error(db::ErrorKind::kBadInput, "another shardshift is running plan '" + plan_.header.name +
                                                    "' (it holds the run lock on database '" + params_.primary + "')");
    }
  }
  const std::string home = params_.primary;
  state_ = std::make_unique<RunState>([this, home] { return catalog_.Connect(home); }, plan_.header.name);
  states_ = state_->Load();
}

ReplicaRunner::~ReplicaRunner() = default;

void ReplicaRunner::CheckPrimary(const plans::Step& step) {
  // The plan said what the primary lacked; a run starts only once that is fixed. Checked again
  // live, with the planner's own checks: the settings may have been fixed (or changed) since.
  auto p = catalog_.Connect(params_.primary);
  db::ReplicationReadiness now;
  if (p->engine() == db::Engine::kPostgres) {
    bool logical = false;
    bool sync = false;
    int64_t need = 0;
    for (const plans::ReplicaEntryParams& r : params_.replicas) {
      logical = logical || r.method == "logical";
      sync = sync || r.mode == "sync";
      need += r.method == "logical" ? 3 : 1;
    }
    // Slots and senders this plan's replicas hold already are theirs, not competitors.
    for (const plans::ReplicaEntryParams& r : params_.replicas) {
      if (db::SlotExists(*p, r.object)) need -= r.method == "logical" ? 3 : 1;
    }
    db::CheckPostgresPrimary(*p, logical, std::max<int64_t>(0, need), sync, now);
  } else {
    db::CheckMariadbPrimary(*p, now);
    for (const plans::ReplicaEntryParams& r : params_.replicas) {
      auto replica = catalog_.Connect(r.database);
      db::CheckMariadbPrivileges(*p, *replica, now);
    }
  }
  if (!now.ready()) {
    throw db::Error(db::ErrorKind::kBadInput,
                    fmt::format("the primary '{}' is not ready: {}; the plan's step {} says what to change{}; nothing "
                                "was changed", params_.primary, fmt::join(now.problems, "; "), step.id,
                                now.restart ? " (and that the server must restart)" : ""));
  }
  if (const std::string& blocked = params_.steps.at(step.id).blocked; !blocked.empty()) {
    spdlog::info("the primary now has what the plan found missing ({})", blocked);
  }
}

void ReplicaRunner::Subscribe(const plans::Step& step) {
  auto r = catalog_.Connect(step.database);
  const std::string& object = ReplicaOf(step).object;
  if (!r->Query("SELECT 1 FROM pg_subscription WHERE subname = $1", {object}).rows.empty()) return;
  const db::ConnectionUrl& p = catalog_.Url(params_.primary);
  const std::string conninfo = fmt::format("host={} port={} dbname={} user={} password={} application_name={}",
                                           ConnValue(p.host), p.PortOrDefault(), ConnValue(p.database),
                                           ConnValue(p.user), ConnValue(p.password), ConnValue(object));
  std::string literal = "'";
  for (char c : conninfo) literal += c == '\'' ? std::string("''") : std::string(1, c);
  literal += "'";
  try {
    r->Execute("CREATE SUBSCRIPTION " + r->Quote(object) + " CONNECTION " + literal + " PUBLICATION " +
               r->Quote(object) + " WITH (copy_data = true)");
  } catch (const db::Error& e) {
    // The statement held the password: the error quotes the plan's text instead.
    throw db::Error(e.kind(), e.what(), e.sqlstate(), e.errnum(), step.sql.empty() ? "" : step.sql.front());
  }
}

void ReplicaRunner::BaseBackup(const plans::Step& step) {
  const fs::path data = params_.steps.at(step.id).data_dir;
  if (fs::exists(data / "standby.signal") && fs::exists(data / "backup_manifest")) return;  // done earlier
  if (fs::exists(data) && !fs::is_empty(data)) {
    // A copy a killed run left half done (no backup_manifest yet): it is ours, start it again.
    if (fs::exists(data / "postmaster.pid")) throw Failed(data.string() + " holds a running server");
    spdlog::warn("{}: removing the incomplete copy a killed run left in {}", step.id, data.string());
    for (const auto& entry : fs::directory_iterator(data)) fs::remove_all(entry.path());
  }
  fs::create_directories(data);
  const fs::path parent = data.parent_path();
  AsOwner owner = OwnerOf(parent);
  if (owner.switch_user && ::chown(data.c_str(), owner.uid, owner.gid) != 0) {
    throw Failed("cannot hand " + data.string() + " to the owner of " + parent.string());
  }
  fs::permissions(data, fs::perms::owner_all, fs::perm_options::replace);
  const db::ConnectionUrl& p = catalog_.Url(params_.primary);
  RunProgram("pg_basebackup", std::string(kPgBin) + "/pg_basebackup",
             {"-h", p.host, "-p", std::to_string(p.PortOrDefault()), "-U", p.user, "-D", data.string(), "-X", "stream",
              "-S", ReplicaOf(step).object, "-R", "-c", "fast", "--no-sync"},
             parent, {{"PGPASSWORD", p.password}}, parent / "basebackup.log");
}

void ReplicaRunner::StartStandby(const plans::Step& step) {
  const fs::path data = params_.steps.at(step.id).data_dir;
  const fs::path parent = data.parent_path();
  try {
    auto c = catalog_.Connect(step.database);
    if (c->Query("SELECT pg_is_in_recovery() AS r").Text(0, "r") == "t") return;  // running already
    throw Failed(fmt::format("'{}' answers but is not a standby", step.database));
  } catch (const db::Error& e) {
    if (e.kind() == db::ErrorKind::kStatement) throw;
  }
  // The standby's own settings, after those pg_basebackup copied from the primary.
  {
    std::ofstream conf(data / "postgresql.auto.conf", std::ios::app);
    conf << "\n# shardshift: this standby's own settings\n"
         << "port = " << params_.steps.at(step.id).port << "\n"
         << "listen_addresses = '" << params_.steps.at(step.id).host << "'\n"
         << "unix_socket_directories = '" << parent.string() << "'\n"
         << "cluster_name = '" << ReplicaOf(step).object << "'\n"
         << "hot_standby = on\n";
  }
  RunProgram("starting the standby", std::string(kPgBin) + "/pg_ctl",
             {"-D", data.string(), "-l", (parent / "standby.log").string(), "-w", "-t", "120", "start"}, parent, {},
             parent / "pg_ctl.log");
}

// Client options (the password among them) in a file that exists in memory only: the child reads
// it as /dev/fd/N, and it vanishes with the last descriptor, whatever kills whom. Mode 0600: the
// clients ignore an option file others could write.
class MemoryOptionsFile {
 public:
  explicit MemoryOptionsFile(const std::string& text) : fd_(::memfd_create("shardshift-options", MFD_CLOEXEC)) {
    if (fd_ < 0 || ::fchmod(fd_, 0600) != 0 ||
        ::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      throw Failed(std::string("cannot hold the client options in memory: ") + std::strerror(errno));
    }
  }
  ~MemoryOptionsFile() { ::close(fd_); }
  MemoryOptionsFile(const MemoryOptionsFile&) = delete;
  MemoryOptionsFile& operator=(const MemoryOptionsFile&) = delete;
  int fd() const { return fd_; }
  std::string Argument() const { return "--defaults-extra-file=/dev/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

void ReplicaRunner::DumpCopy(const plans::Step& step, StepState& st) {
  const db::ConnectionUrl& p = catalog_.Url(params_.primary);
  const db::ConnectionUrl& r = catalog_.Url(step.database);
  // The clients' logs go to a folder of this run, removed at the end (a killed run's is removed at
  // the next start). Passwords never touch a disk or a command line.
  const fs::path dir = fs::temp_directory_path() / fmt::format("{}{}", kDumpFolderPrefix, getpid());
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  const MemoryOptionsFile from(db::MariadbClientOptions(p));
  const MemoryOptionsFile to(db::MariadbClientOptions(r));
  AsOwner dump_setup;
  dump_setup.keep = from.fd();
  AsOwner load_setup;
  load_setup.keep = to.fd();
  bp::ipstream dump_out;
  bp::opstream load_in;
  std::string gtid;
  int dump_rc = -1;
  int load_rc = -1;
  // Neither child inherits the other's pipe ends (nor anything else of ours, see AsOwner): the
  // loader would hold the dump's output open and never see the end of its own input.
  try {
    bp::child load("/usr/bin/mariadb", bp::args = {to.Argument(), "--protocol=TCP", "--batch"},
                   bp::std_in < load_in, bp::std_out > (dir / "load.out").string(),
                   bp::std_err > (dir / "load.err").string(), load_setup);
    bp::child dump("/usr/bin/mariadb-dump",
                   bp::args = {from.Argument(), "--protocol=TCP", "--single-transaction", "--gtid",
                               "--master-data=2", "--routines", "--triggers", "--databases", p.database},
                   bp::std_out > dump_out, bp::std_err > (dir / "dump.err").string(), dump_setup);
    const std::string marker = "gtid_slave_pos='";
    for (std::string line; std::getline(dump_out, line);) {
      if (gtid.empty() && line.starts_with("--") && line.find(marker) != std::string::npos) {
        const size_t from_pos = line.find(marker) + marker.size();
        gtid = line.substr(from_pos, line.find('\'', from_pos) - from_pos);
      }
      load_in << line << '\n';
      if (line.starts_with("INSERT INTO")) KillPoint("replica.copying");
    }
    load_in.flush();
    load_in.pipe().close();
    dump.wait();
    load.wait();
    dump_rc = dump.exit_code();
    load_rc = load.exit_code();
  } catch (const std::exception& e) {
    throw Failed(std::string("the initial copy (mariadb-dump | mariadb) could not run: ") + e.what());
  }
  if (dump_rc != 0) throw Failed(fmt::format("mariadb-dump failed (exit {}):{}", dump_rc, Tail(dir / "dump.err")));
  if (load_rc != 0) throw Failed(fmt::format("loading the copy failed (exit {}):{}", load_rc, Tail(dir / "load.err")));
  if (gtid.empty()) throw Failed("mariadb-dump did not report the GTID position of its snapshot");
  st.cursor = gtid;  // change_master starts replication from here
  st.detail = "copied at GTID " + gtid;
}

void ReplicaRunner::ChangeMaster(const plans::Step& step) {
  auto r = catalog_.Connect(step.database);
  const std::string object = ReplicaOf(step).object.substr(0, 32);
  db::ResultSet status = r->Query("SHOW SLAVE STATUS");
  if (!status.rows.empty() && Text(status, 0, "Master_User") == object && Text(status, 0, "Slave_IO_Running") == "Yes" &&
      Text(status, 0, "Slave_SQL_Running") == "Yes") {
    return;  // replicating already
  }
  std::string gtid;
  for (const plans::Step& s : plan_.steps) {
    if (s.database == step.database && params_.steps.at(s.id).action == "dump_copy") gtid = states_[s.id].cursor;
  }
  if (gtid.empty()) throw Failed(step.id + ": the copy's GTID position is unknown; run the copy step again");
  auto p = catalog_.Connect(params_.primary);
  const std::string secret = RandomSecret();  // lives in the two servers only
  p->Execute("CREATE USER IF NOT EXISTS '" + object + "'@'%' IDENTIFIED BY ?", {secret});
  p->Execute("ALTER USER '" + object + "'@'%' IDENTIFIED BY ?", {secret});
  p->Execute("GRANT REPLICATION SLAVE ON *.* TO '" + object + "'@'%'");
  const bool semi = ReplicaOf(step).mode == "semi-sync";
  if (semi) p->Execute("SET GLOBAL rpl_semi_sync_master_enabled = ON");
  const db::ConnectionUrl& pu = catalog_.Url(params_.primary);
  r->Execute("STOP SLAVE");
  r->Execute("SET GLOBAL gtid_slave_pos = ?", {gtid});
  r->Execute("SET GLOBAL replicate_do_db = ?", {pu.database});
  r->Execute("CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = " + std::to_string(pu.PortOrDefault()) +
                 ", MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1",
             {pu.host, object, secret});
  if (semi) r->Execute("SET GLOBAL rpl_semi_sync_slave_enabled = ON");
  r->Execute("START SLAVE");
  if (semi) WaitModeInForce("semi-sync");
  // MariaDB has no SET PERSIST: what SET GLOBAL set is gone after a restart unless configured.
  spdlog::warn("{}: SET GLOBAL does not survive a restart: put replicate_do_db = {}{} in the [mariadb] section of the "
               "replica's configuration{}", step.database, pu.database,
               semi ? " and rpl_semi_sync_slave_enabled = ON" : "",
               semi ? ", and rpl_semi_sync_master_enabled = ON in the primary's" : "");
}

const plans::ReplicaEntryParams& ReplicaRunner::ReplicaOf(const plans::Step& step) const {
  const plans::ReplicaEntryParams* r = params_.Replica(step.database);
  if (r == nullptr) throw Failed("step " + step.id + " is about '" + step.database + "', not one of the plan's replicas");
  return *r;  // ReadReplicaParams refused such a plan already
}

ReplicaHealth ReplicaRunner::HealthOf(const plans::ReplicaEntryParams& replica) {
  ReplicaHealth h;
  h.database = replica.database;
  h.method = replica.method;
  h.mode = replica.mode;
  const std::string& object = replica.object;
  const int64_t max_bytes = replica.max_lag_bytes;
  const double max_seconds = replica.max_lag_seconds;
  try {
    if (h.method == "gtid") {
      auto r = catalog_.Connect(h.database);
      db::ResultSet s = r->Query("SHOW SLAVE STATUS");
      if (s.rows.empty()) {
        h.state = "not set up";
        return h;
      }
      const bool io = Text(s, 0, "Slave_IO_Running") == "Yes";
      const bool sql = Text(s, 0, "Slave_SQL_Running") == "Yes";
      const std::string error = !Text(s, 0, "Last_SQL_Error").empty() ? Text(s, 0, "Last_SQL_Error")
                                                                      : Text(s, 0, "Last_IO_Error");
      h.last_error = error;
      h.state = io && sql ? "streaming" : error.empty() ? "stopped" : "broken";
      if (!Text(s, 0, "Seconds_Behind_Master").empty()) h.lag_seconds = std::stod(Text(s, 0, "Seconds_Behind_Master"));
      auto p = catalog_.Connect(params_.primary);
      const auto have = GtidSeqs(r->Query("SELECT @@gtid_slave_pos AS g").Text(0, "g"));
      h.lag_transactions = 0;
      for (const auto& [domain, seq] : GtidSeqs(p->Query("SELECT @@gtid_binlog_pos AS g").Text(0, "g"))) {
        auto it = have.find(domain);
        h.lag_transactions += std::max<int64_t>(0, seq - (it == have.end() ? 0 : it->second));
      }
      // SET GLOBAL does not survive a restart: what the change_master step set is checked here.
      const db::ConnectionUrl& pu = catalog_.Url(params_.primary);
      const std::string filter = r->Query("SELECT @@replicate_do_db AS f").Text(0, "f");
      if (filter != pu.database) {
        h.unkept.push_back(fmt::format("replicate_do_db is '{}', not '{}' (lost at a restart?): the replica applies other "
                                       "databases of the primary too; put replicate_do_db = {} in the [mariadb] section "
                                       "of its configuration, and now: STOP SLAVE; SET GLOBAL replicate_do_db = '{}'; "
                                       "START SLAVE", filter, pu.database, pu.database, pu.database));
      }
      if (h.mode == "semi-sync") {
        MariadbSemiSync(*p, *r, h);
      }
      h.ready = h.state == "streaming" && h.lag_seconds >= 0 && h.lag_seconds <= max_seconds;
      return h;
    }
    auto p = catalog_.Connect(params_.primary);
    db::ResultSet sr = p->Query(
        "SELECT state, sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS bytes, "
        "COALESCE(EXTRACT(EPOCH FROM replay_lag), 0) AS secs FROM pg_stat_replication WHERE application_name = $1",
        {object});
    if (!sr.rows.empty()) {
      h.sync_state = Text(sr, 0, "sync_state");
      h.lag_seconds = std::stod(Text(sr, 0, "secs"));
    }
    if (h.method == "logical") {
      auto r = catalog_.Connect(h.database);
      db::ResultSet sub = r->Query(
          "SELECT s.subenabled AS enabled, (SELECT count(*) FROM pg_subscription_rel rel WHERE rel.srsubid = s.oid AND "
          "rel.srsubstate NOT IN ('r', 's')) AS copying, COALESCE(st.apply_error_count + st.sync_error_count, 0) AS "
          "errors FROM pg_subscription s LEFT JOIN pg_stat_subscription_stats st ON st.subid = s.oid WHERE s.subname = $1",
          {object});
      if (sub.rows.empty()) {
        h.state = "not set up";
        return h;
      }
      db::ResultSet slot = p->Query(
          "SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS bytes FROM "
          "pg_replication_slots WHERE slot_name = $1",
          {object});
      const int64_t errors = std::stoll(Text(sub, 0, "errors"));
      if (errors > 0) h.last_error = fmt::format("{} apply or copy error(s) since the counters started (the replica's "
                                                 "server log has the messages)", errors);
      if (Text(sub, 0, "enabled") != "t") {
        h.state = "stopped";
      } else if (slot.rows.empty() || (Text(slot, 0, "active") != "t" && errors > 0)) {
        h.state = "broken";
      } else {
        h.state = Text(sub, 0, "copying") != "0" ? "copying" : "streaming";
      }
      if (!slot.rows.empty() && !Text(slot, 0, "bytes").empty()) h.lag_bytes = std::stoll(Text(slot, 0, "bytes"));
    } else {
      if (sr.rows.empty()) {
        try {
          auto r = catalog_.Connect(h.database);
          if (r->Query("SELECT pg_is_in_recovery() AS r").Text(0, "r") != "t") {
            h.state = "not set up";
          } else if (!r->Query("SELECT 1 FROM pg_stat_wal_receiver").rows.empty()) {
            h.state = "copying";  // its WAL receiver is starting or catching up
          } else {
            h.state = "broken";
            h.last_error = "the standby runs but is not streaming from the primary (its server log says why)";
          }
        } catch (const db::Error& e) {
          h.state = "stopped";
          h.last_error = "the standby does not answer";
        }
        return h;
      }
      h.lag_bytes = Text(sr, 0, "bytes").empty() ? -1 : std::stoll(Text(sr, 0, "bytes"));
      h.state = Text(sr, 0, "state") == "streaming" ? "streaming" : "copying";
    }
    if (h.lag_seconds < 0) h.lag_seconds = 0;
    if (h.mode == "sync") PostgresSync(*p, sr, h);
    h.ready = h.state == "streaming" && h.lag_bytes >= 0 && h.lag_bytes <= max_bytes && h.lag_seconds <= max_seconds;
  } catch (const db::Error& e) {
    h.state = "broken";
    h.last_error = e.what();
  }
  return h;
}

void ReplicaRunner::WaitModeInForce(const std::string& mode) {
  const Clock::time_point start = Clock::now();
  for (const plans::ReplicaEntryParams& replica : params_.replicas) {
    if (replica.mode != mode) continue;
    for (;;) {
      const ReplicaHealth h = HealthOf(replica);
      if (h.unkept.empty()) break;
      if (SecondsSince(start) > 15) {
        throw Failed(fmt::format("the {} replica '{}' is not {} after {:.0f} s: {}", mode, h.database,
                                 mode == "sync" ? "synchronous" : "semi-synchronous", SecondsSince(start),
                                 fmt::join(h.unkept, "; ")));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

std::vector<ReplicaHealth> ReplicaRunner::Health() {
  std::vector<ReplicaHealth> out;
  for (const plans::ReplicaEntryParams& r : params_.replicas) out.push_back(HealthOf(r));
  return out;
}

void ReplicaRunner::WaitReady(const plans::Step& step) {
  const plans::ReplicaEntryParams& me = ReplicaOf(step);
  const double timeout = params_.ready_timeout_seconds;
  const Clock::time_point start = Clock::now();
  auto last_log = start;
  auto stopped_since = start;
  for (;;) {
    ReplicaHealth h = HealthOf(me);
    if (h.ready) {
      spdlog::info("{}: ready ({}, {} bytes and {:.1f} s behind)", step.database, h.state, h.lag_bytes, h.lag_seconds);
      return;
    }
    // A replica that stays stopped or broken for 30 s (a standby that does not answer, an apply
  // worker that keeps failing) will not come by waiting longer.
    if (h.state != "stopped" && h.state != "broken") stopped_since = Clock::now();
    if (SecondsSince(stopped_since) > 30 || SecondsSince(start) > timeout) {
      throw Failed(fmt::format("replica '{}' is not ready after {:.0f} s: {}{}", step.database, SecondsSince(start), h.state,
                               h.last_error.empty() ? "" : " (" + h.last_error + ")"));
    }
    if (SecondsSince(last_log) > 5) {
      spdlog::info("{}: {} — lag {} bytes, {:.1f} s", step.database, h.state, h.lag_bytes, h.lag_seconds);
      last_log = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::vector<std::string> ReplicaRunner::VerifyReplica(const plans::Step& step) {
  std::vector<std::string> problems;
  // A replica that does not replicate never catches up with a chunk: said at once, not after a
  // wait per chunk.
  const ReplicaHealth health = HealthOf(ReplicaOf(step));
  if (health.state == "not set up" || health.state == "stopped" || health.state == "broken") {
    problems.push_back(fmt::format("{}: the replica is not replicating ({}{}); nothing compared", step.database,
                                   health.state, health.last_error.empty() ? "" : ": " + health.last_error));
    return problems;
  }
  auto p = catalog_.Connect(params_.primary);
  auto r = catalog_.Connect(step.database);
  const std::string& method = ReplicaOf(step).method;
  const db::Engine engine = p->engine();
  // Where the primary is now, and whether the replica has got there (for a chunk read meanwhile).
  auto position = [&]() -> std::string {
    if (method == "gtid") return p->Query("SELECT @@gtid_binlog_pos AS g").Text(0, "g");
    // What a standby can have: the WAL flushed (with synchronous_commit = off, commits may trail it
    // for a moment; the retries below cover that).
    if (method == "physical") return p->Query("SELECT pg_current_wal_flush_lsn()::text AS l").Text(0, "l");
    return "";  // logical: a subscriber reports its position only now and then; retries do instead
  };
  auto catch_up = [&](const std::string& pos) {
    if (pos.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return;
    }
    const Clock::time_point start = Clock::now();
    while (SecondsSince(start) < 3) {
      if (method == "gtid") {
        if (r->Query("SELECT MASTER_GTID_WAIT(?, 1) AS w", {pos}).Text(0, "w") == "0") return;
      } else if (r->Query("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok", {pos}).Text(0, "ok") == "t") {
        return;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  };
  for (const plans::ReplicaTableParams& t : params_.steps.at(step.id).tables) {
    const db::TableName table = db::TableName::Parse(t.table);
    const db::RowSql rows(engine, table, t.key, t.columns);
    std::optional<db::KeyValues> after;
    for (bool last = false; !last;) {
      std::optional<db::KeyValues> upto;
      {
        const db::SqlText q = rows.KeyAtOffset(after, kVerifyChunkRows);
        db::ResultSet k = p->Query(q.sql, q.params);
        if (k.rows.empty()) {
          last = true;
        } else {
          upto = db::KeyValues{};
          for (const auto& v : k.rows[0]) upto->push_back(v.value_or(""));
        }
      }
      bool equal = false;
      std::string seen;
      for (int attempt = 1; attempt <= kVerifyAttempts && !equal; ++attempt) {
        const db::SqlText q = rows.Checksum(after, upto);
        db::ResultSet a = p->Query(q.sql, q.params);
        catch_up(position());
        db::ResultSet b = r->Query(q.sql, q.params);
        equal = Text(a, 0, "n") == Text(b, 0, "n") && Text(a, 0, "h") == Text(b, 0, "h");
        seen = fmt::format("{} rows on the primary, {} on the replica", Text(a, 0, "n"), Text(b, 0, "n"));
        if (!equal) std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
      }
      if (!equal) {
        // Under steady writes a chunk may never be still long enough to compare whole: the keys
        // that differ are followed instead. One in flight converges; one that stays different
        // for kConvergeSeconds is a difference, named.
        auto hashes = [&](db::Connection& c) {
          std::map<db::KeyValues, std::string> out;
          const db::SqlText q = rows.RowHashes(after, upto);
          db::ResultSet res = c.Query(q.sql, q.params);
          const size_t key_size = t.key.size();
          for (const db::Row& row : res.rows) {
            db::KeyValues k;
            for (size_t i = 0; i < key_size; ++i) k.push_back(row.at(i).value_or(""));
            out[k] = row.at(key_size).value_or("");
          }
          return out;
        };
        std::set<db::KeyValues> differing;
        const Clock::time_point start = Clock::now();
        for (bool first = true; first || (!differing.empty() && SecondsSince(start) < kConvergeSeconds); first = false) {
          const auto on_p = hashes(*p);
          catch_up(position());
          const auto on_r = hashes(*r);
          std::set<db::KeyValues> now;
          for (const auto& [k, h] : on_p) {
            auto it = on_r.find(k);
            if (it == on_r.end() || it->second != h) now.insert(k);
          }
          for (const auto& [k, h] : on_r) {
            if (!on_p.count(k)) now.insert(k);
          }
          if (first) {
            differing = now;
          } else {
            std::set<db::KeyValues> still;
            for (const auto& k : differing) {
              if (now.count(k)) still.insert(k);
            }
            differing = still;
          }
          if (!differing.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        if (!differing.empty()) {
          std::vector<std::string> keys;
          for (const auto& k : differing) {
            if (keys.size() == 5) break;
            keys.push_back("(" + fmt::format("{}", fmt::join(k, ", ")) + ")");
          }
          problems.push_back(fmt::format("{}: table {} differs at {} key(s), e.g. {} ({})", step.database,
                                         table.ToString(), differing.size(), fmt::join(keys, ", "), seen));
        }
      }
      after = upto;
    }
  }
  return problems;
}

std::vector<std::string> ReplicaRunner::Verify() {
  std::vector<std::string> problems;
  for (const plans::Step& step : plan_.steps) {
    if (step.kind != plans::StepKind::kVerify) continue;
    std::vector<std::string> p = VerifyReplica(step);
    problems.insert(problems.end(), p.begin(), p.end());
  }
  return problems;
}

void ReplicaRunner::WriteRouter(const std::string& path) {
  const db::ConnectionUrl& p = catalog_.Url(params_.primary);
  std::string out = "# written by `shardshift apply`: send writes to the primary, reads to a ready replica that\n"
                    "# gives the consistency the read needs. No password here: connect as your config says.\n";
  out += "format_version = 1\n";
  out += "migration = " + plans::TomlQuote(plan_.header.name) + "\n\n";
  out += "[primary]\n";
  out += "database = " + plans::TomlQuote(params_.primary) + "\n";
  out += fmt::format("host = {}\nport = {}\ndbname = {}\n", plans::TomlQuote(p.host), p.PortOrDefault(),
                     plans::TomlQuote(p.database));
  out += "role = \"read-write\"\n";
  for (const plans::Step& step : plan_.steps) {
    if (step.kind != plans::StepKind::kVerify) continue;
    const plans::ReplicaEntryParams& me = ReplicaOf(step);
    const ReplicaHealth h = HealthOf(me);
    const db::ConnectionUrl& u = catalog_.Url(step.database);
    const std::string& mode = me.mode;
    std::string reads;
    if (mode == "sync") {
      reads = "synchronous: a commit on the primary waits until this replica has flushed it; reads here may still "
              "trail by the replay (synchronous_commit = remote_apply makes them read-your-writes)";
    } else if (mode == "semi-sync") {
      reads = "semi-synchronous: a commit waits until a replica has received it (not applied): reads may trail";
    } else {
      reads = fmt::format("eventual: up to {} s behind (the plan's bound); not for reads that must see the "
                          "application's own writes", me.max_lag_seconds);
    }
    std::vector<std::string> tables;
    for (const plans::ReplicaTableParams& t : params_.steps.at(step.id).tables) tables.push_back(t.table);
    out += "\n[[replicas]]\n";
    out += "database = " + plans::TomlQuote(step.database) + "\n";
    out += fmt::format("host = {}\nport = {}\ndbname = {}\n", plans::TomlQuote(u.host), u.PortOrDefault(),
                       plans::TomlQuote(u.database));
    out += "role = \"read-only\"\n";
    out += "method = " + plans::TomlQuote(me.method) + "\n";
    out += "mode = " + plans::TomlQuote(mode) + "\n";
    out += "consistency = " + plans::TomlQuote(reads) + "\n";
    out += fmt::format("max_lag_seconds = {}\n", me.max_lag_seconds);
    if (me.method == "logical") {
      std::string list;
      for (const std::string& t : tables) list += (list.empty() ? "" : ", ") + plans::TomlQuote(t);
      out += "tables = [" + list + "]  # only these tables are there\n";
    }
    for (const std::string& what : h.unkept) out += "# NOT IN FORCE: " + what + "\n";
    out += std::string("ready = ") + (h.healthy() ? "true" : "false") + "  # when this file was written\n";
  }
  plans::WriteFileAtomically(path, out, "router file");
}

void ReplicaRunner::RunStep(const plans::Step& step, StepState& st, const ApplyOptions& options, ApplyResult& result) {
  const std::string& action = params_.steps.at(step.id).action;
  if (step.kind == plans::StepKind::kSql) {
    auto c = catalog_.Connect(step.database);
    for (const std::string& sql : step.sql) c->Execute(sql);  // each is idempotent
    // The step that makes commits wait: done when they do.
    if (params_.steps.at(step.id).makes_commits_wait) WaitModeInForce("sync");
    return;
  }
  if (step.kind == plans::StepKind::kVerify) {
    std::vector<std::string> problems = VerifyReplica(step);
    result.verified = true;
    if (!problems.empty()) {
      throw Failed(fmt::format("verification of '{}' found {} difference(s): {}", step.database, problems.size(),
                               fmt::join(problems, "; ")));
    }
    st.detail = "checksums equal";
    return;
  }
  if (action == "check_primary") return CheckPrimary(step);
  if (action == "subscribe") return Subscribe(step);
  if (action == "basebackup") return BaseBackup(step);
  if (action == "start_standby") return StartStandby(step);
  if (action == "dump_copy") return DumpCopy(step, st);
  if (action == "change_master") return ChangeMaster(step);
  if (action == "wait_lag") return WaitReady(step);
  if (action == "manual") {
    try {
      auto c = catalog_.Connect(step.database);
      if (c->Query("SELECT pg_is_in_recovery() AS r").Text(0, "r") == "t") return;
    } catch (const db::Error&) {
    }
    throw db::Error(db::ErrorKind::kBadInput, fmt::format("step {} is for you to do on the replica's host: {}; then run "
                                                          "apply again", step.id, step.description));
  }
  if (action == "router") {
    WriteRouter(options.routing_path);
    result.routing_published = true;
    return;
  }
  throw db::Error(db::ErrorKind::kBadInput, "step " + step.id + " has an action this shardshift does not know: " + action);
}

ApplyResult ReplicaRunner::Apply(const ApplyOptions& options) {
  ApplyResult result;
  // Whether the primary is ready is checked before anything is written, the run state included.
  for (const plans::Step& step : plan_.steps) {
    if (params_.steps.at(step.id).action == "check_primary" && states_[step.id].status != "done") CheckPrimary(step);
  }
  if (!options.dry_run) {
    RemoveDumpFoldersOfDeadRuns();
    state_->EnsureTable();
  }
  const int retries = static_cast<int>(params_.pace.retries);
  for (const plans::Step& step : plan_.steps) {
    StepState& st = states_[step.id];
    if (st.status == "done") continue;
    if (options.dry_run) {
      result.would_run.push_back(step.id);
      continue;
    }
    spdlog::info("step {}: {}", step.id, step.description);
    const double started = SteadySeconds();
    RunWithRetries(
        StepRetryPolicy(retries), [&](int) { RunStep(step, st, options, result); }, RealSleep,
        [&](int attempt, const std::exception& e) { spdlog::warn("{}: {}; retry {} of {}", step.id, e.what(), attempt, retries); });
    KillPoint("step.ran");
    st.status = "done";
    state_->Save(step.id, st);
    result.ran.push_back(step.id);
    Finished(result, options, {step.id, started, SteadySeconds() - started});
  }
  return result;
}

nlohmann::json ReplicaRunner::Status() {
  states_ = state_->Load();
  nlohmann::json steps = nlohmann::json::array();
  for (const plans::Step& step : plan_.steps) {
    const StepState& st = states_[step.id];
    steps.push_back({{"id", step.id}, {"kind", plans::StepKindName(step.kind)}, {"database", step.database},
                     {"status", st.status}, {"rows_done", st.rows_done}, {"detail", st.detail}});
  }
  return {{"plan", plan_.header.name}, {"steps", steps}, {"changelog_backlog", nlohmann::json::object()}};
}

}  // namespace shardshift::executors
