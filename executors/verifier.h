// Verification (DESIGN.md, rule 4): compares the sources with the targets chunk by chunk, with
// checksums computed in the databases (row count and an order-independent sum of row hashes),
// narrows a mismatching chunk down to the differing keys, and checks that every target row sits
// on the target its key routes to. Read-only. A difference is a value, not an exception.
//
// Segments are key ranges (lo, hi] of kChunksPerSegment chunks (at least kMinSegmentRows rows)
// that together cover every key: boundaries come from walking each source in turn (one query finds
// a segment's end and sums it), so range shards partition neatly and a single or hash-sharded
// source is walked once. Each segment is compared across all sources and all targets: the other
// databases' queries run at once while the walked source sums the next segment. A segment that
// differs is compared chunk by chunk, and a chunk that differs row by row (data-diff's bisection).
#pragma once

#include <future>
#include <string>
#include <vector>

#include "db/connection.h"
#include "db/row_sql.h"
#include "executors/target_writer.h"

namespace shardshift::executors {

enum class DifferenceKind { kMissing, kExtra, kChanged, kWrongShard };
std::string_view DifferenceName(DifferenceKind kind);

struct Difference {
  DifferenceKind kind;
  db::KeyValues key;
  std::string where;  // the target it was found on, or should be on
  size_t output = 0;  // which of a run's outputs (the new tables of a split); 0 for a reshard
};

struct VerifyReport {
  int64_t chunks = 0;
  int64_t chunks_differing = 0;
  int64_t source_rows = 0;
  int64_t target_rows = 0;
  std::vector<Difference> differences;  // at most max_reported
  int64_t differences_total = 0;
  // Keys that differ while their captured change waits in the changelog (standalone verify during
  // an apply): not differences, just not replayed yet.
  std::vector<db::KeyValues> pending;
  // Set when this report reuses an earlier full comparison (the verify step's, or a verify's) and
  // compared only the keys changed since, row by row: when that comparison ended (Unix seconds)
  // and how many keys were compared. The counts above are that comparison's.
  int64_t reused_from = 0;
  int64_t keys_rechecked = 0;
  // Set when there is nothing left to compare (a split switched and cleaned up, or with no way
  // back): why, for the user. The report is then ok, with no counts.
  std::string nothing_to_compare;

  bool ok() const { return differences_total == 0; }
};

class Verifier {
 public:
  // target_names name the targets in messages. Connections must outlive the Verifier.
  Verifier(const TableMapping& mapping, std::vector<db::Connection*> sources, std::vector<db::Connection*> targets,
           std::vector<std::string> target_names, Router router, int64_t chunk_rows,
           int64_t min_segment_rows = kMinSegmentRows);

  VerifyReport Run(size_t max_reported = 100);

 private:
  static constexpr int64_t kChunksPerSegment = 16;
  // A segment holds at least this many rows whatever the chunk: each costs a query per database
  // and a walk to its end, which small chunks (the planner's default is 1,000 rows) would repeat
  // thousands of times.
  static constexpr int64_t kMinSegmentRows = 100'000;
  // A segment (lo, hi] being compared: the walked source's sums, and the other databases' queries.
  struct Segment {
    std::optional<db::KeyValues> lo;
    std::optional<db::KeyValues> hi;
    int64_t walker_rows = 0;
    __int128 walker_sum = 0;
    std::vector<std::pair<bool, std::future<std::pair<int64_t, __int128>>>> others;  // (is a source, sums)
    int64_t source_rows = 0;  // set by Gather
    int64_t target_rows = 0;
  };
  std::pair<int64_t, __int128> SumOf(db::Connection& conn, bool source, const std::optional<db::KeyValues>& lo,
                                     const std::optional<db::KeyValues>& hi) const;
  // The next segment after lo on the walked source, summed there; nullopt at the end of a source
  // that is not the last (its tail belongs to the next one's first segment).
  std::optional<Segment> Walk(db::Connection& walker, const db::RowSql& sql, const std::optional<db::KeyValues>& lo,
                              bool last);
  // Starts the sums of the segment on every database but sources_[walker] (none when out of range).
  void Start(Segment& segment, size_t walker);
  // Waits for them; whether the sources and the targets agree.
  bool Gather(Segment& segment);
  bool SameChecksums(const std::optional<db::KeyValues>& lo, const std::optional<db::KeyValues>& hi);
  // Counts the segment into the report and, where it differs, narrows it down chunk by chunk.
  void Finish(Segment& segment, db::Connection& walker, VerifyReport& report, size_t max_reported);
  // Row by row: names the keys that differ.
  void CompareRange(const std::optional<db::KeyValues>& lo, const std::optional<db::KeyValues>& hi,
                    VerifyReport& report, size_t max_reported);
  void Report(VerifyReport& report, size_t max_reported, Difference d);

  TableMapping mapping_;
  std::vector<db::Connection*> sources_;
  std::vector<db::Connection*> targets_;
  std::vector<std::string> target_names_;
  Router router_;
  int64_t chunk_rows_;
  int64_t segment_rows_;
  bool parallel_ = false;  // every database has its own connection: the queries run at once
};

}  // namespace shardshift::executors
