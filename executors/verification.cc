// The runner's verification (executors/runner.h): the verify step, `shardshift verify` at any
// time, the re-checks of keys that differ only because their change is still on its way, and the
// proof a full comparison leaves for a later verify (only the keys changed since are compared).
#include <algorithm>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "db/error.h"
#include "db/row_sql.h"
#include "executors/runner.h"
#include "executors/wait_all.h"

namespace shardshift::executors {

namespace {
// The run state's row for the proof (not a step of any plan).
constexpr const char* kProofState = "verify.proof";
// More keys changed since the proof than this: compare everything again.
constexpr size_t kMostRechecked = 200'000;
// A proof larger than this (its keys) is not recorded.
constexpr size_t kProofBytes = 60'000;
}  // namespace

std::vector<db::KeyValues> Runner::StillDiffering(const std::vector<db::KeyValues>& keys, Connections& conns,
                                                  const std::function<db::Connection&(const std::string&)>& source_conn,
                                                  const std::function<db::Connection&(const std::string&)>& target_conn) {
  // In batches, a query per database and not per key: this runs while writes wait.
  constexpr size_t kPerQuery = 500;
  std::set<db::KeyValues> differing;
  auto key_of = [&](const db::Row& row, const std::vector<std::string>& columns) {
    db::KeyValues k;
    for (const std::string& name : key_) {
      const size_t at = static_cast<size_t>(std::find(columns.begin(), columns.end(), name) - columns.begin());
      k.push_back(row.at(at).value_or(""));
    }
    return k;
  };
  for (const Output& o : outputs_) {
    const TableMapping m = Compared(o);
    for (size_t from = 0; from < keys.size(); from += kPerQuery) {
      const std::vector<db::KeyValues> part(keys.begin() + static_cast<std::ptrdiff_t>(from),
                                            keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), from + kPerQuery)));
      std::map<db::KeyValues, db::Row> at_source;
      for (const std::string& s : sources_) {
        db::Connection& c = source_conn ? source_conn(s) : conns.Get(s);
        const db::SqlText q = db::RowSql(c.engine(), m.source, key_, m.columns, m.filter).SelectByKeys(part);
        for (db::Row& r : c.Query(q.sql, q.params).rows) at_source.emplace(key_of(r, m.columns), std::move(r));
      }
      std::map<size_t, std::vector<db::KeyValues>> by_target;
      for (const db::KeyValues& k : part) by_target[o.router(k)].push_back(k);
      std::map<db::KeyValues, db::Row> at_target;
      for (const auto& [t, ks] : by_target) {
        db::Connection& c = target_conn ? target_conn(o.databases.at(t)) : conns.Get(o.databases.at(t));
        const db::SqlText q = db::RowSql(c.engine(), m.target, key_, m.TargetColumns(), m.TargetFilter()).SelectByKeys(ks);
        for (db::Row& r : c.Query(q.sql, q.params).rows) {
          at_target.emplace(key_of(r, m.TargetColumns()), std::move(r));
        }
      }
      for (const db::KeyValues& k : part) {
        auto s = at_source.find(k);
        auto t = at_target.find(k);
        const bool same = (s == at_source.end() && t == at_target.end()) ||
                          (s != at_source.end() && t != at_target.end() && s->second == t->second);
        if (!same) differing.insert(k);
      }
    }
  }
  std::vector<db::KeyValues> out;
  for (const db::KeyValues& k : keys) {
    if (differing.count(k)) out.push_back(k);
  }
  return out;
}

TableMapping Runner::Compared(const Output& o) const {
  if (plan_.header.kind != "vertical_split" || !Switched()) return o.mapping;
  // In a split's window nothing flows forward: a row the application inserts into the table (its
  // kept columns) has no row in a new table unless the application writes one, and a new table's
  // row may hold no value. Both mean "no value" to a reader of the split (the compatibility view's
  // LEFT JOIN, the way back): compare only the rows that hold one, on each side.
  TableMapping m = o.mapping;
  const db::Engine engine = catalog_.Url(sources_.front()).engine;
  const std::vector<std::string>& target = m.TargetColumns();
  std::vector<std::string> source_terms, target_terms;
  for (size_t i = 0; i < m.columns.size(); ++i) {
    if (std::find(key_.begin(), key_.end(), m.columns[i]) != key_.end()) continue;
    source_terms.push_back(db::QuoteIdentifier(engine, m.columns[i]) + " IS NOT NULL");
    target_terms.push_back(db::QuoteIdentifier(engine, target[i]) + " IS NOT NULL");
  }
  if (source_terms.empty()) return m;  // a new table of the key alone: every row counts
  m.filter = fmt::format("{}", fmt::join(source_terms, " OR "));
  m.target_filter = fmt::format("{}", fmt::join(target_terms, " OR "));
  return m;
}

