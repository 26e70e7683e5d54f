// The runner: applies a reshard plan step by step, exactly as the plan says, checkpointing each
// step in the run state so that a killed run continues where it stopped. It holds the run lock for
// its whole life (a second runner of the same plan is refused), refuses a plan whose sources
// changed shape since planning (drift), and orchestrates the roles: TargetWriter, Backfill, Replay,
// Verifier, and the handover (executors/cutover.cc): the cutover that fences the sources and opens
// the targets, the way back (the targets' changes copied to the sources until cleanup) and the
// revert. One unfinished plan per table: the first apply claims it (_shardshift_claims).
//
// Sources are copied in parallel, up to the plan's parallel_sources at once, each worker with its
// own connections. A lost connection, a restarted server, a lock timeout or a deadlock inside a step
// is retried a bounded number of times (the plan's retries): the worker reconnects and continues
// from its last checkpoint. The Runner itself is used from one thread.
//
// Its code, by role: runner.cc (loading the plan, the step loop, the copy: backfill, replay,
// follow, cleanup), verification.cc (the verify step, `verify`, proofs), cutover.cc (the
// handover), claims.cc (one plan per table), abandon.cc (apply --abandon), runner_status.cc
// (`status`); the capture streams are executors/source_streams.h.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "db/catalog.h"
#include "executors/command.h"
#include "executors/connections.h"
#include "executors/run_state.h"
#include "executors/source_streams.h"
#include "executors/verifier.h"
#include "plans/copy_params.h"
#include "plans/plan.h"

namespace shardshift::executors {

// When a step ran and for how long (steady-clock seconds, comparable within one process).
struct StepTiming {
  std::string id;
  double started = 0;
  double seconds = 0;
};
double SteadySeconds();

struct ApplyOptions {
  bool dry_run = false;             // connect and check everything, change nothing
  bool cleanup = false;             // run the cleanup steps (only once the cutover is done)
  bool revert = false;              // switch back to the sources (after the cutover, before cleanup)
  bool force = false;               // cleanup: drop changes not carried over (named in the refusal)
  // Give the plan up before its cutover (or after a revert): undo what its SQL and capture steps
  // did, in reverse (slots, publications, changelogs, position tables, target tables), forget its
  // run state and release its claim. Refused once it has switched.
  bool abandon = false;
  std::string routing_path;         // where the cutover publishes the routing map
  int64_t max_rows_per_second = -1; // backfill throttle; -1 = the plan's, 0 = none
  std::string until;                // stop before the first pending step of this kind ("cutover")
  bool progress_bar = false;        // draw progress bars on stderr (a terminal) rather than log lines
  // With until = "expand_complete" or "cutover": once there, keep replaying captured changes (the new
  // tables stay current, a log-captured plan keeps reading its stream) until *stop becomes true.
  bool follow = false;
  // Set by SIGINT/SIGTERM: the run stops at its next checkpoint; a running hook is killed with its
  // process group (inside the cutover's write block that undoes the cutover).
  const std::atomic<bool>* stop = nullptr;
  // Called as each step finishes (from the thread that ran it), also in runs that fail later.
  std::function<void(const StepTiming&)> on_step;
};


struct ApplyResult {
  std::vector<std::string> would_run;  // dry run: the ids of the steps that would run, in order
  std::vector<StepTiming> timings;     // the steps this run finished, in the order they finished
  std::vector<std::string> ran;        // the steps this run finished
  bool done_before = false;            // every step was recorded done by an earlier run of the plan's name
  int64_t rows_copied = 0;
  double copy_seconds = 0;
  int64_t changes_replayed = 0;
  int64_t write_blocked_ms = -1;       // measured at cutover
  bool routing_published = false;      // a reshard's cutover wrote the routing map
  int64_t last_changes_checked = 0;    // keys drained at cutover and compared row by row
  int64_t cutover_backlog = -1;        // changes queued when the catch-up let the block be taken
  int64_t drained_blocked = 0;         // changes replayed behind the write block
  int64_t check_pauses = 0;            // times the check command paused the copy
  int64_t retries = 0;                 // failures retried (lost connections, lock timeouts, ...)
  bool verified = false;
  VerifyReport verify;                 // when verification ran
  bool cleanup_pending = false;
  std::string stopped_before;          // the step --until stopped at
  std::vector<std::string> warnings;   // e.g. an after_cutover hook that failed
  bool reverted = false;               // --revert switched back to the sources
  int64_t reverse_replayed = 0;        // changes made on the targets copied back to the sources
  bool interrupted = false;            // SIGINT/SIGTERM stopped the run at a checkpoint
  std::vector<std::string> dropped;    // what cleanup removed, for the user
  bool abandoned = false;              // --abandon undid the plan
  std::vector<std::string> undone;     // --abandon: "step on database: statement", in the order run
};

// Records a finished step in the result and tells options.on_step.
void Finished(ApplyResult& result, const ApplyOptions& options, const StepTiming& timing);

// Verification found differences: the run stops, the keys are in the report.
class VerificationFailed : public std::runtime_error {
 public:
  explicit VerificationFailed(VerifyReport report);
  const VerifyReport& report() const { return report_; }

