#include "planner/shard_advisor.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "planner/ascii.h"
#include "db/error.h"
#include "planner/inspector.h"
#include "planner/key_distribution.h"

namespace shardshift::planner {

namespace {

// A name that says whose row it is: tenant_id, customer_id, account_id, org_id, owner_id, ...
bool TenantLike(const std::string& column) {
  static const std::set<std::string> kOwners = {"tenant",   "customer", "account", "org",     "organization",
                                                "owner",    "user",     "company", "client",  "shop",
                                                "store",    "merchant", "team",    "workspace", "project"};
  std::string c = AsciiLower(column);
  if (c.ends_with("_id")) c = c.substr(0, c.size() - 3);
  return kOwners.count(c) > 0;
}

bool Temporal(const std::string& type) {
  const std::string t = AsciiLower(type);
  return t.find("timestamp") != std::string::npos || t.find("date") != std::string::npos;
}

bool Numeric(const std::string& type) {
  const std::string t = AsciiLower(type);
  return t.find("int") != std::string::npos || t.find("numeric") != std::string::npos ||
         t.find("decimal") != std::string::npos;
}


std::string Duration(double seconds) {
  if (seconds < 120) return fmt::format("{:.0f} s", seconds);
  if (seconds < 7200) return fmt::format("{:.0f} min", seconds / 60);
  if (seconds < 2 * 86400) return fmt::format("{:.1f} h", seconds / 3600);
  return fmt::format("{:.1f} days", seconds / 86400);
}

// How a column grows with time ("" when it does not): an identity or sequence default, a default
// of the current time, or (PostgreSQL statistics) a number or time correlated with the physical
// order.
std::string GrowsWithTime(const db::TableInfo& t, const db::ColumnInfo& c) {
  const std::string def = c.default_value ? AsciiLower(*c.default_value) : "";
  if (c.identity) return "an identity or auto_increment column";
  if (def.find("nextval(") != std::string::npos) return "defaults to a sequence's next value";
  if (Temporal(c.type) && (def.find("now()") != std::string::npos || def.find("current_timestamp") != std::string::npos ||
                           def.find("clock_timestamp") != std::string::npos || def.find("statement_timestamp") != std::string::npos ||
                           def.find("transaction_timestamp") != std::string::npos || def.find("localtimestamp") != std::string::npos)) {
    return "defaults to the current time";
  }
  // A correlation counts only for a column of many values: a constant, or a few values loaded in
  // order, correlates perfectly too.
  const db::ColumnStats* cs = t.FindStats(c.name);
  const double rows = std::max<double>(1, static_cast<double>(t.row_estimate));
  const double distinct = cs && cs->distinct ? (*cs->distinct < 0 ? -*cs->distinct * rows : *cs->distinct) : 0;
  if (cs && cs->correlation && std::fabs(*cs->correlation) > 0.9 && (Numeric(c.type) || Temporal(c.type)) &&
      distinct >= std::max(100.0, 0.01 * rows)) {
    return fmt::format("correlation {:.2f} with the physical order, {:.0f} distinct values", *cs->correlation, distinct);
  }
  return "";
}

}  // namespace

// PostgreSQL's counters survive a clean restart, so a window from the server's start may hold
// more; MariaDB's summary may have been truncated since the server's start, which it does not date.
std::map<std::string, Growth> ReadGrowth(db::Connection& conn) {
  std::map<std::string, Growth> out;
  try {
    if (conn.engine() == db::Engine::kPostgres) {
      db::ResultSet g = conn.Query(
          "SELECT s.schemaname || '.' || s.relname AS t, s.n_tup_ins AS ins, s.n_tup_ins + s.n_tup_upd + s.n_tup_del AS w, "
          "d.stats_reset IS NOT NULL AS was_reset, "
          "date_trunc('second', COALESCE(d.stats_reset, pg_postmaster_start_time()))::text AS since, "
          "EXTRACT(EPOCH FROM now() - COALESCE(d.stats_reset, pg_postmaster_start_time()))::float8 AS secs "
          "FROM pg_stat_user_tables s, pg_stat_database d WHERE d.datname = current_database()");
      for (size_t i = 0; i < g.rows.size(); ++i) {
        Growth w;
        w.known = true;
        w.inserted = std::stoll(g.Text(i, "ins"));
        w.written = std::stoll(g.Text(i, "w"));
        w.seconds = std::stod(g.Text(i, "secs"));
        w.since = g.Text(i, "since");
        const bool reset = g.Text(i, "was_reset") == "t";
        w.start = reset ? "statistics reset" : "server start";
        w.upper_bound = !reset;
        out[g.Text(i, "t")] = w;
      }
    } else {
      const double uptime = std::stod(conn.Query("SHOW GLOBAL STATUS LIKE 'Uptime'").rows.at(0).at(1).value_or("0"));
      const std::string since =
          conn.Query("SELECT (NOW() - INTERVAL " + std::to_string(static_cast<int64_t>(uptime)) + " SECOND) AS _shardshift_s").Text(0, "_shardshift_s");
      db::ResultSet g = conn.Query(
          "SELECT OBJECT_NAME AS t, COUNT_INSERT AS ins, COUNT_WRITE AS w FROM performance_schema.table_io_waits_summary_by_table "
          "WHERE OBJECT_SCHEMA = DATABASE() AND OBJECT_TYPE = 'TABLE'");
      for (size_t i = 0; i < g.rows.size(); ++i) {
        Growth w;
        w.known = true;
        w.inserted = std::stoll(g.Text(i, "ins"));
        w.written = std::stoll(g.Text(i, "w"));
        w.seconds = uptime;
        w.since = since;
        w.start = "server start";
        w.upper_bound = false;
        out["." + g.Text(i, "t")] = w;
      }
    }
  } catch (const std::exception&) {
  }
  return out;
}

std::vector<ShardAdvice> AdviseShards(db::Connection& conn, const db::SchemaInfo& schema, const Workload& workload,
                                      const ShardAdviceOptions& options, std::vector<std::string>& notes) {
  const bool pg = conn.engine() == db::Engine::kPostgres;
  if (!workload.known) notes.push_back(workload.note + ": candidates are scored without the workload");
  std::map<std::string, Growth> growth = ReadGrowth(conn);
  std::vector<ShardAdvice> out;
  for (const db::TableInfo& t : schema.tables) {
    if (db::IsShardshiftTable(t.name)) continue;
    if (!options.only_table.empty()) {
      if (schema.FindWritten(options.only_table) != &t) continue;
    } else if (t.row_estimate < options.min_rows) {
      continue;
    }
    ShardAdvice a;
    a.table = t.Shown();
    a.rows = std::max<int64_t>(0, t.row_estimate);
    a.bytes = std::max<int64_t>(0, t.total_bytes);
    // The shard count: size now, and in a year at the insert rate the server counted, over the target.
    double projected = static_cast<double>(a.bytes);
    std::string growth_text = pg ? "growth unknown (the server keeps no insert counter for it)"
                                 : "growth unknown (performance_schema counts no inserts for it)";
    if (auto it = growth.find(t.schema + "." + t.name); it != growth.end() && a.rows > 0) {
      a.growth = it->second;
      Growth& g = a.growth;
      g.fill = g.inserted >= 0.9 * static_cast<double>(a.rows) && g.inserted > 0;
      g.per_day = g.seconds > 0 ? static_cast<double>(g.inserted) * 86400 / g.seconds : 0;
      const std::string window = fmt::format("{} inserted in {} since the {} ({})", g.inserted, Duration(g.seconds),
                                             g.start, g.since);
      if (g.fill) {
        growth_text = fmt::format("{}: that is {:.0f}% of the table's rows, its load (a restore, a backfill, a new "
                                  "table) rather than its growth, so no growth is projected; reset the counters and "
                                  "let a day of normal traffic run for a rate",
                                  window, 100.0 * static_cast<double>(g.inserted) / static_cast<double>(a.rows));
      } else {
        projected *= 1 + g.per_day * 365 / static_cast<double>(a.rows);
        std::vector<std::string> caveats;
        if (g.inserted > 0) caveats.push_back(fmt::format("±{:.0f}% from the count alone", 100 / std::sqrt(g.inserted)));
        if (g.seconds < 86400) caveats.push_back("a window under a day shows no daily cycle: a peak hour reads as the day's rate");
        if (g.upper_bound) caveats.push_back("the counters may predate the window (never reset), so the rate may be lower");
        growth_text = fmt::format("{}: {:.0f} rows a day{}, about {} bytes in a year", window, g.per_day,
                                  caveats.empty() ? "" : " (" + fmt::format("{}", fmt::join(caveats, "; ")) + ")",
                                  static_cast<int64_t>(projected));
      }
    }
    a.suggested_shards = std::clamp(
        static_cast<int>(std::ceil(projected / static_cast<double>(options.target_shard_bytes))), 2, 1024);
    a.shards_why = fmt::format("{} bytes now; {}; {} bytes a shard at most: {} shard(s){}", a.bytes, growth_text,
                               options.target_shard_bytes, a.suggested_shards,
                               projected <= static_cast<double>(options.target_shard_bytes)
                                   ? " (size alone needs one; two spread the load)"
                                   : "");
    a.shards = options.shards > 0 ? options.shards : a.suggested_shards;

    // The candidates and why each is one.
    std::map<std::string, ShardKeyCandidate> cands;
    auto add = [&](const std::string& column, const std::string& reason) {
      ShardKeyCandidate& c = cands[column];
      c.column = column;
      if (std::find(c.reasons.begin(), c.reasons.end(), reason) == c.reasons.end()) c.reasons.push_back(reason);
    };
    if (t.primary_key.size() == 1) add(t.primary_key[0], "primary key");
    for (const db::ColumnInfo& c : t.columns) {
      if (TenantLike(c.name)) add(c.name, "tenant- or owner-like name");
    }
    for (const db::ForeignKeyInfo& fk : t.foreign_keys) {
      if (fk.columns.size() == 1) add(fk.columns[0], "foreign key to " + fk.ref_table);
    }
    // The workload: calls reading the table, and those filtering each column by equality.
    std::map<std::string, int64_t> eq_calls;
    int64_t table_calls = 0;
    for (const WorkloadStatement& s : workload.statements) {
      if (s.shape.statement == "insert") continue;
      for (const TableUse& use : s.shape.tables) {
        if (schema.FindWritten(use.table) != &t) continue;
        table_calls += s.calls;
        for (const std::string& e : use.equality) eq_calls[e] += s.calls;
      }
    }
    for (const auto& [column, calls] : eq_calls) {
      if (t.FindColumn(column) && table_calls > 0 && calls * 100 >= table_calls) add(column, "the workload filters on it");
    }
    for (auto& [column, c] : cands) {
      const db::ColumnInfo* info = t.FindColumn(column);
      if (!info) continue;
      c.unique = std::any_of(t.unique_keys.begin(), t.unique_keys.end(),
                             [&](const auto& k) { return k.size() == 1 && k[0] == column; });
      const db::ColumnStats* st = t.FindStats(column);
      ColumnSample sample;
      if (!st || !st->distinct || st->most_common.empty()) sample = SampleColumn(conn, t, column, options.sample_rows, true);
      c.distinct = st && st->distinct ? *st->distinct : sample.distinct;
      if (c.unique) c.distinct = std::max(c.distinct, static_cast<double>(a.rows));
      if (st && !st->most_common.empty()) {
        c.top_value = st->most_common.front().first;
        c.top_share = st->most_common.front().second;
      } else if (!c.unique) {
        c.top_value = sample.top_value;
        c.top_share = sample.top_share;
      }
      try {
        DistributionOptions d;
        d.sample_rows = options.sample_rows;
        d.read_all_below = options.sample_rows;
        DistributionBuilder builder(a.shards, d);
        builder.AddSource(conn, {t.schema, t.name}, {column}, t.row_estimate);
        const KeyDistribution dist = builder.Finish();
        c.hash_skew = dist.skew;
        c.sampled_rows = dist.keys_read;
      } catch (const db::Error& e) {
        notes.push_back(fmt::format("{}.{}: the sample could not be hashed ({})", a.table, column, e.what()));
      }
      // Colocation: the referenced table (sharded by its key) and the tables referencing the same
      // rows or this column keep their joins on one shard.
      std::set<std::string> coloc;
      std::string parent;
      for (const db::ForeignKeyInfo& fk : t.foreign_keys) {
        if (fk.columns.size() == 1 && fk.columns[0] == column) parent = fk.ref_table;
      }
      if (!parent.empty()) coloc.insert(parent);
      for (const db::TableInfo& other : schema.tables) {
        if (&other == &t || db::IsShardshiftTable(other.name)) continue;
        for (const db::ForeignKeyInfo& fk : other.foreign_keys) {
          if (fk.columns.size() != 1) continue;
          if (!parent.empty() && fk.ref_table == parent) coloc.insert(other.name);
          if (fk.ref_table == t.name && fk.ref_columns.size() == 1 && fk.ref_columns[0] == column) {
            coloc.insert(other.name);
          }
        }
      }
      c.colocated.assign(coloc.begin(), coloc.end());
      if (workload.known && table_calls > 0) {
        c.table_calls = table_calls;
        c.single_shard_calls = eq_calls[column];
        c.workload_share = static_cast<double>(c.single_shard_calls) / static_cast<double>(table_calls);
      }
      c.monotonic = !GrowsWithTime(t, *info).empty();
      // The score: single-shard statements count most, then enough distinct values for the shard
      // count, then colocated tables; skew on the shards counts against.
      const double share = std::max(0.0, c.workload_share);
      const double card = std::min(1.0, c.distinct / (100.0 * a.shards));
      const double skew = c.hash_skew > 0 ? c.hash_skew - 1 : 0;
      c.score = 3 * share + card + std::min(1.0, 0.5 * static_cast<double>(c.colocated.size())) - 2 * skew;
      std::vector<std::string> parts;
      parts.push_back(fmt::format("{:.0f} distinct value(s)", c.distinct));
      if (c.top_share > 0) {
        parts.push_back(fmt::format("the most common ('{}') holds {:.1f}% of rows", c.top_value, 100 * c.top_share));
      }
      if (c.sampled_rows > 0) {
        parts.push_back(fmt::format("hashed onto {} shards, {} sampled rows give max/mean {:.2f}", a.shards,
                                    c.sampled_rows, c.hash_skew));
      }
      if (c.workload_share >= 0) {
        parts.push_back(fmt::format("{:.0f}% of the {} calls reading {} filter on it by equality (one shard each)",
                                    100 * c.workload_share, c.table_calls, t.name));
      }
      if (!c.colocated.empty()) {
        parts.push_back(fmt::format("shares the key with {} (foreign keys: their joins stay on one shard)",
                                    fmt::join(c.colocated, ", ")));
      }
      if (!c.unique) {
        parts.push_back("not unique by itself: a reshard keys the rows by it and the primary key, and hashes it");
      }
      c.why = fmt::format("{}: {}", fmt::join(c.reasons, ", "), fmt::join(parts, "; "));
      a.candidates.push_back(c);
    }
    // Every column that grows with time, a candidate or not: created_at DEFAULT now() is the range
    // layout people reach for first.
    for (const db::ColumnInfo& col : t.columns) {
      if (const std::string how = GrowsWithTime(t, col); !how.empty()) {
        a.warnings.push_back(fmt::format("{}.{} grows with time ({}): a range layout on it would send every new row "
                                         "to the last range shard; hash a key instead", a.table, col.name, how));
      }
    }
    std::stable_sort(a.candidates.begin(), a.candidates.end(),
                     [](const ShardKeyCandidate& x, const ShardKeyCandidate& y) { return x.score > y.score; });
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace shardshift::planner
