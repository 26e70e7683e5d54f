#!/usr/bin/env bash
# A vertical split under a live writer, measured in one run on one sandbox (PostgreSQL):
#  - baseline: the expand (`apply --until expand-complete`: new table, capture, copy, replay,
#    verify) of table A with no writer;
#  - the same expand of table B, equal to A, while pgbench writes B at half the rate the source
#    sustains alone (measured first): updates of the kept columns and of the moved ones, and inserts;
#  - then the switch (`apply`) with the writer still running: its write-blocked window, and the
#    longest time the kept-column writer (which the fence lets through) went without a commit from
#    the start of the switch's run to its end, against the longest in the 10 s before it.
# The moved-column writer ends at the fence's error (its writes belong on the new table now); the
# kept-column writer runs on. Afterwards `verify` must find the table's projection and the new
# table equal.
# The expand's and the switch's logs (level info, with their phases) stay in BUILD_DIR/bench-split-*.log.
# Usage: bench/split.sh BUILD_DIR [ROWS]   (default 500000)
set -euo pipefail
build=${1:-build}
rows=${2:-500000}
. "$(dirname "$0")/common.sh"
bench_sandbox "$build" sbench
writers=()
trap 'for w in "${writers[@]}"; do kill "$w" 2>/dev/null; done; "$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT
pgbin=/usr/lib/postgresql/15/bin
for t in users_a users_b; do
  q -d range_0 -c "CREATE TABLE $t (id bigserial PRIMARY KEY, email text NOT NULL, name text NOT NULL, status text NOT NULL DEFAULT 'active', bio text, prefs text, created_at timestamptz NOT NULL DEFAULT now())" \
    -c "INSERT INTO $t (email, name, bio, prefs) SELECT 'user' || g || '@example.com', 'User ' || g, CASE WHEN g % 3 = 0 THEN repeat('bio ', 20) END, '{\"theme\": \"dark\"}' FROM generate_series(1, $rows) g" \
    -c "ANALYZE $t"
  cat > "$dir/$t.toml" <<SPEC
[migration]
name = "bench-split-$t"
kind = "vertical_split"
[options]
chunk_rows = 5000
[vertical_split]
database = "pg_range_0"
table = "$t"
key = ["id"]
[[vertical_split.tables]]
name = "${t}_profile"
columns = ["bio", "prefs"]
SPEC
  "$ss" --config "$config" --log-level warn plan "$dir/$t.toml" -o "$dir/$t.plan" >/dev/null
done
cat > "$dir/kept.sql" <<SQL
\set id random(1, $rows)
UPDATE users_b SET name = 'User ' || :id || '.' WHERE id = :id;
INSERT INTO users_b (email, name) VALUES ('new@example.com', 'New');
SQL
cat > "$dir/moved.sql" <<SQL
\set id random(1, $rows)
UPDATE users_b SET bio = 'bio ' || :id WHERE id = :id;
SQL
alone=$("$pgbin/pgbench" -n -T 8 -c 4 -j 2 -f "$dir/kept.sql" -f "$dir/moved.sql" range_0 2>&1 | grep -o "^tps = [0-9.]*" | head -1 | grep -o "[0-9.]*$")
rate=$(python3 -c "print(max(2, int($alone / 2)))")

t0=$(now)
"$ss" --config "$config" --log-level warn apply --until expand-complete "$dir/users_a.plan" >/dev/null
t1=$(now)
idle=$(python3 -c "print($t1 - $t0)")

# Half the rate each: the kept-column writer (logged, runs on) and the moved-column one. -L: a
# transaction more than 200 ms behind its schedule is skipped, not run late, so that the writer
# never goes above its rate to make up for time the expand took from it.
( cd "$dir" && exec "$pgbin/pgbench" -n -T 3600 -R "$(( rate / 2 ))" -L 200 -c 2 -j 1 -l --log-prefix=pgblog-kept -f "$dir/kept.sql" range_0 > "$dir/pgbench-kept.log" 2>&1 ) &
writers+=($!)
( cd "$dir" && exec "$pgbin/pgbench" -n -T 3600 -R "$(( rate / 2 ))" -L 200 -c 2 -j 1 -f "$dir/moved.sql" range_0 > "$dir/pgbench-moved.log" 2>&1 ) &
writers+=($!)
sleep 2
t0=$(now)
"$ss" --config "$config" --log-level info apply --until expand-complete "$dir/users_b.plan" > "$build/bench-split-expand.log" 2>&1
t1=$(now)
busy=$(python3 -c "print($t1 - $t0)")
sleep 10
s0=$(now)
out=$("$ss" --config "$config" --log-level info apply "$dir/users_b.plan" 2>&1 | tee "$build/bench-split-switch.log")
s1=$(now)
sleep 1
for w in "${writers[@]}"; do kill "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true; done
writers=()
window=$(echo "$out" | grep -o 'write-blocked *[0-9]* ms' | grep -o '[0-9]*' || echo "?")
# pgbench -l: client, tx, latency us, script, epoch s, us. The longest time with no commit, in the
# switch's run and in the 10 s before it.
read -r gap before < <(cat "$dir"/pgblog-kept.* | python3 -c "
import sys
t = sorted(int(f[4]) + int(f[5]) / 1e6 for f in (l.split() for l in sys.stdin)
           if len(f) >= 6 and f[2].isdigit() and f[4].isdigit() and f[5].isdigit())
def gap(a, b):
    s = [x for x in t if a <= x <= b]
    return round(1000 * max((y - x for x, y in zip(s, s[1:])), default=0))
print(gap($s0, $s1), gap($s0 - 10, $s0))")
verify_rc=0
"$ss" --config "$config" --log-level warn verify "$dir/users_b.plan" > "$dir/verify.log" 2>&1 || verify_rc=$?
[ "$verify_rc" = 0 ] || { echo "verify after the switch failed:"; head -30 "$dir/verify.log"; }
moved_rows=$(q -d range_0 -c "SELECT count(*) FROM users_b_profile")
python3 - "$rows" "$alone" "$rate" "$idle" "$busy" "$window" "$(python3 -c "print($s1 - $s0)")" "$gap" "$before" "$verify_rc" "$moved_rows" <<'PY'
import sys
rows, alone, rate, idle, busy, window, switch_s, gap, before, verify_rc, moved_rows = sys.argv[1:]
idle, busy = float(idle), float(busy)
print(f"rows                       {rows}; the source alone {float(alone):.0f} tps, the writer at {rate} tps "
      "(half kept-column updates and inserts, half moved-column updates)")
print(f"expand, no writer          {idle:6.1f} s")
print(f"expand, under the writer   {busy:6.1f} s = {busy / idle:.2f}x")
print(f"switch                     {float(switch_s):6.1f} s, write-blocked {window} ms")
print(f"kept-column writer         longest commit gap {gap} ms in the switch's run, {before} ms in the 10 s before")
print(f"verify after the switch    exit {verify_rc} ({moved_rows} rows in the new table)")
PY
