#include "executors/verifier.h"

#include <map>

#include "db/row_sql.h"
#include "executors/failpoint.h"

namespace shardshift::executors {

std::string_view DifferenceName(DifferenceKind kind) {
  switch (kind) {
    case DifferenceKind::kMissing: return "missing at target";
    case DifferenceKind::kExtra: return "extra at target";
    case DifferenceKind::kChanged: return "differs";
    case DifferenceKind::kWrongShard: return "on the wrong shard";
  }
  return "?";
}

namespace {

// Sums of 64-bit hashes over a chunk need more than 64 bits.
__int128 ParseWide(const std::string& text) {
  __int128 v = 0;
  bool negative = false;
  for (char c : text) {
    if (c == '-') negative = true;
    if (c >= '0' && c <= '9') v = v * 10 + (c - '0');
    if (c == '.') break;
  }
  return negative ? -v : v;
}

db::KeyValues KeyFrom(const db::Row& row, size_t n) {
  db::KeyValues k;
  for (size_t i = 0; i < n; ++i) k.push_back(row[i].value_or(""));
  return k;
}

}  // namespace

Verifier::Verifier(const TableMapping& mapping, std::vector<db::Connection*> sources,
                   std::vector<db::Connection*> targets, std::vector<std::string> target_names, Router router,
                   int64_t chunk_rows)
    : mapping_(mapping), sources_(std::move(sources)), targets_(std::move(targets)),
      target_names_(std::move(target_names)), router_(std::move(router)), chunk_rows_(chunk_rows) {}

void Verifier::Report(VerifyReport& report, size_t max_reported, Difference d) {
  ++report.differences_total;
  if (report.differences.size() < max_reported) report.differences.push_back(std::move(d));
}

void Verifier::CompareRange(const std::optional<db::KeyValues>& lo, const std::optional<db::KeyValues>& hi,
                            VerifyReport& report, size_t max_reported) {
  ++report.chunks;
  auto sum = [&](const std::vector<db::Connection*>& conns, const db::TableName& table,
                 const std::vector<std::string>& columns, int64_t& rows) {
    int64_t n = 0;
    __int128 h = 0;
    for (db::Connection* c : conns) {
      db::RowSql sql(c->engine(), table, mapping_.key, columns);
      db::SqlText q = sql.Checksum(lo, hi);
      db::ResultSet r = c->Query(q.sql, q.params);
      n += std::stoll(r.Text(0, "n"));
      h += ParseWide(r.Text(0, "h"));
    }
    rows += n;
    return std::make_pair(n, h);
  };
  if (sum(sources_, mapping_.source, mapping_.columns, report.source_rows) ==
      sum(targets_, mapping_.target, mapping_.TargetColumns(), report.target_rows)) {
    return;
  }
  ++report.chunks_differing;
  // Narrow down: every key's row hash on each side.
  const size_t k = mapping_.key.size();
  std::map<db::KeyValues, std::string> source_hashes;
  for (db::Connection* c : sources_) {
    db::RowSql sql(c->engine(), mapping_.source, mapping_.key, mapping_.columns);
    db::SqlText q = sql.RowHashes(lo, hi);
    for (const db::Row& r : c->Query(q.sql, q.params).rows) source_hashes[KeyFrom(r, k)] = r[k].value_or("");
  }
  std::map<db::KeyValues, std::pair<std::string, size_t>> target_hashes;
  for (size_t t = 0; t < targets_.size(); ++t) {
    db::RowSql sql(targets_[t]->engine(), mapping_.target, mapping_.key, mapping_.TargetColumns());
    db::SqlText q = sql.RowHashes(lo, hi);
    for (const db::Row& r : targets_[t]->Query(q.sql, q.params).rows) {
      auto [it, fresh] = target_hashes.try_emplace(KeyFrom(r, k), r[k].value_or(""), t);
      if (!fresh) Report(report, max_reported, {DifferenceKind::kExtra, it->first, target_names_.at(t)});  // twice
    }
  }
  for (const auto& [key, hash] : source_hashes) {
    auto it = target_hashes.find(key);
    if (it == target_hashes.end()) {
      Report(report, max_reported, {DifferenceKind::kMissing, key, target_names_.at(router_(key))});
    } else if (it->second.first != hash) {
      Report(report, max_reported, {DifferenceKind::kChanged, key, target_names_.at(it->second.second)});
    }
  }
  for (const auto& [key, value] : target_hashes) {
    if (!source_hashes.count(key)) Report(report, max_reported, {DifferenceKind::kExtra, key, target_names_.at(value.second)});
  }
}

VerifyReport Verifier::Run(size_t max_reported) {
  VerifyReport report;
  std::optional<db::KeyValues> lo;
  for (db::Connection* source : sources_) {
    db::RowSql walk(source->engine(), mapping_.source, mapping_.key, mapping_.key);
    while (true) {
      db::SqlText q = walk.KeyAtOffset(lo, chunk_rows_);
      db::ResultSet r = source->Query(q.sql, q.params);
      if (r.rows.empty()) break;
      db::KeyValues hi = KeyFrom(r.rows[0], mapping_.key.size());
      CompareRange(lo, hi, report, max_reported);
      KillPoint("verify.chunk");
      lo = hi;
    }
  }
  CompareRange(lo, std::nullopt, report, max_reported);
  // Every target row on the target its key routes to.
  for (size_t t = 0; t < targets_.size(); ++t) {
    db::RowSql keys(targets_[t]->engine(), mapping_.target, mapping_.key, mapping_.key);
    auto stream = targets_[t]->Stream(keys.SelectChunk(std::nullopt, std::nullopt, INT64_MAX / 2).sql, {}, 10000);
    db::Chunk chunk;
    while (stream->Next(chunk)) {
      for (const db::Row& row : chunk.rows) {
        db::KeyValues key = KeyFrom(row, mapping_.key.size());
        if (router_(key) != t) Report(report, max_reported, {DifferenceKind::kWrongShard, key, target_names_[t]});
      }
    }
  }
  return report;
}

}  // namespace shardshift::executors
