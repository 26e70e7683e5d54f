#include "executors/source_streams.h"

#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "db/binlog_stream.h"
#include "db/error.h"

namespace shardshift::executors {

namespace {

// Ends the session that reads slot, if any (a stream of this run, or one a killed run left).
void EndSlotSession(db::Connection& c, const std::string& slot) {
  c.Query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS "
          "NOT NULL",
          {slot});
}

}  // namespace

SourceStreams::SourceStreams(const db::Catalog& catalog, const plans::Plan& plan, const plans::CopyParams& params)
    : catalog_(catalog) {
  for (const plans::StreamParams& stream : params.streams) {
    Source src;
    src.database = stream.database;
    for (const plans::Step& s : plan.steps) {
      if (s.kind == plans::StepKind::kCapture && s.database == stream.database) src.step = &s;
    }
    src.log.slot = stream.slot;
    src.log.publication = stream.publication;
    if (stream.server_id != 0) {
      src.log.server_id = stream.server_id;
      src.log.position = db::TableName::Parse(stream.position);
    }
    src.table = {db::TableName::Parse(params.table), params.key, db::TableName::Parse(params.changelog),
                 {stream.only_column, {stream.only_values.begin(), stream.only_values.end()}}};
    sources_.push_back(std::move(src));
  }
}

SourceStreams::~SourceStreams() { Stop(); }

void SourceStreams::StartOne(const Source& s) {
  for (int attempt = 1;; ++attempt) {
    try {
      running_[s.database] =
          std::make_unique<LogCapture>(catalog_, s.database, s.log, std::vector<CapturedTable>{s.table});
      running_[s.database]->Eager(eager_);
      return;
    } catch (const db::Error& e) {
      // (MariaDB has no slot to hold: a second reader with the same server id replaces the first.)
      if (e.sqlstate() != "55006" || attempt >= 10) throw;
      // A killed run's stream whose server side has not noticed yet.
      spdlog::warn("capture: slot {} on '{}' is held by a session a stopped run left; ending it", s.log.slot,
                   s.database);
      EndSlotSession(*catalog_.Connect(s.database), s.log.slot);
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
    }
  }
}

void SourceStreams::Start() {
  std::lock_guard<std::mutex> hold(mu_);
  for (const Source& s : sources_) {
    auto it = running_.find(s.database);
    if (it != running_.end()) {
      try {
        it->second->Check();
        continue;
      } catch (const std::exception& e) {
        spdlog::warn("capture of '{}' stopped ({}); starting it again", s.database, e.what());
        running_.erase(it);
      }
    }
    StartOne(s);
  }
}

void SourceStreams::CatchUp(const std::string& source, std::chrono::milliseconds timeout) {
  if (!enabled()) return;
  Start();
  std::lock_guard<std::mutex> hold(mu_);
  for (const Source& s : sources_) {
    if (!source.empty() && s.database != source) continue;
    try {
      running_.at(s.database)->CatchUp(timeout);
    } catch (...) {
      running_.erase(s.database);  // the next call starts it again, from the slot's position
      throw;
    }
  }
}

void SourceStreams::Eager(bool on) {
  std::lock_guard<std::mutex> hold(mu_);
  eager_ = on;
  for (auto& [database, capture] : running_) capture->Eager(on);
}

void SourceStreams::Stop() {
  std::lock_guard<std::mutex> hold(mu_);
  running_.clear();
}

