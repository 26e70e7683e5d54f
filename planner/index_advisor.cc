#include "planner/index_advisor.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "db/error.h"

namespace shardshift::planner {

namespace {

std::vector<std::string> Names(const db::IndexInfo& idx) {
  std::vector<std::string> out;
  for (const db::IndexColumn& c : idx.columns) out.push_back(c.name + (c.descending ? " DESC" : ""));
  return out;
}

bool Protected(const db::IndexInfo& idx) { return idx.primary || idx.unique || !idx.constraint.empty(); }

bool Comparable(const db::IndexInfo& idx) {
  return idx.valid && idx.PlainColumns() && idx.predicate.empty() && (idx.method.empty() || idx.method == "btree");
}

// The index's key columns start with these columns (in any order among them).
bool LeadsWith(const db::IndexInfo& idx, const std::vector<std::string>& columns) {
  if (idx.columns.size() < columns.size() || !idx.PlainColumns()) return false;
  std::set<std::string> want(columns.begin(), columns.end());
  std::set<std::string> lead;
  for (size_t i = 0; i < columns.size(); ++i) lead.insert(idx.columns[i].name);
  return lead == want;
}

}  // namespace

IndexUsage ReadIndexUsage(db::Connection& conn) {
  IndexUsage out;
  try {
    if (conn.engine() == db::Engine::kPostgres) {
      db::ResultSet r = conn.Query("SELECT schemaname || '.' || relname AS t, indexrelname AS i, idx_scan AS n FROM "
                                   "pg_stat_user_indexes");
      for (size_t i = 0; i < r.rows.size(); ++i) out.scans[{r.Text(i, "t"), r.Text(i, "i")}] = std::stoll(r.Text(i, "n"));
      db::ResultSet w = conn.Query(
          "SELECT COALESCE(stats_reset, pg_postmaster_start_time())::text AS s, EXTRACT(EPOCH FROM now() - "
          "COALESCE(stats_reset, pg_postmaster_start_time()))::float8 AS secs FROM pg_stat_database "
          "WHERE datname = current_database()");
      out.since = w.Text(0, "s");
      out.seconds = std::stod(w.Text(0, "secs"));
    } else {
      db::ResultSet r = conn.Query(
          "SELECT OBJECT_NAME AS t, INDEX_NAME AS i, COUNT_FETCH AS n FROM "
          "performance_schema.table_io_waits_summary_by_index_usage WHERE OBJECT_SCHEMA = DATABASE() AND INDEX_NAME "
          "IS NOT NULL");
      for (size_t i = 0; i < r.rows.size(); ++i) out.scans[{r.Text(i, "t"), r.Text(i, "i")}] = std::stoll(r.Text(i, "n"));
      db::ResultSet w = conn.Query("SELECT NOW() - INTERVAL VARIABLE_VALUE SECOND AS s, VARIABLE_VALUE AS secs FROM "
                                   "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'");
      out.since = w.Text(0, "s");
      out.seconds = std::stod(w.Text(0, "secs"));
    }
    out.known = true;
  } catch (const db::Error&) {
    out.known = false;  // no counters (performance_schema off): nothing is called unused
  }
  return out;
}

std::vector<IndexFinding> AdviseIndexes(db::Engine engine, const db::SchemaInfo& schema, const IndexUsage& usage,
                                        const std::string& only_table) {
  const bool pg = engine == db::Engine::kPostgres;
  std::vector<IndexFinding> out;
  for (const db::TableInfo& t : schema.tables) {
    if (!only_table.empty() && t.name != only_table && (t.schema + "." + t.name) != only_table) continue;
    const std::string table = pg ? t.schema + "." + t.name : t.name;
    const std::string q_table = db::QuoteTable(engine, {pg ? t.schema : "", t.name});
    auto drop = [&](const db::IndexInfo& idx) {
      return pg ? "DROP INDEX CONCURRENTLY IF EXISTS " + db::QuoteTable(engine, {t.schema, idx.name})
                : fmt::format("ALTER TABLE {} ALTER INDEX {} IGNORED  -- then, when nothing got slower: ALTER TABLE {} "
                              "DROP INDEX {}", q_table, db::QuoteIdentifier(engine, idx.name), q_table,
                              db::QuoteIdentifier(engine, idx.name));
    };
    // An index that is the only one leading with a foreign key's columns serves that key.
    auto serves_fk = [&](const db::IndexInfo& idx) {
      for (const db::ForeignKeyInfo& fk : t.foreign_keys) {
        if (!LeadsWith(idx, fk.columns)) continue;
        int others = 0;
        for (const db::IndexInfo& o : t.indexes) others += (&o != &idx && o.valid && LeadsWith(o, fk.columns));
        if (others == 0) return true;
      }
      return false;
    };
    // Drops are resolved together: an index named as the one that still serves what a dropped one
    // served (the twin of a duplicate, the wider index of a redundant one) is never dropped itself,
    // whatever its own counters say.
    std::set<std::string> reported;  // proposed for dropping
    std::set<std::string> keepers;   // named as what stays
    auto scans = [&](const db::IndexInfo& idx) -> int64_t {
      auto it = usage.scans.find({table, idx.name});
      return it == usage.scans.end() ? 0 : it->second;
    };
    // Exact duplicates, grouped: the group keeps its protected index, else the one the planner
    // uses most (the others' scans are what it did not choose), else the first by name.
    std::map<std::string, std::vector<const db::IndexInfo*>> twins;
    for (const db::IndexInfo& idx : t.indexes) {
      if (!Comparable(idx)) continue;
      twins[fmt::format("{}|{}|{}", fmt::join(Names(idx), ","), fmt::join(idx.include, ","), idx.unique)].push_back(&idx);
    }
    for (auto& [key, group] : twins) {
      if (group.size() < 2) continue;
      std::sort(group.begin(), group.end(), [&](const db::IndexInfo* a, const db::IndexInfo* b) {
        if (Protected(*a) != Protected(*b)) return Protected(*a);
        if (scans(*a) != scans(*b)) return scans(*a) > scans(*b);
        return a->name < b->name;
      });
      const db::IndexInfo* keep = group.front();
      keepers.insert(keep->name);
      for (size_t i = 1; i < group.size(); ++i) {
        const db::IndexInfo* extra = group[i];
        if (Protected(*extra)) continue;
        reported.insert(extra->name);
        out.push_back({"duplicate", table, extra->name, {},
                       fmt::format("{} has the same columns ({}) as {}, which stays{}", extra->name,
                                   fmt::join(Names(*extra), ", "), keep->name,
                                   usage.known ? fmt::format(" ({} scans against {} since {})", scans(*keep),
                                                             scans(*extra), usage.since)
                                               : std::string()),
                       drop(*extra), keep->name});
      }
    }
    // Redundant: a strict left prefix of a wider index that stays.
    for (const db::IndexInfo& narrow : t.indexes) {
      if (!Comparable(narrow) || Protected(narrow) || reported.count(narrow.name) || keepers.count(narrow.name)) continue;
      for (const db::IndexInfo& wide : t.indexes) {
        if (&wide == &narrow || !Comparable(wide) || wide.columns.size() <= narrow.columns.size() ||
            reported.count(wide.name)) {
          continue;
        }
        std::vector<std::string> w = Names(wide);
        w.resize(narrow.columns.size());
        if (w != Names(narrow)) continue;
        reported.insert(narrow.name);
        keepers.insert(wide.name);
        out.push_back({"redundant", table, narrow.name, {},
                       fmt::format("its columns ({}) lead {} ({}), which stays and serves every query it serves",
                                   fmt::join(Names(narrow), ", "), wide.name, fmt::join(Names(wide), ", ")),
                       drop(narrow), wide.name});
        break;
      }
    }
    // Unused since the counters started, unless another drop relies on it.
    if (usage.known) {
      for (const db::IndexInfo& idx : t.indexes) {
        if (Protected(idx) || reported.count(idx.name) || keepers.count(idx.name) || !idx.valid || serves_fk(idx)) {
          continue;
        }
        auto it = usage.scans.find({table, idx.name});
        if (it == usage.scans.end() || it->second != 0) continue;
        reported.insert(idx.name);
        out.push_back({"unused", table, idx.name, {},
                       fmt::format("0 scans since {}{}{}", usage.since,
                                   idx.size_bytes > 0 ? fmt::format("; it takes {} bytes and slows every write",
                                                                    idx.size_bytes)
                                                      : std::string("; it slows every write"),
                                   usage.seconds < 7 * 86400
                                       ? fmt::format("; counted over only {:.1f} days: a weekly or monthly job may "
                                                     "still need it: look again after a full cycle of the application's "
                                                     "jobs",
                                                     usage.seconds / 86400)
                                       : std::string()),
                       drop(idx)});
      }
    }
    // Foreign keys without an index on the referencing columns.
    for (const db::ForeignKeyInfo& fk : t.foreign_keys) {
      bool indexed = false;
      for (const db::IndexInfo& idx : t.indexes) indexed = indexed || (idx.valid && LeadsWith(idx, fk.columns));
      if (indexed) continue;
      const std::string name = fmt::format("{}_{}_idx", t.name, fmt::join(fk.columns, "_")).substr(0, 63);
      std::vector<std::string> cols;
      for (const std::string& c : fk.columns) cols.push_back(db::QuoteIdentifier(engine, c));
      out.push_back({"missing_fk_index", table, name, fk.columns,
                     fmt::format("foreign key {} ({}) -> {} has no index: each delete or key update on {} scans "
                                 "{} (~{} rows)", fk.name, fmt::join(fk.columns, ", "), fk.ref_table, fk.ref_table,
                                 t.name, std::max<int64_t>(0, t.row_estimate)),
                     pg ? fmt::format("CREATE INDEX CONCURRENTLY {} ON {} ({})", db::QuoteIdentifier(engine, name),
                                      q_table, fmt::join(cols, ", "))
                        : fmt::format("ALTER TABLE {} ADD INDEX {} ({}), ALGORITHM=INPLACE, LOCK=NONE", q_table,
                                      db::QuoteIdentifier(engine, name), fmt::join(cols, ", "))});
    }
  }
  return out;
}

}  // namespace shardshift::planner
