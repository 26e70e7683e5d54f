#include "rehearse/rehearsal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/process.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "db/connection.h"
#include "db/error.h"
#include "executors/index_runner.h"
#include "executors/move_runner.h"
#include "executors/replica_runner.h"
#include "executors/runner.h"
#include "plans/config.h"
#include "sandbox/sandbox.h"

namespace shardshift::rehearse {

namespace fs = std::filesystem;
namespace bp = boost::process;

namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

// The config names a plan touches, in the order it names them.
std::vector<std::string> PlanDatabases(const plans::Plan& plan) {
  std::vector<std::string> out;
  auto add = [&](const std::string& name) {
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const plans::Step& s : plan.steps) {
    add(s.database);
    for (const char* p : {"sources", "targets", "databases"}) {
      for (const std::string& n : plans::StepParamList(s, p)) add(n);
    }
    add(plans::StepParam(s, "target"));
  }
  return out;
}

// A sandbox database's URL, password included: it goes into catalogs and the kept sandbox's config
// (0600), never to the screen.
std::string UrlText(const db::ConnectionUrl& u) {
  return fmt::format("{}://{}:{}@{}:{}/{}",
                     u.engine == db::Engine::kPostgres ? "postgres" : "mysql", u.user, u.password,
                     u.host, u.PortOrDefault(), u.database);
}

// A 0600 file in a 0700 folder, for a client's password.
std::string SecretFile(const fs::path& dir, const std::string& name, const std::string& text) {
  const fs::path f = dir / name;
  {
    std::ofstream out(f);
    out << text;
  }
  fs::permissions(f, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  return f.string();
}

std::string Tail(const fs::path& file, size_t max_lines = 5) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  std::string out;
  for (size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i)
    out += "\n  " + lines[i];
  return out;
}

// Runs a client program; its output goes to files in dir. Returns the exit code.
int Run(const std::string& program, const std::vector<std::string>& args, const fs::path& out,
        const fs::path& err, const std::map<std::string, std::string>& env = {},
        const std::string& in = "") {
  bp::environment e = boost::this_process::environment();
  for (const auto& [k, v] : env) e[k] = v;
  if (in.empty()) {
    bp::child c(program, bp::args = args, bp::std_in<bp::null, bp::std_out> out.string(),
                bp::std_err > err.string(), e);
    c.wait();
    return c.exit_code();
  }
  bp::child c(program, bp::args = args, bp::std_in<in, bp::std_out> out.string(),
              bp::std_err > err.string(), e);
  c.wait();
  return c.exit_code();
}

// Copies a real database's schema into the sandbox database with the engine's dump tool.
void CopySchema(const db::ConnectionUrl& from, const db::ConnectionUrl& to,
                const std::vector<std::string>& skip, const fs::path& work, const std::string& tag,
                RehearsalReport& report) {
  const fs::path dump = work / (tag + ".schema.sql");
  const fs::path err = work / (tag + ".dump.err");
  const fs::path load_err = work / (tag + ".load.err");
  int rc = 0;
  if (from.engine == db::Engine::kPostgres) {
    const std::string from_pass =
        SecretFile(work, tag + ".from.pgpass", db::PgpassLine(from));
    std::vector<std::string> args = {"--schema-only",
                                     "--no-owner",
                                     "--no-privileges",
                                     "--no-publications",
                                     "--no-subscriptions",
                                     "--no-password",
                                     "-h",
                                     from.host.empty() ? "127.0.0.1" : from.host,
                                     "-p",
                                     std::to_string(from.PortOrDefault()),
                                     "-U",
                                     from.user,
                                     "-f",
                                     dump.string()};
    for (const std::string& t : skip) args.insert(args.end(), {"--exclude-table", t});
    args.push_back(from.database);
    rc = Run(std::string(kPgBin) + "/pg_dump", args, work / (tag + ".dump.out"), err,
             {{"PGPASSFILE", from_pass}});
    if (rc != 0)
      throw db::Error(db::ErrorKind::kBadInput, fmt::format("pg_dump of {} failed (exit {}):{}",
                                                            from.Redacted(), rc, Tail(err)));
    const std::string to_pass =
        SecretFile(work, tag + ".to.pgpass", db::PgpassLine(to));
    rc = Run(std::string(kPgBin) + "/psql",
             {"-X", "-q", "--no-password", "-h", to.host, "-p", std::to_string(to.PortOrDefault()),
              "-U", to.user, "-d", to.database, "-f", dump.string()},
             work / (tag + ".load.out"), load_err, {{"PGPASSFILE", to_pass}});
  } else {
    auto options_file = [&](const std::string& name, const db::ConnectionUrl& url) {
      return SecretFile(work, name, db::MariadbClientOptions(url));
    };
    std::vector<std::string> args = {
        "--defaults-extra-file=" + options_file(tag + ".from.cnf", from),
        "--protocol=TCP",
        "--no-data",
        "--single-transaction",
        "--routines",
        "--triggers",
        "--skip-add-drop-table"};
    for (const std::string& t : skip) args.push_back("--ignore-table=" + from.database + "." + t);
    args.push_back(from.database);
    rc = Run("/usr/bin/mariadb-dump", args, dump, err);
    if (rc != 0) {
      throw db::Error(
          db::ErrorKind::kBadInput,
          fmt::format("mariadb-dump of {} failed (exit {}):{}", from.Redacted(), rc, Tail(err)));
    }
    rc = Run("/usr/bin/mariadb",
             {"--defaults-extra-file=" + options_file(tag + ".to.cnf", to), "--protocol=TCP",
              "--force", to.database},
             work / (tag + ".load.out"), load_err, {}, dump.string());
  }
  const std::string messages = Tail(load_err, 3);
  if (rc != 0 || !messages.empty()) {
    report.notes.push_back(fmt::format("loading {}'s schema said (exit {}):{}", tag, rc, messages));
  }
}

// Drops what a run in progress on the real database left in the copied schema (capture triggers
// and their functions; its tables were not copied): the rehearsal starts the plan from the
// beginning. Returns how many objects it dropped.
int DropShardshiftObjects(db::Connection& c) {
  const bool pg = c.engine() == db::Engine::kPostgres;
  db::ResultSet r =
      pg ? c.Query(
               "SELECT format('DROP TRIGGER %I ON %s', tgname, tgrelid::regclass) AS s FROM "
               "pg_trigger "
               "WHERE NOT tgisinternal AND tgname LIKE '\\_shardshift%' UNION ALL "
               "SELECT format('DROP FUNCTION %s', oid::regprocedure) FROM pg_proc "
               "WHERE proname LIKE '\\_shardshift%'")
         : c.Query(
               "SELECT CONCAT('DROP TRIGGER `', REPLACE(TRIGGER_NAME, '`', '``'), '`') AS s "
               "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() "
               "AND TRIGGER_NAME LIKE '\\_shardshift%'");
  for (size_t i = 0; i < r.rows.size(); ++i) c.Execute(r.Text(i, "s"));
  return static_cast<int>(r.rows.size());
}

// A writer standing in for the application: on one table, by key, it updates a text column (or
// touches the row) and deletes a row and puts it back, in turns, at a steady rate.
// The writer stands in for the application: its writes are captured and fenced.
db::ConnectOptions App() {
  db::ConnectOptions o;
  o.application_name = "shardshift-rehearsal";
  o.executor_session = false;
  return o;
}

class Writer {
 public:
  Writer(const db::Catalog& catalog, std::string database, std::string table, int rate)
      : catalog_(catalog), database_(std::move(database)), table_(std::move(table)), rate_(rate) {}

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t writes() const { return writes_; }
  int64_t errors() const { return errors_; }
  int64_t retried() const { return retried_; }
  int64_t fenced() const { return fenced_; }
  const std::string& first_retry() const { return first_retry_; }
  double first_retry_at() const { return first_retry_at_; }
  const std::string& first_error() const { return first_error_; }
  // The slowest write: milliseconds and when it started (steady seconds).
  std::pair<double, double> slowest() const { return {slowest_ms_, slowest_at_}; }
  const std::string& table() const { return table_; }

