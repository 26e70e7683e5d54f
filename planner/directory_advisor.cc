#include "planner/directory_advisor.h"

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "db/error.h"
#include "planner/directory_sql.h"
#include "planner/tenant_sample.h"

namespace shardshift::planner {

namespace {

double Skew(const std::vector<int64_t>& rows) {
  if (rows.empty()) return 0;
  int64_t total = 0, most = 0;
  for (int64_t r : rows) {
    total += r;
    most = std::max(most, r);
  }
  return total == 0 ? 1.0 : static_cast<double>(most) * static_cast<double>(rows.size()) / static_cast<double>(total);
}

}  // namespace

DirectoryAdvice AdviseDirectory(const db::Catalog& catalog, const std::string& database, const db::TableName& directory,
                                const std::string& to, std::chrono::milliseconds sample) {
  DirectoryAdvice out;
  plans::Directory dir;
  {
    auto conn = catalog.Connect(database);
    dir = ReadDirectory(*conn, directory, database);
  }
  out.layout = dir.layout;
  std::vector<std::string> shards = dir.layout.shards;
  for (const auto& [key, shard] : dir.entries) {
    if (std::find(shards.begin(), shards.end(), shard) == shards.end()) shards.push_back(shard);
  }
  if (!to.empty() && std::find(shards.begin(), shards.end(), to) == shards.end()) shards.push_back(to);
  // The statements first, every shard over the same window, before this run's own queries load them.
  std::vector<CallSample> samples(shards.size());
  if (sample.count() > 0) {
    std::vector<std::exception_ptr> failures(shards.size());
    std::vector<std::thread> samplers;
    for (size_t i = 0; i < shards.size(); ++i) {
      samplers.emplace_back([&, i] {
        try {
          auto conn = catalog.Connect(shards[i]);
          const db::SchemaInfo schema = conn->Introspect({"", "", false});
          std::vector<db::TableInfo> tables;
          for (const std::string& written_name : dir.layout.tables) {
            if (const db::TableInfo* t = schema.FindWritten(written_name)) tables.push_back(*t);
          }
          if (!tables.empty()) samples[i] = SampleCalls(catalog, shards[i], dir.layout.shard_by, tables, sample);
        } catch (...) {
          failures[i] = std::current_exception();
        }
      });
    }
    for (std::thread& t : samplers) t.join();
    for (const std::exception_ptr& f : failures) {
      if (f) std::rethrow_exception(f);
    }
  }
  std::vector<std::map<std::string, int64_t>> tenants(shards.size());
  for (size_t i = 0; i < shards.size(); ++i) {
    ShardLoad load;
    load.shard = shards[i];
    const CallSample& calls = samples[i];
    load.sampled = calls.known;
    load.sample_note = calls.note;
    load.sample_seconds = calls.seconds;
    load.sampled_statements = calls.statements;
    load.sampled_writes = calls.writes;
    load.sampled_attributed = calls.attributed;
    load.rows_written_known = calls.rows_known;
    load.rows_written_note = calls.rows_note;
    load.rows_written = calls.rows_written;
    int64_t attributed_writes = 0;
    for (const auto& [key, c] : calls.tenants) attributed_writes += c.writes;
    auto with_calls = [&](TenantLoad t) {
      if (auto it = calls.tenants.find(t.key); it != calls.tenants.end()) {
        t.calls = it->second.calls;
        t.writes = it->second.writes;
        t.call_share = calls.attributed > 0 ? static_cast<double>(t.calls) / static_cast<double>(calls.attributed) : 0;
        t.write_share = attributed_writes > 0 ? static_cast<double>(t.writes) / static_cast<double>(attributed_writes) : 0;
      }
      if (auto it = calls.rows_by_tenant.find(t.key); it != calls.rows_by_tenant.end()) {
        t.rows_written = it->second;
        t.rows_written_share =
            calls.rows_written > 0 ? static_cast<double>(t.rows_written) / static_cast<double>(calls.rows_written) : 0;
      }
      return t;
    };
    auto conn = catalog.Connect(shards[i]);
    const db::SchemaInfo schema = conn->Introspect({"", "", false});
    int64_t written = 0;
    bool counted = false;
    for (const std::string& written_name : dir.layout.tables) {
      const db::TableInfo* t = schema.FindWritten(written_name);
      if (t == nullptr) continue;  // a new shard that has not got the table yet
      const db::TableName table{t->schema, t->name};
      const std::string column = conn->Quote(dir.layout.shard_by);
      db::ResultSet r = conn->Query(fmt::format("SELECT {0} AS k, COUNT(*) AS n FROM {1} WHERE {0} IS NOT NULL GROUP BY {0}",
                                                column, conn->Quote(table)));
      for (size_t row = 0; row < r.rows.size(); ++row) {
        const std::string key = r.Text(row, "k");
        if (dir.ShardOf(key) != shards[i]) continue;  // a moved tenant's copy, until its cleanup
        const int64_t n = std::stoll(r.Text(row, "n"));
        tenants[i][key] += n;
        load.rows += n;
      }
      if (conn->engine() == db::Engine::kPostgres) {
        db::ResultSet w = conn->Query(
            "SELECT n_tup_ins + n_tup_upd + n_tup_del AS w FROM pg_stat_user_tables WHERE relid = to_regclass($1)",
            {conn->Quote(table)});
        if (!w.rows.empty() && w.At(0, "w")) {
          written += std::stoll(w.Text(0, "w"));
          counted = true;
        }
      }
    }
    load.written = counted ? written : -1;
    std::vector<std::pair<std::string, int64_t>> sorted(tenants[i].begin(), tenants[i].end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    auto share = [&](int64_t n) { return load.rows > 0 ? static_cast<double>(n) / static_cast<double>(load.rows) : 0; };
    for (size_t k = 0; k < sorted.size() && k < 5; ++k) {
      TenantLoad t;
      t.key = sorted[k].first;
      t.rows = sorted[k].second;
      t.share = share(t.rows);
      load.top.push_back(with_calls(t));
    }
    // By rows written when the log told them, else by sampled statements.
    std::vector<std::pair<std::string, int64_t>> busy;
    if (calls.rows_known) {
      busy.assign(calls.rows_by_tenant.begin(), calls.rows_by_tenant.end());
    } else {
      for (const auto& [key, c] : calls.tenants) busy.emplace_back(key, c.calls);
    }
    std::sort(busy.begin(), busy.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    for (size_t k = 0; k < busy.size() && k < 5; ++k) {
      TenantLoad t;
      t.key = busy[k].first;
      auto it = tenants[i].find(t.key);
      t.rows = it == tenants[i].end() ? 0 : it->second;
      t.share = share(t.rows);
      load.busiest.push_back(with_calls(t));
    }
    out.shards.push_back(std::move(load));
  }
  std::vector<int64_t> rows;
  for (const ShardLoad& s : out.shards) rows.push_back(s.rows);
  // The skew over every shard considered (the layout's, those entries name, and --to's), before
  // and after, so that the two compare.
  out.skew = Skew(rows);
  const size_t hot = static_cast<size_t>(std::max_element(rows.begin(), rows.end()) - rows.begin());
  const size_t cold = !to.empty() ? static_cast<size_t>(std::find(shards.begin(), shards.end(), to) - shards.begin())
                                  : static_cast<size_t>(std::min_element(rows.begin(), rows.end()) - rows.begin());
  if (hot == cold) return out;
  // The tenant whose move leaves the largest shard smallest (ties: the first in key order).
  int64_t best_max = rows[hot];
  std::vector<std::pair<std::string, int64_t>> candidates(tenants[hot].begin(), tenants[hot].end());
  for (const auto& [key, n] : candidates) {
    std::vector<int64_t> after = rows;
    after[hot] -= n;
    after[cold] += n;
    const int64_t m = *std::max_element(after.begin(), after.end());
    if (m < best_max) {
      best_max = m;
      out.suggestion = KeyMoveSuggestion{key, shards[hot], shards[cold], n, out.skew, Skew(after)};
    }
  }
  return out;
}

}  // namespace shardshift::planner