 private:
  VerifyReport report_;
};

// A hook refused the cutover, or failed while writes were blocked; the sources stay in use.
class CutoverAborted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class LockMode {
  kRequire,  // apply: refuse to run when another process holds the plan's run lock
  kTry,      // verify: take it when free (then replaying is safe), else run read-only
  kNone,     // status: never take it
};

// Whether table on conn has a trigger named name (the fence, a capture trigger).
bool TriggerExists(db::Connection& conn, const db::TableName& table, const std::string& name);

class Runner {
  friend class MoveRunner;  // a move_tables group drives its tables' runners through one cutover

 public:
  // Connects to the plan's home database and takes the run lock as asked; throws
  // db::Error(kBadInput) when kRequire finds it held. The catalog must outlive the runner.
  // kRequire waits up to lock_wait for a run lock another session holds (RunLock).
  Runner(const plans::Plan& plan, const db::Catalog& catalog, LockMode lock = LockMode::kRequire,
         std::chrono::milliseconds lock_wait = kRunLockWait);
  ~Runner();

  ApplyResult Apply(const ApplyOptions& options);
  // Verification at any time. Holding the run lock while capture runs, it replays the backlog first
  // and re-checks what differs after draining again, like the verify step. Without the lock (an
  // apply is running), keys that differ only because their captured change is not replayed yet are
  // reported as pending, not as differences.
  //
  // Holding the lock, a verification that agrees leaves a proof in the run state, which only
  // replay can make stale (targets are fenced against the application until the cutover, and every
  // change to a source is captured); every replay outside a verification forgets it first. While
  // a proof stands, Verify drains the changelog (exactly the changes since) and compares just the
  // keys it named, row by row, unless full is set.
  VerifyReport Verify(bool full = false);
  nlohmann::json Status();

