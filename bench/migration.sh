#!/usr/bin/env bash
# The whole documented flow (issue 15), measured in one run on one sandbox (not a test), runs
# alternating, three of each:
#  - the reference: four hash-routed COPY pipes at once, `COPY (SELECT * FROM users WHERE
#    abs(hashint8(id)) % 4 = i) TO STDOUT | COPY users FROM STDIN` into hash_i (target tables made
#    beforehand, not timed);
#  - shardshift: `plan`, `apply` (capture, copy, replay, verify step, cutover) and `verify`, which
#    reuses the verify step's comparison; `verify --full` (every row again) is timed beside it.
# Each run moves its own copy of the table (users_1, users_2, users_3: equal), so no run inherits
# another's capture, claims or state.
# Usage: bench/migration.sh BUILD_DIR [ROWS]   (default 1000000)
set -euo pipefail
build=${1:-build}
rows=${2:-1000000}
. "$(dirname "$0")/common.sh"
bench_sandbox "$build" mbench
table() { echo "CREATE TABLE $1 (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, status text NOT NULL DEFAULT 'active', bio text, created_at timestamptz NOT NULL DEFAULT now())"; }
for run in 1 2 3; do
  q -d range_0 -c "$(table "users_$run")" \
    -c "INSERT INTO users_$run SELECT g, 'user' || g || '@example.com', 'User ' || g, 'active', CASE WHEN g % 3 = 0 THEN repeat('bio ', 20) END, now() FROM generate_series(1, $rows) g" \
    -c "ANALYZE users_$run"
done
targets=(hash_0 hash_1 hash_2 hash_3)
pipes() {
  for i in 0 1 2 3; do
    q -d range_0 -c "COPY (SELECT * FROM $1 WHERE abs(hashint8(id)) % 4 = $i) TO STDOUT" | q -d "${targets[$i]}" -c "COPY $1 FROM STDIN" &
  done
  wait
}
secs() { python3 -c "print(round($2 - $1, 2))"; }
ref=() whole=() parts=() full=()
for run in 1 2 3; do
  t="users_$run"
  for d in "${targets[@]}"; do q -d "$d" -c "$(table "$t")"; done
  t0=$(now); pipes "$t"; t1=$(now)
  ref+=("$(secs "$t0" "$t1")")
  for d in "${targets[@]}"; do q -d "$d" -c "DROP TABLE $t"; done
  reshard_spec "$dir/spec.toml" "mbench-$run" "$t" pg
  t0=$(now)
  "$ss" --config "$config" --log-level warn plan "$dir/spec.toml" -o "$dir/plan.toml" >/dev/null
  t1=$(now)
  "$ss" --config "$config" --log-level warn apply "$dir/plan.toml" >/dev/null
  t2=$(now)
  "$ss" --config "$config" --log-level warn verify "$dir/plan.toml" >/dev/null
  t3=$(now)
  whole+=("$(secs "$t0" "$t3")")
  parts+=("plan $(secs "$t0" "$t1") s, apply $(secs "$t1" "$t2") s, verify $(secs "$t2" "$t3") s")
  t4=$(now)
  "$ss" --config "$config" --log-level warn verify --full "$dir/plan.toml" >/dev/null
  full+=("$(secs "$t4" "$(now)")")
done
for i in 0 1 2; do
  python3 - "$rows" "${ref[$i]}" "${whole[$i]}" "${parts[$i]}" "${full[$i]}" <<'PY'
import sys
rows, ref, whole, parts, full = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
print(f"{rows} rows: four COPY pipes {ref:5.2f} s; plan + apply + verify {whole:6.2f} s = {whole / ref:.2f}x   aim <= 3x  ({parts}; verify --full {full:.2f} s)")
PY
done
