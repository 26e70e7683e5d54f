#!/usr/bin/env bash
# Starts a sandbox, runs the benchmarks, prints each fast path's speed-up over its baseline measured
# in the same run, and stops the sandbox. Usage: bench/run.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
dir=$(mktemp -d /tmp/shardshift-bench-XXXXXX)
rmdir "$dir"
"$build/cmd/shardshift" sandbox up --dir "$dir" >/dev/null
trap '"$build/cmd/shardshift" sandbox down --dir "$dir" >/dev/null' EXIT
SHARDSHIFT_BENCH_CONFIG="$dir/shardshift.toml" "$build/bench/shardshift_bench" \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_format=json --benchmark_out="$build/bench.json" --benchmark_out_format=json >/dev/null
python3 - "$build/bench.json" <<'PY'
import json, sys
runs = {b["run_name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"] if b.get("aggregate_name") == "median"}
def ips(name): return runs[name]["items_per_second"]
for engine in ("postgres", "mariadb"):
    base = ips(f"BM_RowByRowInsert/{engine}")
    fast = ips(f"BM_BulkInsert/{engine}")
    read = ips(f"BM_StreamingRead/{engine}")
    print(f"{engine:9} bulk write {fast:10.0f} rows/s = {fast / base:5.1f}x row-by-row INSERT ({base:.0f} rows/s); streaming read {read:10.0f} rows/s")
PY