 private:
  // Runs f, retrying retryable failures (reconnecting first) up to the plan's retries.
  void WithRetries(const std::string& what, Connections& conns, const std::function<void()>& f);
  // Makes sure the run lock is still held (its connection may have died with a server restart).
  void HoldLock();
  void CheckDrift();
  Router MakeRouter() const;
  TableMapping Mapping() const;  // the source table and the columns read from it (target = source)
  // What backfill and replay write through, on conns: the reshard's targets or the split's tables.
  std::unique_ptr<RowWriter> MakeWriter(Connections& conns) const;
  // A split or a shadow rebuild: rows go to new tables through a row mapping (outputs_).
  bool IsSplit() const { return plan_.header.kind == "vertical_split" || IsShadow(); }
  // A create_index plan's shadow-table rebuild: the cutover swaps the tables by name.
  bool IsShadow() const { return plan_.header.kind == "shadow_rebuild"; }
  // The shadow rebuild's swap happened: the old table is aside and the new one took its name.
  bool Swapped();
  // MariaDB's swap: the last changes applied under a WRITE lock, and a RENAME queued on another
  // session before the lock is released, so that it goes before any waiting write.
  void RunSwapMySQL(const plans::Step& step, StepState& st, ApplyResult& result);
  bool Done(const std::string& step_id) const;
  bool CleanedUp() const;  // a cleanup step ran: the window for apply --revert has ended
  void RunSql(const plans::Step& step);
  // A move_keys cleanup: the source's moved rows (matching where) deleted in throttled chunks.
  void DeleteInChunks(db::Connection& conn, const std::string& where);
  void RunBackfills(const std::vector<const plans::Step*>& steps, const ApplyOptions& options, ApplyResult& result);
  // Drains source's changelog; the keys applied are added to applied when it is given.
  // st/st_id: the replay step's state, where the backlog and its rates are reported.
  void RunReplay(const std::string& source, Connections& conns, ApplyResult& result,
                 std::vector<db::KeyValues>* applied = nullptr, StepState* st = nullptr,
                 const std::string& st_id = "");
  // The keys whose source row and target row differ (row by row, on conns).
  // source_conn/target_conn: the sessions to read through (those holding a write block), if any.
  std::vector<db::KeyValues> StillDiffering(const std::vector<db::KeyValues>& keys, Connections& conns,
                                            const std::function<db::Connection&(const std::string&)>& source_conn = nullptr,
                                            const std::function<db::Connection&(const std::string&)>& target_conn = nullptr);
  void DrainAll(ApplyResult& result);
  // Runs work (a comparison) while a second thread replays on its own connections, so that a
  // writer's changes do not pile up in the changelog for the comparison's length.
  void WhileReplaying(ApplyResult& result, const std::function<void()>& work);
  void Follow(const ApplyOptions& options, ApplyResult& result);
  VerifyReport VerifyOnce(Connections& conns);
  // Adds a VACUUM (ANALYZE) of every PostgreSQL target table to work (for RunAtOnce): before the
  // verify step reads them, and when a cutover's catch-up has replayed many changes.
  void AddTargetVacuums(std::vector<std::pair<db::Connection*, std::string>>& work);
  // The moved tables (on the sources and the targets, PostgreSQL) an autovacuum worker holds a lock
  // on now, as "database.table, ..."; empty when none.
  std::string AutovacuumingMovedTables();
  void RunVerifyStep(StepState& st, ApplyResult& result);
  void RunCutover(const plans::Step& step, StepState& st, const ApplyOptions& options, ApplyResult& result);
  // The cutover's moves, each idempotent (executors/cutover.cc).
  // One target database's side of the handover: the statement that blocks writes to its tables
  // (the reshard's target table, or the split's new tables there), the fence and its triggers.
  struct TargetSide {
    std::string database;
    std::string block_sql;
    std::vector<std::string> fence, unfence;
    std::vector<std::pair<db::TableName, std::string>> triggers;  // (table, trigger)
  };
  // The way back from one target table: read there (back.source), written to the sources
  // (back.target; a split updates the source's columns the new table took).
  struct WayBack {
    std::string database;
    TableMapping back;
    db::TableName changelog;
  };
  struct Handover {
    bool fence = false;  // the plan fences (params fence_sources etc.); older plans do not
    std::vector<std::string> fence_sources, unfence_sources, source_triggers;
    // Key gates (a move_keys table): fenced when these read 'fenced'; "" = trigger fences.
    std::string source_gate_state, target_gate_state;
    std::vector<TargetSide> sides;  // one per target database
    std::vector<WayBack> way_back;  // empty = no way back in this plan (older plans)
    bool UnfencesTargets() const {
      return std::any_of(sides.begin(), sides.end(), [](const TargetSide& s) { return !s.unfence.empty(); });
    }
  };
  void LoadHandover(const plans::CutoverParams& cutover);
  // MariaDB's shadow swap: a RENAME under a WRITE lock, with no fence on the source.
  bool ShadowOnMysql() const;
  // Every source has its fence up: a cutover decided the switch there (the next apply finishes it).
  bool SourcesFencedBySwitch();
  // Whether every target side has its fence up (a revert decided there).
  bool TargetsFenced();
  // Whether the source's fence is up on conn: its gate reads 'fenced', or all its triggers exist.
  bool SourceFenceUp(db::Connection& conn);
  // Whether every database in dbs has all of triggers on table (the fence is up there).
  bool FencedEverywhere(const std::vector<std::string>& dbs, const db::TableName& table,
                        const std::vector<std::string>& triggers);
  // A cutover that fenced the sources and was killed before recording it: finished here.
  void FinishSwitch(const plans::Step& step, StepState& st, const ApplyOptions& options, ApplyResult& result);
  void PublishMap(const std::string& path);
  // Drains the sources' changelogs with the sources writable until little is left (DESIGN rule 5).
  // first: the cutover's first catch-up, which takes the standing proof to carry over the switch.
  void CatchUp(const ApplyOptions& options, ApplyResult& result, bool first = true);
  // The cutover's window for several runners at once (a move_tables group; RunCutover is the group
  // of one): each catches up, then every source table of every member is blocked together,
  // each changelog drained and its last keys checked, every source fenced in the blocking sessions
  // (PostgreSQL: one commit per source database, so the switch is decided there at once), the
  // targets opened, the group's routing published, its hooks run; each member's step recorded.
  struct CutoverMember {
    Runner* runner;
    const plans::Step* step;
    StepState* st;
  };
  struct CutoverGroup {
    std::string routing_path;           // published by publish, withdrawn if the cutover is undone
    std::function<void()> publish;      // none: nothing published
    std::function<void()> unpublish;    // withdraws what publish did (none: the routing file is removed)
    std::function<std::optional<CommandResult>(const std::string& hook)> hook;
    // Statements for a target database's window, after the targets' unfence (a group's foreign
    // keys and counters), given the sessions that block the sources; what undoes them on MariaDB.
    std::function<std::vector<std::string>(const std::string& target,
                                           const std::function<db::Connection&(const std::string&)>& source_conn)>
        target_then;
    std::vector<std::string> target_undo;
  };
  static void CutoverWindow(std::vector<CutoverMember>& members, const CutoverGroup& group,
                            const ApplyOptions& options, ApplyResult& result);
  // apply --revert: the checks (a way back, not cleaned up, switched), then RevertWindow of one.
  void Revert(const ApplyOptions& options, ApplyResult& result);
  // Refuses (kBadInput) a revert this runner cannot make: no way back, cleaned up, not switched.
  void CheckRevertable();
  // The cutover's window run backwards, for several runners at once (a move_keys group, whose
  // tables share their key gates; Revert is the group of one): the way back caught up with the
  // targets writable, every target blocked together, each way back drained and its last keys
  // checked, the targets fenced (one commit per target database: the revert is decided there),
  // what the cutover published withdrawn (group.unpublish, else the routing file removed), the
  // sources opened under their block with the counters past the targets', the hooks run; on a
  // failure inside, all of it undone (group.publish puts back what was withdrawn). A run killed
  // after the targets' fence is finished by the next one. Each member's cutover step is recorded
  // pending (the next apply switches forward again).
  static void RevertWindow(std::vector<CutoverMember>& members, const CutoverGroup& group,
                           const ApplyOptions& options, ApplyResult& result);
  // Copies changes made on the targets back to the sources (the way back, after the cutover).
  // removed_ok: a changelog already dropped (by an interrupted cleanup) is skipped.
  void DrainReverse(Connections& conns, ApplyResult& result, std::vector<db::KeyValues>* applied = nullptr,
                    const std::function<db::Connection&(const std::string&)>& target_conn = nullptr,
                    bool removed_ok = false);
  // A split's table stays in use after the switch, so its capture keeps recording the writes of
  // the kept columns. None is needed: until a revert the new tables hold the moved columns, and
  // the fence refuses writes of them on the table; a revert unfences them only after draining the
  // way back, and what is recorded from then on is kept for the next switch. So the window's
  // entries are deleted as the way back runs (not without the fence: a late write of a moved
  // column may be among them).
  void PruneForward();
  Router SourceRouter() const;  // where a key lives among the sources (the reverse direction)
  bool Switched() const;        // the cutover is done and not reverted
  const plans::Step* CutoverStep() const;
  // Refuses (kBadInput) when another unfinished plan moves this plan's table (claims on sources).
  void Claim();
  void Release();
  bool Claimed();  // this plan holds a claim on a source (an apply of it got as far as its first step)
  // The cutover step's hook called name ("before_cutover", ...), if the plan has one.
  std::optional<CommandResult> Hook(const std::string& name, const ApplyOptions& options);
  void Cleanup(const ApplyOptions& options, ApplyResult& result);
  // apply --abandon (executors/abandon.cc); a dry run lists the statements in result.undone.
  void Abandon(const ApplyOptions& options, ApplyResult& result);
  // Re-compares the differing keys row by row; keeps those that still differ.
  void Recheck(VerifyReport& report, Connections& conns,
               const std::function<db::Connection&(const std::string&)>& source_conn = nullptr);
  bool CaptureRunning() const;
  // Log capture (executors/source_streams.h): whether the sources' streams are to run now (capture
  // in place, not switched), and the catch-up that puts every change committed on source (all when
  // "") in the changelog; a no-op for trigger capture.
  bool SourcesStreamed() const;
  void SyncSources(const std::string& source = "", std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // MariaDB's log capture: the cutover's block leaves the source's changelog unlocked (the stream
  // fills it from another session), and the drain reads it by a session of its own.
  bool ChangelogUnlocked(const std::string& source) const;
  // The claim's mark that its capture is in place: the capture trigger's name, or for log capture
  // "publication:" and the publication's name (MariaDB: "position:" and the position table's).
  std::string CaptureMark(const std::string& database) const;
  bool CaptureMarkLive(db::Connection& c, const db::TableName& table, const std::string& mark);
  // The proof a full comparison that agreed leaves (see Verify): its counts and time, and the keys
  // replayed since without being compared (those the cutover's catch-up and drain applied). It is
  // recorded, read, and forgotten before any replay that is not a verification's (once per run
  // until another is recorded); one whose keys would not fit the run state is not recorded.
  struct Proof {
    VerifyReport counts;
    std::vector<db::KeyValues> keys;
  };
  void RecordProof(const VerifyReport& counts, const std::vector<db::KeyValues>& keys = {});
  std::optional<Proof> LoadProof();
  void ForgetProof();
  // Verify from a proof: drains (the changelog; after the switch, the way back), compares the
  // proof's keys and those drained row by row, again for keys drained meanwhile (a few rounds);
  // nullopt when too many keys changed to be worth it.
  std::optional<VerifyReport> VerifySince(const Proof& proof, bool switched, bool way_back);
  // The cutover carries the proof over the switch, with the keys its catch-up and drain applied.
  std::optional<Proof> carried_;
  void Carry(const std::vector<db::KeyValues>& keys);
  // Moves differences whose key has a captured change not yet replayed into report.pending.
  // Differences whose key has an entry queued in changelog on one of databases are pending: the
  // forward changelog on the sources, or after the switch the way back's on the targets.
  void MovePending(VerifyReport& report, Connections& conns, const std::string& changelog,
                   const std::vector<std::string>& databases);
  struct Shared;  // what the workers of one RunBackfills share
  bool CopySource(const plans::Step& step, StepState& st, Connections& conns, Shared& shared, ApplyResult& local);
  std::map<std::string, std::string> HookEnv(const std::string& hook) const;

  const plans::Plan& plan_;
  const db::Catalog& catalog_;
  const plans::CopyParams params_;  // the plan's parameters, read once
  std::vector<std::string> sources_;
  std::vector<std::string> targets_;
  std::vector<std::string> key_;
  std::vector<std::string> shard_by_;  // the key's leading columns the routing function hashes
  std::vector<std::string> columns_;
  // Where rows go: one output for a reshard (its targets, routed by hash), one per new table for a
  // vertical split (one database each).
  struct Output {
    TableMapping mapping;
    std::vector<std::string> databases;
    std::vector<std::string> names;  // for messages
    Router router;
  };
  // What verification compares of an output: its mapping, narrowed in a split's window to the rows
  // that hold a value of the moved columns.
  TableMapping Compared(const Output& o) const;
  std::vector<Output> outputs_;
  Handover handover_;
  std::string source_layout_;                      // "single", "range", "hash"
  std::vector<std::pair<std::optional<db::KeyValues>, std::optional<db::KeyValues>>> source_ranges_;
  int lock_timeout_ms_ = 2000;  // params_.pace's
  int retries_ = 5;
  Connections conns_;
  std::unique_ptr<db::Connection> lock_conn_;
  bool lock_held_ = false;
  std::chrono::milliseconds lock_wait_;
  std::atomic<bool> proof_forgotten_{false};  // this run forgot the proof and recorded none since
  std::mutex lock_mu_;
  std::chrono::steady_clock::time_point lock_checked_{};  // under lock_mu_
  std::unique_ptr<RunState> state_;
  std::map<std::string, StepState> states_;
  std::atomic<int64_t> retried_{0};
  // Set by a move_tables group: statements that set the source's counters past those of the target
  // (read through the given session), run by a revert while the sources are still blocked.
  std::function<std::vector<std::string>(db::Connection& target)> revert_then_;
  std::unique_ptr<SourceStreams> streams_;  // last: stopped before anything they use goes
};

}  // namespace shardshift::executors