VerifyReport Runner::VerifyOnce(Connections& conns) {
  VerifyReport all;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const Output& o = outputs_[i];
    Verifier verifier(Compared(o), conns.Get(sources_), conns.Get(o.databases), o.names, o.router,
                      params_.pace.chunk_rows);
    VerifyReport r = verifier.Run(100'000);  // enough to re-check them all; printing shows fewer
    all.chunks += r.chunks;
    all.chunks_differing += r.chunks_differing;
    all.source_rows = std::max(all.source_rows, r.source_rows);  // the same source rows, compared per output
    all.target_rows += r.target_rows;
    all.differences_total += r.differences_total;
    for (Difference& d : r.differences) {
      d.output = i;
      all.differences.push_back(std::move(d));
    }
  }
  return all;
}

void Runner::AddTargetVacuums(std::vector<std::pair<db::Connection*, std::string>>& work) {
  // PostgreSQL targets the copy just wrote have no statistics yet and none of their pages marked
  // all-visible: the verifier's range scans then plan blind and set every row's hint bits as they
  // go (at 1M rows, 4.2 s to verify against 3.0 s after this), and so would the application's
  // first queries after the cutover. One VACUUM (ANALYZE) per target.
  for (const Output& o : outputs_) {
    for (const std::string& t : o.databases) {
      db::Connection& c = conns_.Get(t);
      if (c.engine() == db::Engine::kPostgres) work.emplace_back(&c, "VACUUM (ANALYZE) " + c.Quote(o.mapping.target));
    }
  }
}

void Runner::RunVerifyStep(StepState& st, ApplyResult& result) {
  WithRetries("verify", conns_, [&] {
    // A replay step done in an earlier run says nothing of writes made since: catch up first, so
    // that verification compares the targets with the source as of now.
    DrainAll(result);
    std::vector<std::pair<db::Connection*, std::string>> vacuums;
    AddTargetVacuums(vacuums);
    RunAtOnce(vacuums);
    WhileReplaying(result, [&] { result.verify = VerifyOnce(conns_); });
    // The application keeps writing: a key changed after the drain may differ only until its
    // change is replayed. Drain again and re-compare just those keys, a bounded number of times.
    for (int round = 0; round < 5 && !result.verify.ok(); ++round) {
      DrainAll(result);
      Recheck(result.verify, conns_);
    }
    // Under a writer that never pauses, keys written again since the last drain still differ:
    // those with a change queued are pending, not wrong (replay corrects them; the cutover checks
    // the last changes row by row behind its write block). Keys with nothing queued are real.
    if (!result.verify.ok()) MovePending(result.verify, conns_, params_.changelog, sources_);
  });
  result.verified = true;
  if (result.verify.ok()) RecordProof(result.verify);
  st.detail = fmt::format("{} rows in {} chunks agree", result.verify.source_rows, result.verify.chunks);
}

void Runner::Recheck(VerifyReport& report, Connections& conns,
                     const std::function<db::Connection&(const std::string&)>& source_conn) {
  if (report.differences_total > static_cast<int64_t>(report.differences.size())) return;  // too many to recheck
  auto row_of = [&](db::Connection& c, const db::TableName& table, const std::vector<std::string>& columns,
                    const std::string& filter, const db::KeyValues& key) -> std::optional<db::Row> {
    db::RowSql rows(c.engine(), table, key_, columns, filter);
    db::SqlText q = rows.SelectByKeys({key});
    db::ResultSet r = c.Query(q.sql, q.params);
    if (r.rows.empty()) return std::nullopt;
    return r.rows[0];
  };
  std::vector<Difference> still;
  for (const Difference& d : report.differences) {
    if (d.kind == DifferenceKind::kWrongShard) {
      still.push_back(d);
      continue;
    }
    const Output& o = outputs_.at(d.output);
    const TableMapping m = Compared(o);
    std::optional<db::Row> source;
    for (const std::string& s : sources_) {
      if (!source) source = row_of(source_conn ? source_conn(s) : conns.Get(s), m.source, m.columns, m.filter, d.key);
    }
    std::optional<db::Row> target =
        row_of(conns.Get(o.databases.at(o.router(d.key))), m.target, m.TargetColumns(), m.TargetFilter(), d.key);
    if (source == target) continue;
    Difference now = d;
    now.kind = !target ? DifferenceKind::kMissing : (!source ? DifferenceKind::kExtra : DifferenceKind::kChanged);
    still.push_back(now);
  }
  report.differences = still;
  report.differences_total = static_cast<int64_t>(still.size());
}

