// Bulk write throughput of each engine's fast path (COPY FROM STDIN; multi-row INSERT), measured
// as a ratio against the baseline every naive copier uses: one parameterized INSERT per row, in
// the same run, against the same server. Needs the sandbox: SHARDSHIFT_BENCH_CONFIG names its
// config (`make bench` starts and stops one).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>

#include "db/catalog.h"
#include "db/connection.h"
#include "plans/config.h"

namespace {

using shardshift::db::Chunk;
using shardshift::db::Connection;

constexpr int kRows = 5000;

std::unique_ptr<Connection> Open(const std::string& name) {
  const char* path = std::getenv("SHARDSHIFT_BENCH_CONFIG");
  if (!path) {
    std::cerr << "SHARDSHIFT_BENCH_CONFIG is not set; run `make bench`\n";
    std::exit(2);
  }
  return shardshift::db::Catalog::FromConfig(shardshift::plans::LoadConfig(path)).Connect(name);
}

Chunk Rows() {
  Chunk c;
  c.columns = {{"id", "int", false}, {"email", "text", false}, {"bio", "text", false}};
  for (int i = 0; i < kRows; ++i) {
    c.rows.push_back({std::to_string(i), "user" + std::to_string(i) + "@example.com",
                      std::string(200, 'x')});
  }
  return c;
}

void Reset(Connection& conn) {
  conn.Execute("DROP TABLE IF EXISTS sst_bench");
  conn.Execute("CREATE TABLE sst_bench (id int PRIMARY KEY, email varchar(255), bio text)");
}

void BM_BulkInsert(benchmark::State& state, const std::string& db) {
  auto conn = Open(db);
  Chunk rows = Rows();
  for (auto _ : state) {
    state.PauseTiming();
    Reset(*conn);
    state.ResumeTiming();
    conn->BulkInsert({"", "sst_bench"}, {"id", "email", "bio"}, rows);
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}

// The baseline: one INSERT per row, in one transaction so commits do not dominate.
void BM_RowByRowInsert(benchmark::State& state, const std::string& db) {
  auto conn = Open(db);
  Chunk rows = Rows();
  bool pg = conn->engine() == shardshift::db::Engine::kPostgres;
  std::string sql = pg ? "INSERT INTO sst_bench VALUES ($1, $2, $3)" : "INSERT INTO sst_bench VALUES (?, ?, ?)";
  for (auto _ : state) {
    state.PauseTiming();
    Reset(*conn);
    state.ResumeTiming();
    shardshift::db::Transaction tx(*conn);
    for (const auto& r : rows.rows) conn->Execute(sql, {*r[0], *r[1], *r[2]});
    tx.Commit();
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}

void BM_StreamingRead(benchmark::State& state, const std::string& db) {
  auto conn = Open(db);
  Reset(*conn);
  conn->BulkInsert({"", "sst_bench"}, {"id", "email", "bio"}, Rows());
  for (auto _ : state) {
    auto stream = conn->Stream("SELECT id, email, bio FROM sst_bench ORDER BY id", {}, 1000);
    Chunk chunk;
    size_t n = 0;
    while (stream->Next(chunk)) n += chunk.rows.size();
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}

BENCHMARK_CAPTURE(BM_RowByRowInsert, postgres, std::string("pg_hash_3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BulkInsert, postgres, std::string("pg_hash_3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RowByRowInsert, mariadb, std::string("my_hash_3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BulkInsert, mariadb, std::string("my_hash_3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StreamingRead, postgres, std::string("pg_hash_3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StreamingRead, mariadb, std::string("my_hash_3"))->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
