#include "executors/target_writer.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <xxhash.h>

#include "db/error.h"
#include "executors/wait_all.h"

namespace shardshift::executors {

TargetWriter::TargetWriter(const TableMapping& mapping, std::vector<db::Connection*> targets, Router router)
    : mapping_(mapping), targets_(std::move(targets)), router_(std::move(router)) {
  for (const std::string& k : mapping_.key) {
    auto it = std::find(mapping_.columns.begin(), mapping_.columns.end(), k);
    if (it == mapping_.columns.end()) throw std::invalid_argument("key column " + k + " is not moved");
    key_index_.push_back(static_cast<size_t>(it - mapping_.columns.begin()));
  }
}

db::KeyValues TargetWriter::KeyOf(const db::Row& row) const {
  db::KeyValues key;
  for (size_t i : key_index_) key.push_back(row.at(i).value_or(""));
  return key;
}

int64_t TargetWriter::InsertIfAbsent(const db::Chunk& rows) {
  std::map<size_t, db::Chunk> per_target;
  for (const db::Row& row : rows.rows) {
    db::Chunk& c = per_target[router_(KeyOf(row))];
    c.columns = rows.columns;
    c.rows.push_back(row);
  }
  // Each target has its own connection: write them at the same time, and wait for every one
  // before reporting (the caller's cursor moves only when the whole chunk is written).
  std::vector<std::future<int64_t>> writes;
  for (auto& [t, chunk] : per_target) {
    db::Connection* conn = targets_.at(t);
    const db::Chunk* part = &chunk;
    writes.push_back(std::async(per_target.size() > 1 ? std::launch::async : std::launch::deferred,
                                [this, conn, part] { return InsertIfAbsentOn(*conn, *part); }));
  }
  int64_t inserted = 0;
  std::exception_ptr failure;
  for (auto& w : writes) {
    try {
      inserted += w.get();
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return inserted;
}

int64_t TargetWriter::InsertIfAbsentOn(db::Connection& conn, const db::Chunk& chunk) {
  // The common case first: none of the keys is at the target yet (replay writes only keys the
  // copy has passed), so the rows go in with one bulk write. A unique conflict rolls that back
  // and takes the careful path below, which decides key by key and still fails on any other
  // unique key.
  try {
    db::Transaction tx(conn);
    const int64_t n = conn.BulkInsert(mapping_.target, mapping_.TargetColumns(), chunk);
    tx.Commit();
    return n;
  } catch (const db::Error& e) {
    if (e.kind() != db::ErrorKind::kUniqueViolation) throw;
  }
  if (conn.engine() == db::Engine::kPostgres) return InsertIfAbsentPostgres(conn, chunk);
  db::RowSql keys_only(conn.engine(), mapping_.target, mapping_.key, mapping_.key, mapping_.TargetFilter());
  std::vector<db::KeyValues> keys;
  for (const db::Row& row : chunk.rows) keys.push_back(KeyOf(row));
  db::Transaction tx(conn);
  db::SqlText present = keys_only.SelectByKeys(keys);
  std::set<db::KeyValues> existing;
  for (const db::Row& r : conn.Query(present.sql, present.params).rows) {
    db::KeyValues k;
    for (const db::Value& v : r) k.push_back(v.value_or(""));
    existing.insert(std::move(k));
  }
  db::Chunk missing;
  missing.columns = chunk.columns;
  for (const db::Row& row : chunk.rows) {
    if (!existing.count(KeyOf(row))) missing.rows.push_back(row);
  }
  const int64_t n = conn.BulkInsert(mapping_.target, mapping_.TargetColumns(), missing);
  tx.Commit();
  return n;
}

// PostgreSQL: COPY the chunk into a session-local staging table, then move it with ON CONFLICT on
// the key only: a row already at the target is kept, and a conflict on any other unique key still
// fails, naming the key.
int64_t TargetWriter::InsertIfAbsentPostgres(db::Connection& conn, const db::Chunk& rows) {
  // One staging table per target table: a session may write several (a split into one database).
  const std::string kStage = fmt::format("_shardshift_stage_{:016x}", XXH64(mapping_.target.ToString().data(),
                                                                           mapping_.target.ToString().size(), 0));
  const std::string target = db::QuoteTable(conn.engine(), mapping_.target);
  // Every time, rather than remembering connections: a reconnected session has no temp table.
  conn.Execute("CREATE TEMP TABLE IF NOT EXISTS " + kStage + " (LIKE " + target +
               ") ON COMMIT DELETE ROWS");
  db::RowSql sql(conn.engine(), mapping_.target, mapping_.key, mapping_.TargetColumns(), mapping_.TargetFilter());
  db::Transaction tx(conn);
  conn.BulkInsert({"", kStage}, mapping_.TargetColumns(), rows);
  int64_t n = conn.Execute("INSERT INTO " + target + " (" + sql.ColumnList() + ") SELECT " + sql.ColumnList() +
                           " FROM " + kStage + " ON CONFLICT (" + sql.KeyList() + ") DO NOTHING");
  tx.Commit();
  return n;
}

void TargetWriter::Replace(const std::vector<db::KeyValues>& keys, const db::Chunk& current) {
  std::map<size_t, std::vector<db::KeyValues>> keys_per_target;
  for (const db::KeyValues& k : keys) keys_per_target[router_(k)].push_back(k);
  std::map<size_t, db::Chunk> rows_per_target;
  for (const db::Row& row : current.rows) {
    db::Chunk& c = rows_per_target[router_(KeyOf(row))];
    c.columns = current.columns;
    c.rows.push_back(row);
  }
  // As for the copy: each target on its own connection, all at once, every one waited for.
  std::vector<std::future<void>> writes;
  for (auto& [t, target_keys] : keys_per_target) {
    db::Connection* conn = targets_.at(t);
    const std::vector<db::KeyValues>* ks = &target_keys;
    auto it = rows_per_target.find(t);
    const db::Chunk* part = it == rows_per_target.end() ? nullptr : &it->second;
    writes.push_back(std::async(keys_per_target.size() > 1 ? std::launch::async : std::launch::deferred,
                                [this, conn, ks, part] {
                                  db::RowSql rows(conn->engine(), mapping_.target, mapping_.key,
                                                  mapping_.TargetColumns(), mapping_.TargetFilter());
                                  db::Transaction tx(*conn);
                                  db::SqlText del = rows.DeleteByKeys(*ks);
                                  conn->Execute(del.sql, del.params);
                                  if (part) conn->BulkInsert(mapping_.target, mapping_.TargetColumns(), *part);
                                  tx.Commit();
                                }));
  }
  WaitAll(writes);
}

FanOutWriter::FanOutWriter(std::vector<std::string> read_columns, const std::vector<std::string>& key)
    : read_columns_(std::move(read_columns)) {
  for (const std::string& k : key) key_index_.push_back(Position(k));
}

size_t FanOutWriter::Position(const std::string& column) const {
  auto it = std::find(read_columns_.begin(), read_columns_.end(), column);
  if (it == read_columns_.end()) throw std::invalid_argument("column " + column + " is not read from the source");
  return static_cast<size_t>(it - read_columns_.begin());
}

void FanOutWriter::Add(std::unique_ptr<TargetWriter> writer, const std::vector<std::string>& columns) {
  Part part;
  for (const std::string& c : columns) part.positions.push_back(Position(c));
  part.writer = std::move(writer);
  parts_.push_back(std::move(part));
}

db::Chunk FanOutWriter::Project(const Part& part, const db::Chunk& rows) const {
  db::Chunk out;
  if (!rows.columns.empty()) {
    for (size_t p : part.positions) out.columns.push_back(rows.columns.at(p));
  }
  out.rows.reserve(rows.rows.size());
  for (const db::Row& row : rows.rows) {
    db::Row projected;
    projected.reserve(part.positions.size());
    for (size_t p : part.positions) projected.push_back(row.at(p));
    out.rows.push_back(std::move(projected));
  }
  return out;
}

int64_t FanOutWriter::InsertIfAbsent(const db::Chunk& rows) {
  int64_t n = 0;
  for (const Part& part : parts_) n += part.writer->InsertIfAbsent(Project(part, rows));
  return n;
}

void FanOutWriter::Replace(const std::vector<db::KeyValues>& keys, const db::Chunk& current) {
  for (const Part& part : parts_) part.writer->Replace(keys, Project(part, current));
}

db::KeyValues FanOutWriter::KeyOf(const db::Row& row) const {
  db::KeyValues key;
  for (size_t i : key_index_) key.push_back(row.at(i).value_or(""));
  return key;
}

ColumnWriter::ColumnWriter(const TableMapping& mapping, db::Connection& source) : mapping_(mapping), source_(source) {
  for (const std::string& k : mapping_.key) {
    auto it = std::find(mapping_.columns.begin(), mapping_.columns.end(), k);
    if (it == mapping_.columns.end()) throw std::invalid_argument("key column " + k + " is not read");
    key_index_.push_back(static_cast<size_t>(it - mapping_.columns.begin()));
  }
}

int64_t ColumnWriter::InsertIfAbsent(const db::Chunk&) {
  throw std::logic_error("the way back of a split updates columns; it does not copy rows");
}

db::KeyValues ColumnWriter::KeyOf(const db::Row& row) const {
  db::KeyValues key;
  for (size_t i : key_index_) key.push_back(row.at(i).value_or(""));
  return key;
}

void ColumnWriter::Replace(const std::vector<db::KeyValues>&, const db::Chunk& current) {
  if (current.rows.empty()) return;
  const std::vector<std::string>& names = mapping_.TargetColumns();
  std::vector<size_t> set;  // the positions of the non-key columns
  for (size_t i = 0; i < names.size(); ++i) {
    if (std::find(key_index_.begin(), key_index_.end(), i) == key_index_.end()) set.push_back(i);
  }
  if (set.empty()) return;
  auto binary = [&](size_t i) { return i < current.columns.size() && current.columns[i].binary; };
  db::Transaction tx(source_);
  for (const db::Row& row : current.rows) {
    db::Params params;
    std::string sql = "UPDATE " + source_.Quote(mapping_.target) + " SET ";
    for (size_t n = 0; n < set.size(); ++n) {
      params.emplace_back(row.at(set[n]), binary(set[n]));
      sql += (n ? ", " : "") + source_.Quote(names[set[n]]) + " = " + source_.Placeholder(static_cast<int>(params.size()));
    }
    sql += " WHERE ";
    for (size_t n = 0; n < key_index_.size(); ++n) {
      params.emplace_back(row.at(key_index_[n]), binary(key_index_[n]));
      sql += (n ? " AND " : "") + source_.Quote(names[key_index_[n]]) + " = " +
             source_.Placeholder(static_cast<int>(params.size()));
    }
    source_.Execute(sql, params);
  }
  tx.Commit();
}

}  // namespace shardshift::executors
