#!/usr/bin/env bash
# move_keys under live writers (issue 22), measured in one run on one sandbox (PostgreSQL):
#  - a directory over one database (range_0) whose orders table holds 100 tenants, one of them
#    (tenant 1) 40% of the rows; pgbench writes tenant 1 (2 clients) and the other tenants (2
#    clients, separately, so that the first's end at the fence does not stop the second);
#  - tenant 1 moved to hash_0 with move_keys (apply --until cutover, then apply): the keys'
#    write-blocked window (shardshift's own figure), tenant 1's longest gap between commits before
#    its writers meet the fence, and the other tenants' longest transaction during the cutover run
#    (and during the copy) against their longest in the span just before the move (the baseline);
#  - the tenant move's rows/s against a reshard of a table of the same number of rows (single
#    source onto hash_1, same chunking, the same other-tenant writer running), in the same run.
# Usage: bench/move_keys.sh BUILD_DIR [ROWS] [TPS] [SECONDS]   (defaults 200000 rows, 300 tps per
# writer, writers running 40 s: 10 s of baseline, then the apply, which must end before them)
set -euo pipefail
build=${1:-build}
rows=${2:-200000}
tps=${3:-300}
seconds=${4:-40}
. "$(dirname "$0")/common.sh"
bench_sandbox "$build" kbench
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; "$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT
pgbin=/usr/lib/postgresql/15/bin
hot=$((rows * 2 / 5))
q -d range_0 \
  -c "CREATE TABLE orders (tenant_id bigint NOT NULL, id bigint NOT NULL, total int NOT NULL, note text, PRIMARY KEY (tenant_id, id))" \
  -c "INSERT INTO orders SELECT 1, g, g % 100, repeat('n', 40) FROM generate_series(1, $hot) g" \
  -c "INSERT INTO orders SELECT 2 + g % 99, g, g % 100, repeat('n', 40) FROM generate_series(1, $((rows - hot))) g" \
  -c "CREATE TABLE solo (id bigint PRIMARY KEY, total int NOT NULL, note text)" \
  -c "INSERT INTO solo SELECT g, g % 100, repeat('n', 40) FROM generate_series(1, $hot) g" \
  -c "ANALYZE"
move_keys_plans pg public.solo
cat > "$dir/hot.sql" <<SQL
\set id random(1, $hot)
UPDATE orders SET total = total + 1 WHERE tenant_id = 1 AND id = :id;
INSERT INTO orders VALUES (1, 10000000 + :client_id * 1000000 + :id, 1, 'hot') ON CONFLICT DO NOTHING;
SQL
cat > "$dir/other.sql" <<SQL
\set t random(2, 100)
\set id random(1, $((rows - hot)))
UPDATE orders SET total = total + 1 WHERE tenant_id = :t AND id = :id;
SQL
writer() {  # NAME SCRIPT
  # A fixed duration: pgbench writes its transaction log when it ends by itself.
  ( cd "$dir" && exec "$pgbin/pgbench" -n -T "$seconds" -R "$tps" -c 2 -j 1 -l --log-prefix="pgblog-$1" -f "$2" range_0 \
      > "$dir/pgbench-$1.log" 2>&1 ) &
  pids="$pids $!"
}
# longest NAME FROM TO: the longest transaction (ms) of the writer NAME that ended in [FROM, TO].
longest() {
  cat "$dir/pgblog-$1".* | python3 -c "
import sys
a, b = $2, $3
print(round(max((int(f[2]) / 1000 for f in (l.split() for l in sys.stdin) if len(f) >= 6 and a <= int(f[4]) + int(f[5]) / 1e6 <= b), default=0)))"
}
# gap NAME FROM: the longest time (ms) between two commits of the writer NAME after FROM.
gap() {
  cat "$dir/pgblog-$1".* | python3 -c "
import sys
t = sorted(int(f[4]) + int(f[5]) / 1e6 for f in (l.split() for l in sys.stdin) if len(f) >= 6 and int(f[4]) + int(f[5]) / 1e6 >= $2)
print(round(1000 * max((y - x for x, y in zip(t, t[1:])), default=0)))"
}
writer other "$dir/other.sql"
writer hot "$dir/hot.sql"
sleep 10  # the other tenants' baseline span, before the apply
b0=$(now)
"$ss" --config "$config" --log-level warn apply --until cutover "$dir/keys.plan" >/dev/null
c0=$(now)
out=$("$ss" --config "$config" --log-level warn apply "$dir/keys.plan")
t1=$(now)
keys_s=$(python3 -c "print(round($t1 - $b0, 2))")
# The baseline span for the other tenants: the same length, just before the apply, writers running.
base0=$(python3 -c "print(max($b0 - 9.5, $b0 - ($t1 - $b0)))")
for p in $pids; do wait "$p" 2>/dev/null || true; done  # the hot writer ended at the fence, the other at -T
pids=""
window=$(echo "$out" | grep -o 'write-blocked *[0-9]* ms' | grep -o '[0-9]*' || echo "?")
other_copy=$(longest other "$b0" "$c0")
other_during=$(longest other "$c0" "$t1")
other_before=$(longest other "$base0" "$b0")
hot_gap=$(gap hot "$b0")
s0=$(now)
"$ss" --config "$config" --log-level warn apply "$dir/solo.plan" >/dev/null
s1=$(now)
solo_s=$(python3 -c "print(round($s1 - $s0, 2))")
moved=$(q -d hash_0 -c "SELECT count(*) FROM orders WHERE tenant_id = 1")
elsewhere=$(q -d hash_0 -c "SELECT count(*) FROM orders WHERE tenant_id <> 1")
routed=$(q -d app -c "SELECT shard FROM shardshift_directory WHERE shard_key = '1'")
python3 - "$rows" "$hot" "$tps" "$keys_s" "$window" "$other_during" "$other_before" "$hot_gap" "$solo_s" "$moved" "$elsewhere" "$routed" "$other_copy" <<'PY'
import sys
rows, hot, tps, ks, w, od, ob, hg, ss, moved, elsewhere, routed, oc = sys.argv[1:]
ks, ss = float(ks), float(ss)
def ratio(a, b):
    try:
        return f"{float(a) / float(b):.2f}x"
    except (ValueError, ZeroDivisionError):
        return "?"
print(f"table                     {rows} rows, tenant 1 holds {hot} (40%); pgbench at {tps} tps on tenant 1 and on the others, 2 clients each")
print(f"tenant 1's write-blocked  {w} ms (shardshift), its longest gap between commits before the fence {hg} ms")
print(f"other tenants             longest transaction during the cutover run {od} ms = {ratio(od, ob)} their longest just before the move ({ob} ms); during the copy {oc} ms")
print(f"tenant move               {ks:6.1f} s, {int(hot) / ks:8.0f} rows/s = {ss / ks:.2f}x the rate of a reshard of {hot} rows ({ss:.1f} s, {int(hot) / ss:.0f} rows/s)")
print(f"afterwards                tenant 1 on pg_hash_0: {moved} rows (no other tenant there: {elsewhere}); directory routes it to {routed}")
PY
