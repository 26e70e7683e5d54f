#!/usr/bin/env bash
# Peak memory (RSS) of `shardshift apply` for a whole reshard (copy, replay, verify, cutover) of one
# PostgreSQL table onto four hash shards, as the table grows and for wide rows (issue 15): it should
# stay flat. Not a test. Usage: bench/memory.sh BUILD_DIR [SIZES]
#   SIZES: space-separated ROWSxBYTES (the bio column's width), default "250000x40 1000000x40 10000x20000"
set -euo pipefail
build=${1:-build}
sizes=${2:-"250000x40 1000000x40 10000x20000"}
. "$(dirname "$0")/common.sh"
bench_sandbox "$build" mbench
n=0
for size in $sizes; do
  rows=${size%x*}
  width=${size#*x}
  n=$((n + 1))
  t="mem_$n"
  # md5 chains, so that wide values do not compress away in TOAST.
  q -d range_0 -c "CREATE TABLE $t (id bigint PRIMARY KEY, email text NOT NULL, bio text)" \
    -c "INSERT INTO $t SELECT g, 'user' || g || '@example.com', (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, GREATEST(1, $width / 32)) i) FROM generate_series(1, $rows) g" \
    -c "ANALYZE $t"
  reshard_spec "$dir/$t.toml" "mem-$t" "$t" pg
  "$ss" --config "$config" --log-level warn plan "$dir/$t.toml" -o "$dir/$t.plan.toml" >/dev/null
  python3 - "$ss" "$config" "$dir/$t.plan.toml" "$rows" "$width" <<'PY'
import resource, subprocess, sys, time
ss, config, plan, rows, width = sys.argv[1:]
t0 = time.time()
subprocess.run([ss, "--config", config, "--log-level", "warn", "apply", plan], check=True, stdout=subprocess.DEVNULL)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{int(rows):>9} rows of ~{int(width):>5} bytes: peak RSS of apply {peak:6.0f} MB ({time.time() - t0:.1f} s)   aim: flat, < 150 MB")
PY
  q -d range_0 -c "DROP TABLE $t"
  for h in hash_0 hash_1 hash_2 hash_3; do q -d "$h" -c "DROP TABLE IF EXISTS $t CASCADE"; done
done