void Runner::MovePending(VerifyReport& report, Connections& conns, const std::string& changelog_name,
                         const std::vector<std::string>& databases) {
  if (report.differences_total > static_cast<int64_t>(report.differences.size())) return;
  const db::TableName changelog = db::TableName::Parse(changelog_name);
  // Log capture: the key of a change committed before the comparison may still be on its way from
  // the log into the changelog. This run's streams are brought up to the server's position; those
  // of another apply gather for at most 200 ms, so a key not queued yet is looked for once more.
  const bool streamed = changelog_name == params_.changelog && streams_->enabled();
  const bool ours = streamed && lock_held_ && SourcesStreamed();
  if (ours) SyncSources("");
  auto queued = [&](const Difference& d) {
    for (const std::string& name : databases) {
      db::Connection& c = conns.Get(name);
      db::RowSql log(c.engine(), changelog, key_, key_);
      db::SqlText q = log.SelectByKeys({d.key});
      if (!c.Query(q.sql, q.params).rows.empty()) return true;
    }
    return false;
  };
  std::vector<Difference> real;
  bool waited = false;
  for (const Difference& d : report.differences) {
    bool is_queued = queued(d);
    if (!is_queued && streamed && !ours && !waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      waited = true;
      is_queued = queued(d);
    }
    if (is_queued && d.kind != DifferenceKind::kWrongShard) {
      report.pending.push_back(d.key);
    } else {
      real.push_back(d);
    }
  }
  report.differences = real;
  report.differences_total = static_cast<int64_t>(real.size());
}

VerifyReport Runner::Verify(bool full) {
  if (IsSplit() && Switched()) {
    const bool cleaned = CleanedUp();
    if (handover_.way_back.empty() || cleaned) {
      VerifyReport nothing;
      nothing.nothing_to_compare = "plan '" + plan_.header.name + "' has switched and " +
                                   (cleaned ? "was cleaned up" : "has no way back") +
                                   ": the new tables hold the moved columns now and the source's copies are no "
                                   "longer kept current";
      return nothing;
    }
  }
  VerifyReport report;
  ApplyResult scratch;
  if (Switched()) {
    // The targets are authoritative now: never a source row over a target. Only the way back runs
    // (target → source), and only while no apply does; keys with a change queued on the targets
    // are pending, not different.
    const bool cleaned = CleanedUp();
    const bool way_back = !handover_.way_back.empty() && !cleaned;
    if (!full && lock_held_) {
      if (std::optional<Proof> proof = LoadProof()) {
        if (std::optional<VerifyReport> since = VerifySince(*proof, true, way_back)) {
          if (since->ok()) RecordProof(*since);
          return *since;
        }
      }
    }
    WithRetries("verify", conns_, [&] {
      if (way_back && lock_held_) DrainReverse(conns_, scratch);
      report = VerifyOnce(conns_);
      for (int round = 0; round < 5 && !report.ok(); ++round) {
        if (way_back && lock_held_) {
          DrainReverse(conns_, scratch);
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
        }
        Recheck(report, conns_);
      }
      for (const WayBack& w : handover_.way_back) {
        if (way_back && !report.ok()) MovePending(report, conns_, w.changelog.ToString(), {w.database});
      }
    });
    if (lock_held_ && report.ok()) RecordProof(report);
    return report;
  }
  const bool capture = CaptureRunning();
  const bool may_replay = lock_held_ && capture;  // no apply runs: replaying here is safe
  if (may_replay && !full) {
    if (std::optional<Proof> proof = LoadProof()) {
      if (std::optional<VerifyReport> since = VerifySince(*proof, false, false)) {
        if (since->ok()) RecordProof(*since);
        return *since;
      }
    }
  }
  WithRetries("verify", conns_, [&] {
    if (may_replay) {
      DrainAll(scratch);
      WhileReplaying(scratch, [&] { report = VerifyOnce(conns_); });
    } else {
      report = VerifyOnce(conns_);
    }
    for (int round = 0; round < 5 && !report.ok(); ++round) {
      if (may_replay) {
        DrainAll(scratch);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // an apply may be replaying meanwhile
      }
      Recheck(report, conns_);
    }
    if (!may_replay && capture && !report.ok()) MovePending(report, conns_, params_.changelog, sources_);
  });
  if (may_replay && report.ok()) RecordProof(report);
  return report;
}