 private:
  void Loop() {
    try {
      auto c = catalog_.Connect(database_, App());
      const db::TableName name = db::TableName::Parse(table_);
      db::IntrospectOptions io;
      io.schema = c->engine() == db::Engine::kPostgres ? name.schema : "";
      io.table = name.name;
      io.statistics = false;
      db::SchemaInfo schema = c->Introspect(io);
      const db::TableInfo* t = schema.FindWritten(table_);
      if (!t || t->unique_keys.empty()) return;
      const std::vector<std::string> key = t->unique_keys.front();
      std::string text_column;
      for (const db::ColumnInfo& col : t->columns) {
        const bool in_key = std::any_of(
            t->unique_keys.begin(), t->unique_keys.end(),
            [&](const auto& k) { return std::find(k.begin(), k.end(), col.name) != k.end(); });
        std::string type = col.type;
        for (char& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (!in_key && col.generated.empty() &&
            (type == "text" || type.starts_with("varchar") ||
             type.starts_with("character varying") || type.ends_with("text"))) {
          text_column = col.name;
          break;
        }
      }
      std::vector<std::string> quoted_key;
      for (const std::string& k : key) quoted_key.push_back(c->Quote(k));
      std::string where;
      for (size_t i = 0; i < key.size(); ++i)
        where += fmt::format("{}{} = {}", i ? " AND " : "", quoted_key[i],
                             c->Placeholder(static_cast<int>(i + 1)));
      const std::string q = c->Quote(name);
      db::ResultSet keys =
          c->Query(fmt::format("SELECT {} FROM {} LIMIT 10000", fmt::join(quoted_key, ", "), q));
      if (keys.rows.empty()) return;
      std::mt19937_64 rng(std::hash<std::string>{}(table_));
      const auto pause = std::chrono::microseconds(rate_ > 0 ? 1000000 / rate_ : 1000000);
      for (int64_t n = 0; !stop_; ++n) {
        const db::Row& row = keys.rows[rng() % keys.rows.size()];
        db::Params params;
        for (const db::Value& v : row) params.push_back(db::Param(v, false));
        const double started = executors::SteadySeconds();
        try {
          if (n % 2 == 0) {
            const std::string value = fmt::format("w{}", rng() % 100000);
            if (text_column.empty()) {
              c->Execute(fmt::format("UPDATE {} SET {} = {} WHERE {}", q, quoted_key[0],
                                     quoted_key[0], where),
                         params);
            } else {
              db::Params p = {value};
              std::string w;
              for (size_t i = 0; i < key.size(); ++i) {
                w += fmt::format("{}{} = {}", i ? " AND " : "", quoted_key[i],
                                 c->Placeholder(static_cast<int>(i + 2)));
                p.push_back(db::Param(row[i], false));
              }
              c->Execute(fmt::format("UPDATE {} SET {} = {} WHERE {}", q, c->Quote(text_column),
                                     c->Placeholder(1), w),
                         p);
            }
          } else {
            // Delete the row and put it back, in one transaction: both triggers fire, the row
            // stays.
            c->Begin();
            db::ResultSet current =
                c->Query(fmt::format("SELECT * FROM {} WHERE {}", q, where), params);
            if (!current.rows.empty()) {
              std::vector<std::string> cols;
              std::vector<std::string> marks;
              db::Params values;
              for (size_t i = 0; i < current.columns.size(); ++i) {
                const db::ColumnInfo* col = t->FindColumn(current.columns[i].name);
                if (col && !col->generated.empty()) continue;
                cols.push_back(c->Quote(current.columns[i].name));
                marks.push_back(c->Placeholder(static_cast<int>(cols.size())));
                values.push_back(db::Param(current.rows[0][i], current.columns[i].binary));
              }
              c->Execute(fmt::format("DELETE FROM {} WHERE {}", q, where), params);
              // The row goes back as it was, identity included (GENERATED ALWAYS refuses it otherwise).
              const bool identity = c->engine() == db::Engine::kPostgres &&
                                    std::any_of(t->columns.begin(), t->columns.end(),
                                                [](const db::ColumnInfo& col) { return col.identity; });
              c->Execute(fmt::format("INSERT INTO {} ({}){} VALUES ({})", q, fmt::join(cols, ", "),
                                     identity ? " OVERRIDING SYSTEM VALUE" : "", fmt::join(marks, ", ")),
                         values);
            }
            c->Commit();
          }
          ++writes_;
        } catch (const db::Error& e) {
          if (c->Usable() && c->InTransaction()) c->Rollback();
          if (!c->Usable()) c = catalog_.Connect(database_, App());
          // What an application retries (a deadlock with the copy's locks, a lock wait timeout) is
          // reported as such; a sampled child row whose parent was not sampled cannot be put back
          // (the sample's doing, not the plan's); anything else is an error.
          const std::string what = e.what();
          if (what.find("shardshift migration '") != std::string::npos) {
            ++fenced_;  // the sources are fenced after the cutover: refused by name, as planned
          } else if (e.kind() == db::ErrorKind::kDeadlock || e.kind() == db::ErrorKind::kSerialization ||
              e.kind() == db::ErrorKind::kLockTimeout) {
            if (retried_++ == 0) {
              first_retry_ = what;
              first_retry_at_ = started;
            }
          } else if (what.find("foreign key constraint") == std::string::npos && errors_++ == 0) {
            first_error_ = what;
          }
        } catch (const std::exception& e) {
          if (c->Usable() && c->InTransaction()) c->Rollback();
          if (!c->Usable()) c = catalog_.Connect(database_, App());
          // A sampled child row whose parent was not sampled cannot be put back: the sample's
          // doing, not the plan's. Anything else is an error the application would see.
          const std::string what = e.what();
          if (what.find("foreign key constraint") == std::string::npos && errors_++ == 0)
            first_error_ = what;
        }
        const double ms = (executors::SteadySeconds() - started) * 1000;
        if (ms > slowest_ms_) {
          slowest_ms_ = ms;
          slowest_at_ = started;
        }
        std::this_thread::sleep_for(pause);
      }
    } catch (const std::exception& e) {
      if (errors_++ == 0) first_error_ = e.what();
    }
  }

  const db::Catalog& catalog_;
  std::string database_;
  std::string table_;
  int rate_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> writes_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> retried_{0};
  std::atomic<int64_t> fenced_{0};
  std::string first_error_;
  std::string first_retry_;
  double first_retry_at_ = 0;
  double slowest_ms_ = 0;
  double slowest_at_ = 0;
  std::thread thread_;
};

// Polls each sandbox database for write-blocking locks held on user tables, every 10 ms.
class LockMonitor {
 public:
  LockMonitor(const db::Catalog& catalog, std::vector<std::string> databases)
      : catalog_(catalog), databases_(std::move(databases)) {}
  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }
  // The locks seen, longest first; step_at names the step running when each was first seen.
  std::vector<LockSeen> Stop(const std::function<std::string(double)>& step_at) {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    std::vector<LockSeen> out;
    for (const auto& [key, seen] : seen_) {
      out.push_back({std::get<0>(key), std::get<2>(key), std::get<3>(key),
                     seen.second - seen.first + 0.01, step_at(seen.first)});
    }
    std::sort(out.begin(), out.end(),
              [](const LockSeen& a, const LockSeen& b) { return a.seconds > b.seconds; });
    return out;
  }
  std::string unavailable;  // why a server's locks could not be watched