void SourceStreams::DropSlots() {
  Stop();
  for (const Source& s : sources_) {
    if (s.binlog()) continue;  // the server keeps nothing for the reader
    auto c = catalog_.Connect(s.database);
    EndSlotSession(*c, s.log.slot);
    // Its session takes a moment to end after being told to.
    for (int attempt = 1;; ++attempt) {
      try {
        c->Query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
                 {s.log.slot});
        break;
      } catch (const db::Error& e) {
        if (e.sqlstate() != "55006" || attempt >= 50) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
}

void SourceStreams::MakeSlots() {
  for (const Source& s : sources_) {
    auto c = catalog_.Connect(s.database);
    for (const std::string& sql : s.step->sql) c->Execute(sql);
    // MariaDB: from the server's position of now (the capture step's statement keeps an old one).
    if (s.binlog()) {
      c->Execute("REPLACE INTO " + c->Quote(s.log.position) + " (id, gtid) VALUES (1, @@gtid_binlog_pos)");
    }
  }
}

nlohmann::json SourceStreams::Status() const {
  nlohmann::json out = nlohmann::json::array();
  for (const Source& s : sources_) {
    nlohmann::json j = {{"database", s.database}};
    try {
      auto c = catalog_.Connect(s.database);
      if (s.binlog()) {
        BinlogStatus(*c, s, j);
      } else {
        SlotStatus(*c, s, j);
      }
    } catch (const db::Error& e) {
      j["error"] = e.what();
    }
    out.push_back(j);
  }
  return out;
}

void SourceStreams::SlotStatus(db::Connection& c, const Source& s, nlohmann::json& j) {
  j["slot"] = s.log.slot;
  db::ResultSet r = c.Query(
      "SELECT s.active::text AS active, pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint AS "
      "lag, pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint AS retained, COALESCE(s.wal_status, '') "
      "AS wal_status, COALESCE(s.safe_wal_size, -1) AS safe, current_setting('max_slot_wal_keep_size') AS keep "
      "FROM pg_replication_slots s WHERE s.slot_name = $1",
      {s.log.slot});
  if (r.rows.empty()) {
    j["exists"] = false;
    return;
  }
  j["exists"] = true;
  j["streaming"] = r.Text(0, "active") == "true";
  j["lag_bytes"] = std::stoll(r.Text(0, "lag"));
  j["retained_bytes"] = std::stoll(r.Text(0, "retained"));
  j["wal_status"] = r.Text(0, "wal_status");
  j["max_slot_wal_keep_size"] = r.Text(0, "keep");
  const int64_t safe = std::stoll(r.Text(0, "safe"));
  const int64_t retained = j["retained_bytes"].get<int64_t>();
  if (r.Text(0, "wal_status") == "lost") {
    j["warning"] = "the server removed WAL this slot still needed: changes were lost; start the plan over";
  } else if (r.Text(0, "wal_status") == "unreserved" || (safe >= 0 && safe < retained / 4)) {
    j["warning"] = fmt::format("the slot holds {} MiB of WAL and is near max_slot_wal_keep_size ({}): run apply "
                               "so that it streams, or the server will drop WAL it needs",
                               retained >> 20, r.Text(0, "keep"));
  }
}

void SourceStreams::BinlogStatus(db::Connection& c, const Source& s, nlohmann::json& j) {
  j["server_id"] = s.log.server_id;
  db::ResultSet r = c.Query("SELECT gtid, at, saved_at FROM " + c.Quote(s.log.position) + " WHERE id = 1");
  if (r.rows.empty()) {
    j["exists"] = false;
    return;
  }
  j["exists"] = true;
  j["gtid"] = r.Text(0, "gtid");
  j["saved_at"] = r.Text(0, "saved_at");
  j["streaming"] = !c.Query("SELECT 1 FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%' AND "
                            "USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1)")
                        .rows.empty();
  const std::string at = r.Text(0, "at");
  if (at.empty()) return;  // not read from yet: its position is the GTID the capture step took
  j["position"] = at;
  const db::BinlogPosition p = db::BinlogPosition::Parse(at);
  // The binary log after the saved position: what a restarted stream reads again (or for the first time).
  const std::optional<int64_t> behind = db::BinlogStream::BytesAfter(c, p);
  const bool present = behind.has_value();
  j["lag_bytes"] = behind.value_or(-1);
  if (!present) {
    j["warning"] = fmt::format("the binary log {} that the stream continues in is no longer on the server (purged): "
                               "changes were lost; start the plan over",
                               p.file);
  }
}

}  // namespace shardshift::executors