void Runner::RecordProof(const VerifyReport& counts, const std::vector<db::KeyValues>& keys) {
  if (!lock_held_) return;  // an apply may be replaying meanwhile: nothing could be promised
  StepState st;
  st.status = "done";
  st.rows_done = counts.source_rows;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  st.detail = nlohmann::json{{"chunks", counts.chunks}, {"source_rows", counts.source_rows},
                             {"target_rows", counts.target_rows}, {"at", now}, {"keys", keys}}.dump();
  if (st.detail.size() > kProofBytes) {  // the state's detail column holds 64 KB on MariaDB
    proof_forgotten_ = false;
    ForgetProof();
    return;
  }
  state_->Save(kProofState, st);
  proof_forgotten_ = false;
}

std::optional<Runner::Proof> Runner::LoadProof() {
  const std::map<std::string, StepState> states = state_->Load();
  auto it = states.find(kProofState);
  if (it == states.end() || it->second.status != "done") return std::nullopt;
  try {
    const nlohmann::json j = nlohmann::json::parse(it->second.detail);
    Proof proof;
    proof.counts.chunks = j.at("chunks").get<int64_t>();
    proof.counts.source_rows = j.at("source_rows").get<int64_t>();
    proof.counts.target_rows = j.at("target_rows").get<int64_t>();
    proof.counts.reused_from = j.at("at").get<int64_t>();
    proof.keys = j.at("keys").get<std::vector<db::KeyValues>>();
    return proof;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // not one this version wrote: compare everything
  }
}

void Runner::ForgetProof() {
  if (state_ == nullptr || proof_forgotten_.exchange(true)) return;
  StepState st;
  st.status = "forgotten";
  st.detail = "a replay ran after the last comparison";
  state_->Save(kProofState, st);
}

std::optional<VerifyReport> Runner::VerifySince(const Proof& proof, bool switched, bool way_back) {
  ApplyResult scratch;
  // Kept across retries: a batch replayed before a failure is not queued any more.
  std::vector<db::KeyValues> drained;
  auto drain = [&] {
    WithRetries("verify", conns_, [&] {
      if (!switched) {
        for (const std::string& s : sources_) RunReplay(s, conns_, scratch, &drained);
      } else if (way_back) {
        DrainReverse(conns_, scratch, &drained);
      }
    });
  };
  drain();
  std::set<db::KeyValues> changed(proof.keys.begin(), proof.keys.end());
  changed.insert(drained.begin(), drained.end());
  if (changed.size() > kMostRechecked) return std::nullopt;
  std::vector<db::KeyValues> differing;
  WithRetries("verify", conns_, [&] {
    differing = StillDiffering(std::vector<db::KeyValues>(changed.begin(), changed.end()), conns_);
  });
  // A writer may change a key between its replay and its comparison: drain again and compare those
  // and the keys drained meanwhile, a few times.
  for (int round = 0; round < 5 && !differing.empty(); ++round) {
    drained.clear();
    drain();
    std::set<db::KeyValues> again(differing.begin(), differing.end());
    again.insert(drained.begin(), drained.end());
    changed.insert(drained.begin(), drained.end());
    WithRetries("verify", conns_, [&] {
      differing = StillDiffering(std::vector<db::KeyValues>(again.begin(), again.end()), conns_);
    });
  }
  VerifyReport report = proof.counts;
  report.keys_rechecked = static_cast<int64_t>(changed.size());
  for (const db::KeyValues& k : differing) {
    for (size_t i = 0; i < outputs_.size(); ++i) {
      report.differences.push_back({DifferenceKind::kChanged, k, outputs_[i].names.at(outputs_[i].router(k)), i});
    }
  }
  report.differences_total = static_cast<int64_t>(report.differences.size());
  WithRetries("verify", conns_, [&] {
    Recheck(report, conns_);  // names each difference's kind, and drops outputs that agree
    if (report.ok()) return;
    if (!switched) {
      MovePending(report, conns_, params_.changelog, sources_);
    } else if (way_back) {
      for (const WayBack& w : handover_.way_back) MovePending(report, conns_, w.changelog.ToString(), {w.database});
    }
  });
  return report;
}

}  // namespace shardshift::executors
