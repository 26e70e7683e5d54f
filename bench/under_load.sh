#!/usr/bin/env bash
# A reshard under a live writer (issue 15), all measured in one run on one sandbox (not a test):
#  - the copy (backfill + replay to caught-up) of table A with no writer: its time is the baseline;
#  - the same copy of table C, equal to A, while pgbench updates random rows of A (already copied,
#    its plan idle) at half the rate the source sustains alone (measured first, without capture):
#    what a machine this busy costs a copy whose table nobody writes;
#  - the same copy of table B while the writer updates B at that rate instead: its time against
#    both, and the changelog's backlog when it ends;
#  - a deferred cutover: `apply --until cutover`, the writer runs on for DEFER seconds (the backlog
#    grows), then `apply`: the write-blocked window and pgbench's slowest committed write around it.
# Usage: bench/under_load.sh BUILD_DIR [ROWS] [DEFER_SECONDS]   (defaults 1000000, 10)
set -euo pipefail
build=${1:-build}
rows=${2:-1000000}
defer=${3:-10}
. "$(dirname "$0")/common.sh"
bench_sandbox "$build" lbench
writer=""
trap '[ -n "$writer" ] && kill "$writer" 2>/dev/null; "$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT
pgbin=/usr/lib/postgresql/15/bin
for t in users_a users_b users_c; do
  q -d range_0 -c "CREATE TABLE $t (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, status text NOT NULL DEFAULT 'active', bio text, created_at timestamptz NOT NULL DEFAULT now())" \
    -c "INSERT INTO $t SELECT g, 'user' || g || '@example.com', 'User ' || g, 'active', CASE WHEN g % 3 = 0 THEN repeat('bio ', 20) END, now() FROM generate_series(1, $rows) g" \
    -c "ANALYZE $t"
done
for t in users_a users_b; do
  printf '\\set id random(1, %d)\nUPDATE %s SET name = name WHERE id = :id;\n' "$rows" "$t" > "$dir/update_$t.sql"
done
alone=$("$pgbin/pgbench" -n -T 8 -c 4 -j 2 -f "$dir/update_users_b.sql" range_0 2>&1 | grep -o 'tps = [0-9.]*' | grep -o '[0-9.]*$')
rate=$(python3 -c "print(int($alone / 2))")

spec() {
  reshard_spec "$dir/$1.toml" "load-$1" "$1" pg 5000
  "$ss" --config "$config" --log-level warn plan "$dir/$1.toml" -o "$dir/$1.plan.toml" >/dev/null
}
spec users_a
spec users_b
spec users_c
backlog() { "$ss" --config "$config" status --json "$dir/$1.plan.toml" | python3 -c "import json,sys; print(sum(v or 0 for v in json.load(sys.stdin)['changelog_backlog'].values()))"; }

t0=$(now)
"$ss" --config "$config" --log-level warn apply --until verify "$dir/users_a.plan.toml" >/dev/null
t1=$(now)
idle=$(python3 -c "print($t1 - $t0)")

# The writer at half the source's rate on A while C is copied; then on B, through B's copy and its
# deferred cutover.
( cd "$dir" && exec "$pgbin/pgbench" -n -T 3600 -R "$rate" -c 4 -j 2 -f "$dir/update_users_a.sql" range_0 > "$dir/pgbench-busy.log" 2>&1 ) &
writer=$!
sleep 2
t0=$(now)
"$ss" --config "$config" --log-level warn apply --until verify "$dir/users_c.plan.toml" >/dev/null
t1=$(now)
busy=$(python3 -c "print($t1 - $t0)")
kill "$writer"
wait "$writer" 2>/dev/null || true
( cd "$dir" && exec "$pgbin/pgbench" -n -T 3600 -R "$rate" -c 4 -j 2 -l --log-prefix=load -f "$dir/update_users_b.sql" range_0 > "$dir/pgbench-load.log" 2>&1 ) &
writer=$!
sleep 2
t0=$(now)
"$ss" --config "$config" --log-level warn apply --until verify "$dir/users_b.plan.toml" > "$dir/copy-b.out"
t1=$(now)
loaded=$(python3 -c "print($t1 - $t0)")
left_after_copy=$(backlog users_b)
"$ss" --config "$config" --log-level warn apply --until cutover "$dir/users_b.plan.toml" >/dev/null
sleep "$defer"
left_at_cutover=$(backlog users_b)
tc0=$(now)
# A cutover that gives up (it says why; nothing was blocked) is a result too, not a failed bench.
cut=$("$ss" --config "$config" --log-level info apply "$dir/users_b.plan.toml" 2> "$dir/cut.log") || true
grep -h "cutover" "$dir/cut.log" >&2 || true
sleep 1
kill "$writer" 2>/dev/null || true
wait "$writer" 2>/dev/null || true
writer=""
window=$(echo "$cut" | grep -o 'write-blocked *[0-9]* ms' | grep -o '[0-9]*' || echo "none (the cutover gave up, see above)")
# pgbench -l: one line per transaction (client, tx, latency us, script, epoch s, us, [lag]). With
# -R a latency includes the schedule's lag, which on a small machine is mostly CPU contention; so
# the stall is measured directly: the longest time in which no client committed anything, from the
# start of the final apply to the last commit. pgbench's clients end at the fence's error, which it
# does not time, so this shows the catch-up (the backlog is not drained behind a block); the block
# itself is the window shardshift reports.
stall=$(cat "$dir"/load.* | python3 -c "
import sys
a = $tc0
t = sorted(int(f[4]) + int(f[5]) / 1e6 for f in (l.split() for l in sys.stdin) if int(f[4]) + int(f[5]) / 1e6 >= a)
print(round(1000 * max((y - x for x, y in zip(t, t[1:])), default=0)))")
python3 - "$rows" "$alone" "$rate" "$idle" "$busy" "$loaded" "$left_after_copy" "$defer" "$left_at_cutover" "$window" "$stall" <<'PY'
import sys
rows, alone, rate, idle, busy, loaded, left_copy, defer, left_cut, window, stall = sys.argv[1:]
alone, idle, busy, loaded = float(alone), float(idle), float(busy), float(loaded)
print(f"rows                      {rows} per table; pgbench alone on the source {alone:.0f} tps, the writer at {rate} tps")
print(f"copy + replay, no writer  {idle:6.1f} s")
print(f"copy, writer elsewhere    {busy:6.1f} s = {busy / idle:.2f}x idle   (the machine's share the writer takes)")
print(f"copy + replay, writer on  {loaded:6.1f} s = {loaded / idle:.2f}x idle   aim <= 2x; {loaded / busy:.2f}x the copy beside it; {left_copy} change(s) queued when it ended")
print(f"deferred cutover          {left_cut} change(s) queued after {defer} s of --until cutover; write-blocked {window} ms   aim < 200 ms")
print(f"longest commit gap        {stall} ms while the final apply caught up, before its block (the block itself is the window above)")
PY
