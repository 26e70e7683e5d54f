// One unfinished plan per table (executors/runner.h): the claim a plan's first apply makes on each
// source, and the mark that says whether the claiming plan's capture is still on the table.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "db/error.h"
#include "executors/runner.h"

namespace shardshift::executors {

std::string Runner::CaptureMark(const std::string& database) const {
  for (const plans::StreamParams& s : params_.streams) {
    if (s.database == database && !s.publication.empty()) return "publication:" + s.publication;
    if (s.database == database && !s.position.empty()) return "position:" + s.position;
  }
  return params_.capture_trigger;
}

bool Runner::CaptureMarkLive(db::Connection& c, const db::TableName& table, const std::string& mark) {
  if (mark.empty()) return true;  // one that cannot be checked stands
  if (mark.starts_with("publication:") && c.engine() == db::Engine::kPostgres) {
    // The publication names the table until cleanup drops it, or the table is dropped.
    return !c.Query("SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3",
                    {mark.substr(std::string("publication:").size()), table.schema.empty() ? "public" : table.schema,
                     table.name})
                .rows.empty();
  }
  if (mark.starts_with("position:") && c.engine() == db::Engine::kMySQL) {
    // The position table stands until cleanup drops it, and the table until it is dropped (with
    // it, as with a trigger, the claim goes).
    const db::TableName position = db::TableName::Parse(mark.substr(std::string("position:").size()));
    auto exists = [&](const db::TableName& t) {
      return !c.Query("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), "
                      "DATABASE()) AND TABLE_NAME = ?",
                      {t.schema, t.name})
                  .rows.empty();
    };
    return exists(position) && exists(table);
  }
  return TriggerExists(c, table, mark);
}

void Runner::Claim() {
  // The table a plan moves, on each of its sources. A claim is live while its plan's capture
  // trigger is on the table: a table dropped and made again, or a plan whose capture never got
  // installed, leaves a stale claim, which the next plan takes over.
  const db::TableName table = db::TableName::Parse(params_.table);
  const std::string name = table.ToString();
  auto create = [&](db::Connection& c) {
    const bool pg = c.engine() == db::Engine::kPostgres;
    CreateTableIfMissing(c, std::string("CREATE TABLE IF NOT EXISTS ") + kClaimTable +
              (pg ? " (table_name text PRIMARY KEY, plan text NOT NULL, capture_trigger text NOT NULL, claimed_at "
                    "timestamptz NOT NULL DEFAULT now())"
                  : " (table_name VARCHAR(255) NOT NULL PRIMARY KEY, plan VARCHAR(255) NOT NULL, capture_trigger "
                    "VARCHAR(255) NOT NULL, claimed_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) "
                    "ENGINE=InnoDB"));
  };
  auto live = [&](db::Connection& c, const std::string& their_mark) { return CaptureMarkLive(c, table, their_mark); };
  // Every source is checked before any claim is made: a refusal changes nothing.
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& database : sources_) {
      db::Connection& c = conns_.Get(database);
      if (pass == 1) create(c);
      db::ResultSet other;
      try {
        other = c.Query(std::string("SELECT plan, capture_trigger, claimed_at FROM ") + kClaimTable +
                            " WHERE table_name = " + c.Placeholder(1) + " AND plan <> " + c.Placeholder(2),
                        {name, plan_.header.name});
      } catch (const db::Error& e) {
        if (e.sqlstate() != "42P01" && e.errnum() != 1146) throw;  // no claim table yet: no claims
        if (c.engine() == db::Engine::kPostgres && c.InTransaction()) c.Rollback();
      }
      if (!other.rows.empty()) {
        const std::string owner = other.Text(0, "plan");
        if (live(c, other.Text(0, "capture_trigger"))) {
          throw db::Error(
              db::ErrorKind::kBadInput,
              fmt::format("table {} on database '{}' is being moved by plan '{}' (since {}), which has not finished; "
                          "one unfinished plan per table: finish that plan (apply, then apply --cleanup) first "
                          "(nothing was changed)",
                          name, database, owner, other.Text(0, "claimed_at")));
        }
        if (pass == 1) {
          spdlog::warn("table {} on '{}' was claimed by plan '{}', whose capture is no longer on it: taken over", name,
                       database, owner);
          c.Execute(std::string("DELETE FROM ") + kClaimTable + " WHERE table_name = " + c.Placeholder(1), {name});
        }
      }
      if (pass == 1) {
        const std::string insert =
            c.engine() == db::Engine::kPostgres
                ? std::string("INSERT INTO ") + kClaimTable +
                      " (table_name, plan, capture_trigger) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                : std::string("INSERT IGNORE INTO ") + kClaimTable +
                      " (table_name, plan, capture_trigger) VALUES (?, ?, ?)";
        c.Execute(insert, {name, plan_.header.name, CaptureMark(database)});
        // Two plans racing past the first pass: the key lets one in; the other is refused here.
        db::ResultSet owner = c.Query(std::string("SELECT plan FROM ") + kClaimTable + " WHERE table_name = " +
                                          c.Placeholder(1),
                                      {name});
        if (!owner.rows.empty() && owner.Text(0, "plan") != plan_.header.name) {
          throw db::Error(db::ErrorKind::kBadInput,
                          fmt::format("table {} on database '{}' was just claimed by plan '{}'; one unfinished plan "
                                      "per table",
                                      name, database, owner.Text(0, "plan")));
        }
      }
    }
  }
}

bool Runner::Claimed() {
  for (const std::string& d : sources_) {
    db::Connection& c = conns_.Get(d);
    try {
      if (!c.Query(std::string("SELECT 1 FROM ") + kClaimTable + " WHERE plan = " + c.Placeholder(1),
                   {plan_.header.name})
               .rows.empty()) {
        return true;
      }
    } catch (const db::Error& e) {
      if (e.sqlstate() != "42P01" && e.errnum() != 1146) throw;  // no claim table: no claim
      if (c.engine() == db::Engine::kPostgres && c.InTransaction()) c.Rollback();
    }
  }
  return false;
}

void Runner::Release() {
  for (const std::string& d : sources_) {
    db::Connection& c = conns_.Get(d);
    try {
      c.Execute(std::string("DELETE FROM ") + kClaimTable + " WHERE plan = " + c.Placeholder(1), {plan_.header.name});
    } catch (const db::Error& e) {
      if (e.sqlstate() != "42P01" && e.errnum() != 1146) throw;
    }
  }
}

}  // namespace shardshift::executors