 private:
  void Loop() {
    std::vector<std::pair<std::string, std::unique_ptr<db::Connection>>> conns;
    for (const std::string& name : databases_) {
      try {
        auto c = catalog_.Connect(name);
        if (c->engine() == db::Engine::kMySQL) {
          try {
            c->Query("SELECT 1 FROM information_schema.METADATA_LOCK_INFO LIMIT 1");
          } catch (const std::exception&) {
            c->Execute("INSTALL SONAME 'metadata_lock_info'");
          }
        }
        conns.emplace_back(name, std::move(c));
      } catch (const std::exception& e) {
        unavailable = name + ": " + e.what();
      }
    }
    while (!stop_) {
      for (auto& [name, c] : conns) {
        try {
          db::ResultSet r =
              c->engine() == db::Engine::kPostgres
                  ? c->Query(
                        "SELECT l.pid::text AS who, l.mode AS mode, c.relname AS tbl FROM pg_locks "
                        "l "
                        "JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = "
                        "c.relnamespace "
                        "WHERE l.granted AND n.nspname NOT IN ('pg_catalog', 'information_schema', "
                        "'pg_toast') "
                        "AND l.database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database()) AND "
                        "c.relkind IN ('r', 'p') "
                        "AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', "
                        "'AccessExclusiveLock') "
                        "AND c.relname NOT LIKE '\\_shardshift%' AND c.relname NOT LIKE "
                        "'\\_ss\\_%' "
                        "AND l.pid <> pg_backend_pid()")
                  : c->Query(
                        "SELECT CAST(THREAD_ID AS CHAR) AS who, LOCK_MODE AS mode, TABLE_NAME AS "
                        "tbl "
                        "FROM information_schema.METADATA_LOCK_INFO WHERE TABLE_SCHEMA = "
                        "DATABASE() AND LOCK_MODE IN "
                        "('MDL_SHARED_NO_WRITE', 'MDL_SHARED_NO_READ_WRITE', 'MDL_EXCLUSIVE', "
                        "'MDL_SHARED_READ_ONLY') AND TABLE_NAME NOT LIKE '\\_shardshift%' "
                        "AND TABLE_NAME NOT LIKE '\\_ss\\_%'");
          const double now = executors::SteadySeconds();  // the locks were held by now
          for (size_t i = 0; i < r.rows.size(); ++i) {
            auto key = std::make_tuple(name, r.Text(i, "who"), r.Text(i, "tbl"), r.Text(i, "mode"));
            auto it = seen_.find(key);
            if (it == seen_.end()) {
              seen_[key] = {now, now};
            } else {
              it->second.second = now;
            }
          }
        } catch (const std::exception& e) {
          if (!c->Usable()) {
            try {
              c = catalog_.Connect(name);
            } catch (const std::exception&) {
            }
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  const db::Catalog& catalog_;
  std::vector<std::string> databases_;
  std::atomic<bool> stop_{false};
  std::map<std::tuple<std::string, std::string, std::string, std::string>,
           std::pair<double, double>>
      seen_;
  std::thread thread_;
};

}  // namespace

RehearsalReport Rehearse(const plans::Plan& plan, const db::Catalog& real,
                         const RehearsalOptions& options) {
  RehearsalReport report;
  const std::vector<std::string> names = PlanDatabases(plan);
  for (const std::string& n : names)
    real.Url(n);  // unknown names: bad input, before anything starts
  // A replica plan's replicas go to the sandbox's second servers (logical and GTID) or its standby
  // port (physical); they start empty, as the plan expects.
  std::string primary;
  std::map<std::string, std::string> replica_method;  // replica config name -> method
  for (const plans::Step& s : plan.steps) {
    if (plans::StepParam(s, "action") != "check_primary") continue;
    primary = plans::StepParam(s, "primary");
    for (const nlohmann::json& r : nlohmann::json::parse(plans::StepParam(s, "replicas"))) {
      replica_method[r.at("database").get<std::string>()] = r.at("method").get<std::string>();
    }
  }
  for (const char* method : {"physical", "gtid"}) {
    if (std::count_if(replica_method.begin(), replica_method.end(),
                      [&](const auto& r) { return r.second == method; }) > 1) {
      throw db::Error(db::ErrorKind::kBadInput,
                      fmt::format("rehearse runs one {} replica at a time (the sandbox has "
                                  "one server for it); split the spec",
                                  method));
    }
  }
  plans::Plan rehearsed = plan;
  // Hooks and the check command run the user's commands, which may act on production.
  std::set<std::string> left_out;
  for (plans::Step& s : rehearsed.steps) {
    for (auto it = s.params.begin(); it != s.params.end();) {
      if (!options.run_hooks && (it->first.starts_with("hook.") || it->first == "check_command") &&
          it->first != "hook_timeout_ms") {
        left_out.insert(it->first.starts_with("hook.") ? it->first.substr(5) : it->first);
        it = s.params.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!left_out.empty()) {
    report.notes.push_back(
        fmt::format("not run, as they may act outside the sandbox: {} (--run-hooks runs them, "
                    "with SHARDSHIFT_REHEARSAL=1 in their environment)",
                    fmt::join(left_out, ", ")));
  }
  if (options.run_hooks) ::setenv("SHARDSHIFT_REHEARSAL", "1", 1);
  // The sandbox, stopped at the end (also on failure) unless kept.
  const std::string dir =
      options.dir.empty()
          ? (fs::temp_directory_path() / fmt::format("shardshift-rehearse-{}", getpid())).string()
          : options.dir;
  sandbox::Sandbox box(dir);
  spdlog::info("rehearse: starting a sandbox in {}", dir);
  // The databases the plan reads rows from: sources, the shards of an index build, a primary.
  std::set<std::string> data_databases;
  for (const plans::Step& s : plan.steps) {
    if (s.kind == plans::StepKind::kCapture || s.kind == plans::StepKind::kBackfill ||
        s.kind == plans::StepKind::kBuildIndex) {
      data_databases.insert(s.database);
    }
    for (const std::string& n : plans::StepParamList(s, "sources")) data_databases.insert(n);
  }
  if (!primary.empty()) data_databases.insert(primary);
  // Only the engines the plan uses: MariaDB's first start alone takes seconds.
  bool uses_postgres = false;
  bool uses_mariadb = false;
  for (const std::string& n : names) {
    (real.Url(n).engine == db::Engine::kPostgres ? uses_postgres : uses_mariadb) = true;
  }
  sandbox::SandboxState state = box.Up(!replica_method.empty(), uses_postgres, uses_mariadb);
  report.sandbox_dir = dir;
  struct Down {
    sandbox::Sandbox& box;
    bool keep;
    ~Down() {
      if (keep) return;
      try {
        box.Down();
      } catch (const std::exception& e) {
        spdlog::warn("stopping the rehearsal sandbox: {}", e.what());
      }
    }
  } down{box, options.keep};
  // Ctrl-C or SIGTERM: nothing of the rehearsal is worth keeping, but its servers must not outlive
  // it.
  std::atomic<bool> finished{false};
  std::thread watcher;
  if (options.stop) {
    watcher = std::thread([&] {
      while (!finished) {
        if (*options.stop) {
          spdlog::warn("rehearse: interrupted; stopping the sandbox in {}", dir);
          if (!options.keep) {
            try {
              box.Down();
            } catch (const std::exception& e) {
              spdlog::warn("stopping the rehearsal sandbox: {}", e.what());
            }
          }
          std::_Exit(130);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  struct Join {
    std::atomic<bool>& finished;
    std::thread& watcher;
    ~Join() {
      finished = true;
      if (watcher.joinable()) watcher.join();
    }
  } join{finished, watcher};
  const db::Catalog sandbox_catalog = db::Catalog::FromConfig(plans::LoadConfig(state.config_path));
  const db::ConnectionUrl pg_admin =
      uses_postgres ? sandbox_catalog.Url("pg_app") : db::ConnectionUrl{};
  const db::ConnectionUrl my_admin =
      uses_mariadb ? sandbox_catalog.Url("my_app") : db::ConnectionUrl{};
  const fs::path work = fs::path(dir) / "rehearsal";
  fs::create_directories(work);
  fs::permissions(work, fs::perms::owner_all, fs::perm_options::replace);

  // One sandbox database per real database (aliases share one), under the real database's name
  // where no other real database of that engine has it.
  std::map<std::string, std::string> sandbox_db;  // real "engine host:port/db" -> sandbox db name
  std::map<std::string, std::string> config_to_sandbox;  // config name -> sandbox url text
  std::set<std::string> used;
  std::vector<db::CatalogEntry> entries;
  for (const std::string& name : names) {
    const db::ConnectionUrl& u = real.Url(name);
    const bool pg = u.engine == db::Engine::kPostgres;
    if (replica_method.count(name)) {
      const std::string method = replica_method.at(name);
      db::ConnectionUrl to = pg ? pg_admin : my_admin;
      to.database = u.database;
      if (method == "physical") {
        to.port = state.standby.port;
        for (plans::Step& s : rehearsed.steps) {
          if (s.database != name) continue;
          if (s.params.count("data_dir")) s.params["data_dir"] = state.standby.data_dir;
          if (s.params.count("port")) s.params["port"] = std::to_string(state.standby.port);
          if (s.params.count("host")) s.params["host"] = "127.0.0.1";
        }
        report.notes.push_back(fmt::format("{} (a physical standby) is rehearsed in {}, on port {}",
                                           name, state.standby.data_dir, state.standby.port));
      } else {
        // An empty database on the second server: the plan creates what the replica holds.
        const std::string admin_name = pg ? "pg2_app" : "my2_app";
        to.port = sandbox_catalog.Url(admin_name).port;
        std::string candidate = u.database;
        for (int i = 2; used.count((pg ? "pg2 " : "my2 ") + candidate); ++i)
          candidate = fmt::format("{}_{}", u.database, i);
        used.insert((pg ? "pg2 " : "my2 ") + candidate);
        to.database = candidate;
        auto a = sandbox_catalog.Connect(admin_name);
        if (pg &&
            a->Query("SELECT 1 FROM pg_database WHERE datname = $1", {candidate}).rows.empty()) {
          a->Execute("CREATE DATABASE " + a->Quote(candidate));
        } else if (!pg) {
          a->Execute("CREATE DATABASE IF NOT EXISTS " + a->Quote(candidate));
        }
      }
      entries.push_back({name, UrlText(to), "rehearsal of " + name});
      continue;
    }
    const std::string id =
        fmt::format("{} {}:{}/{}", pg ? "pg" : "my", u.host, u.PortOrDefault(), u.database);
    if (!sandbox_db.count(id)) {
      std::string candidate = u.database;
      for (int i = 2; used.count((pg ? "pg " : "my ") + candidate); ++i)
        candidate = fmt::format("{}_{}", u.database, i);
      if (candidate != u.database) {
        report.notes.push_back(
            fmt::format("{} is rehearsed in a database named {} (another database of the plan "
                        "has its name); SQL that names the database may differ",
                        name, candidate));
      }
      used.insert((pg ? "pg " : "my ") + candidate);
      sandbox_db[id] = candidate;
      const db::ConnectionUrl& admin = pg ? pg_admin : my_admin;
      auto a = sandbox_catalog.Connect(pg ? "pg_app" : "my_app");
      if (pg) {
        if (a->Query("SELECT 1 FROM pg_database WHERE datname = $1", {candidate}).rows.empty()) {
          a->Execute("CREATE DATABASE " + a->Quote(candidate));
        }
      } else {
        a->Execute("CREATE DATABASE IF NOT EXISTS " + a->Quote(candidate));
      }
      db::ConnectionUrl to = admin;
      to.database = candidate;
      // The schema, without shardshift's own tables (a run in progress on the real database).
      auto source = real.Connect(name);
      db::IntrospectOptions io;
      io.statistics = false;
      db::SchemaInfo schema = source->Introspect(io);
      std::vector<std::string> skip;
      for (const db::TableInfo& t : schema.tables) {
        if (db::IsShardshiftTable(t.name)) skip.push_back(pg ? t.schema + "." + t.name : t.name);
      }
      spdlog::info("rehearse: copying the schema of {} and up to {} rows a table", name,
                   options.sample_rows);
      CopySchema(u, to, skip, work, name, report);
      const db::Catalog one({{"rehearsal", UrlText(to), "rehearsal"}}, "rehearsal");
      auto target = one.Connect("rehearsal");
      if (const int dropped = DropShardshiftObjects(*target); dropped > 0) {
        report.notes.push_back(fmt::format(
            "{} holds {} capture trigger(s) and function(s) of a run in progress: left out, the "
            "rehearsal runs the plan from its beginning",
            name, dropped));
      }
      // Rows only where the plan reads them: a database it only writes to (a reshard's targets, a
      // split's new home) starts as the real run would want it, without copies of earlier runs.
      const bool copy_rows = data_databases.count(name) > 0;
      if (!copy_rows) {
        report.notes.push_back(name +
                               ": schema only (the plan writes there; its rows are not copied)");
      }
      // A sample of each table's rows: the first sample_rows in key order, loaded with foreign key
      // checks off (a sample of a child table may miss its parents).
      target->Execute(pg ? "SET session_replication_role = replica" : "SET FOREIGN_KEY_CHECKS = 0");
      for (const db::TableInfo& t : schema.tables) {
        if (db::IsShardshiftTable(t.name) || !copy_rows) continue;
        std::vector<std::string> cols;
        for (const db::ColumnInfo& c : t.columns) {
          if (c.generated.empty()) cols.push_back(source->Quote(c.name));
        }
        std::vector<std::string> order;
        const std::vector<std::string> key =
            t.primary_key.empty() && !t.unique_keys.empty() ? t.unique_keys.front() : t.primary_key;
        for (const std::string& k : key) order.push_back(source->Quote(k));
        if (key.empty())
          report.notes.push_back(fmt::format("{}.{} has no key: its sample is any {} rows", name,
                                             t.name, options.sample_rows));
        const db::TableName tn{pg ? t.schema : "", t.name};
        db::ResultSet rows = source->Query(fmt::format(
            "SELECT {} FROM {}{} LIMIT {}", fmt::join(cols, ", "), source->Quote(tn),
            order.empty() ? "" : " ORDER BY " + fmt::format("{}", fmt::join(order, ", ")),
            options.sample_rows));
        if (!rows.rows.empty())
          target->BulkInsert(
              tn,
              [&] {
                std::vector<std::string> plain;
                for (const db::ColumnMeta& m : rows.columns) plain.push_back(m.name);
                return plain;
              }(),
              rows);
        target->Execute(std::string(pg ? "ANALYZE " : "ANALYZE TABLE ") + target->Quote(tn));
        report.tables.push_back({name, pg ? t.schema + "." + t.name : t.name,
                                 static_cast<int64_t>(rows.rows.size()), t.row_estimate});
      }
    }
    db::ConnectionUrl to = pg ? pg_admin : my_admin;
    to.database = sandbox_db[id];
    entries.push_back({name, UrlText(to), "rehearsal of " + name});
  }
  const db::Catalog catalog(entries, "the rehearsal sandbox");
  if (options.keep) {
    std::string text =
        "# the rehearsal's databases, under the plan's names (sandbox: " + dir + ")\n";
    for (const db::CatalogEntry& e : entries)
      text += fmt::format("\n[databases.{}]\nurl = \"{}\"\n", e.name, e.url_text);
    report.sandbox_config = SecretFile(dir, "rehearsal.toml", text);
  }

  // The writers: one per table the plan captures or indexes.
  std::vector<std::unique_ptr<Writer>> writers;
  std::set<std::pair<std::string, std::string>> written;
  for (const plans::Step& s : plan.steps) {
    if ((s.kind == plans::StepKind::kCapture || s.kind == plans::StepKind::kBuildIndex) &&
        !plans::StepParam(s, "table").empty() &&
        written.insert({s.database, plans::StepParam(s, "table")}).second &&
        options.writes_per_second > 0) {
      writers.push_back(std::make_unique<Writer>(catalog, s.database, plans::StepParam(s, "table"),
                                                 options.writes_per_second));
    }
  }
  // A replica plan: the application writes to the primary's tables.
  for (const CopiedTable& t : report.tables) {
    if (t.database == primary && written.insert({t.database, t.table}).second &&
        options.writes_per_second > 0) {
      writers.push_back(
          std::make_unique<Writer>(catalog, t.database, t.table, options.writes_per_second));
    }
  }
  std::vector<std::string> watched;  // the replicas take no writes of their own
  for (const std::string& n : names) {
    if (!replica_method.count(n)) watched.push_back(n);
  }
  LockMonitor monitor(catalog, watched);
  monitor.Start();
  for (auto& w : writers) w->Start();
  std::this_thread::sleep_for(
      std::chrono::milliseconds(200));  // the writers are writing before the plan starts

  executors::ApplyOptions run;
  run.routing_path =
      (work / (replica_method.empty() ? "plan.routing.toml" : "plan.router.toml")).string();
  run.progress_bar = options.progress_bar;
  // Every finished step, also from a run that fails later (its result is then lost).
  std::mutex timings_mu;
  std::vector<executors::StepTiming> timings;
  run.on_step = [&](const executors::StepTiming& t) {
    std::lock_guard<std::mutex> hold(timings_mu);
    timings.push_back(t);
  };
  executors::ApplyResult result;
  const double started = executors::SteadySeconds();
  try {
    if (plan.header.kind == "replica") {
      executors::ReplicaRunner runner(rehearsed, catalog);
      run.cleanup = true;
      result = runner.Apply(run);
    } else if (plan.header.kind == "create_index") {
      executors::IndexRunner runner(rehearsed, catalog);
      run.cleanup = true;
      result = runner.Apply(run);
      // MariaDB drops IGNORED indexes at cleanup; one more apply finishes that.
    } else if (plan.header.kind == "move_tables") {
      executors::MoveRunner runner(rehearsed, catalog);
      result = runner.Apply(run);
      if (result.cleanup_pending) {
        run.cleanup = true;
        executors::ApplyResult more = runner.Apply(run);
        result.ran.insert(result.ran.end(), more.ran.begin(), more.ran.end());
      }
    } else {
      executors::Runner runner(rehearsed, catalog);
      result = runner.Apply(run);
      // A vertical split's contract and a reshard's cleanup come in a later apply, as a user runs
      // them.
      if (!result.stopped_before.empty() || result.cleanup_pending) {
        run.cleanup = true;  // only once the cutover is done: apply --cleanup refuses before it
        executors::ApplyResult more = runner.Apply(run);
        result.ran.insert(result.ran.end(), more.ran.begin(), more.ran.end());
      }
    }
  } catch (const executors::VerificationFailed& e) {
    report.failure =
        fmt::format("verification found {} difference(s)", e.report().differences_total);
  } catch (const std::exception& e) {
    report.failure = e.what();
  }
  for (auto& w : writers) w->Stop();
  // The step that was running at a moment: the latest one started by then, if it had not long
  // finished. (A lock is first seen after it was taken, so the step that took it started before.)
  auto step_at = [&](double t) -> std::string {
    const executors::StepTiming* best = nullptr;
    for (const executors::StepTiming& st : timings) {
      if (st.started <= t && (!best || st.started > best->started)) best = &st;
    }
    return best && t <= best->started + best->seconds + 0.02 ? best->id : "";
  };
  report.locks = monitor.Stop(step_at);
  if (!monitor.unavailable.empty()) {
    report.notes.push_back("locks not watched on " + monitor.unavailable);
  }
  for (const executors::StepTiming& t : timings) {
    for (const plans::Step& s : plan.steps) {
      if (s.id == t.id) {
        report.steps.push_back({t.id, std::string(plans::StepKindName(s.kind)), s.database,
                                t.seconds, s.estimate.seconds});
      }
    }
  }
  report.write_blocked_ms = result.write_blocked_ms;
  // A verify step that finished found no difference, whether or not a later step failed.
  report.verified =
      result.verified ||
      std::any_of(report.steps.begin(), report.steps.end(), [](const RehearsedStep& s) {
        return s.kind == plans::StepKindName(plans::StepKind::kVerify);
      });
  report.verified_rows = result.verify.source_rows;
  report.rows_copied = result.rows_copied;
  report.copy_seconds = result.copy_seconds;
  for (const CopiedTable& t : report.tables) {
    if (written.count({t.database, t.table}) ||
        written.count({t.database, db::TableName::Parse(t.table).name})) {
      report.real_rows += std::max<int64_t>(t.real_estimate, t.rows);
    }
  }
  report.changes_replayed = result.changes_replayed;
  for (auto& w : writers) {
    report.writes += w->writes();
    report.write_errors += w->errors();
    report.write_retries += w->retried();
    report.write_fenced += w->fenced();
    if (report.first_write_retry.empty() && !w->first_retry().empty()) {
      const std::string during = step_at(w->first_retry_at());
      report.first_write_retry =
          w->table() + (during.empty() ? "" : " during " + during) + ": " + w->first_retry();
    }
    if (report.first_write_error.empty() && !w->first_error().empty()) {
      report.first_write_error = w->table() + ": " + w->first_error();
    }
    const auto [ms, at] = w->slowest();
    if (ms > report.slowest_write_ms) {
      report.slowest_write_ms = ms;
      report.slowest_write_step = step_at(at);
    }
  }
  report.seconds = executors::SteadySeconds() - started;
  return report;
}

}  // namespace shardshift::rehearse
