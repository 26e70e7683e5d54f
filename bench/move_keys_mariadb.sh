#!/usr/bin/env bash
# move_keys under live writers on MariaDB (issue 22; bench/move_keys.sh is PostgreSQL's), measured
# in one run on one sandbox:
#  - a directory over one database (range_0) whose orders table holds 100 tenants, one of them
#    (tenant 1) 40% of the rows; sysbench writes tenant 1 (2 threads) and, separately, the other
#    tenants (2 threads), each at TPS events/s;
#  - the other tenants' writer reports its slowest transaction each second (--percentile=100):
#    the longest during the move's apply against the longest in the span of the same length just
#    before it (the baseline), writers running in both;
#  - tenant 1 moved to hash_0 with move_keys (apply --until cutover, then apply): the keys'
#    write-blocked window (shardshift's own figure);
#  - the tenant move's rows/s against a reshard of a table of the same number of rows (single
#    source onto hash_1, same chunking, the other tenants' writer running), in the same run.
# Usage: bench/move_keys_mariadb.sh BUILD_DIR [ROWS] [TPS]   (defaults 200000 rows, 300 events/s per
# writer)
set -euo pipefail
build=${1:-build}
rows=${2:-200000}
tps=${3:-300}
. "$(dirname "$0")/common.sh"
bench_sandbox "$build" kmbench
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; "$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT
hot=$((rows * 2 / 5))
m range_0 -e "CREATE TABLE orders (tenant_id bigint NOT NULL, id bigint NOT NULL, total int NOT NULL, note text,
  PRIMARY KEY (tenant_id, id)) ENGINE=InnoDB;
  INSERT INTO orders SELECT 1, seq, seq % 100, REPEAT('n', 40) FROM seq_1_to_$hot;
  INSERT INTO orders SELECT 2 + seq % 99, seq, seq % 100, REPEAT('n', 40) FROM seq_1_to_$((rows - hot));
  CREATE TABLE solo (id bigint PRIMARY KEY, total int NOT NULL, note text) ENGINE=InnoDB;
  INSERT INTO solo SELECT seq, seq % 100, REPEAT('n', 40) FROM seq_1_to_$hot;
  ANALYZE TABLE orders, solo" >/dev/null
move_keys_plans my solo
cat > "$dir/hot.lua" <<LUA
function thread_init() con = sysbench.sql.driver():connect() end
function event()
  local id = sysbench.rand.uniform(1, $hot)
  con:query(string.format("UPDATE orders SET total = total + 1 WHERE tenant_id = 1 AND id = %d", id))
  con:query(string.format("INSERT IGNORE INTO orders VALUES (1, %d, 1, 'hot')", 10000000 + sysbench.tid * 1000000 + id))
end
LUA
cat > "$dir/other.lua" <<LUA
function thread_init() con = sysbench.sql.driver():connect() end
function event()
  con:query(string.format("UPDATE orders SET total = total + 1 WHERE tenant_id = %d AND id = %d",
    sysbench.rand.uniform(2, 100), sysbench.rand.uniform(1, $((rows - hot)))))
end
LUA
writer() {  # NAME SCRIPT: runs until killed; per-second reports with the slowest event of each second
  now > "$dir/start-$1"
  sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$mport" --mysql-user=shardshift \
    --mysql-password="$MYSQL_PWD" --mysql-db=range_0 --threads=2 --rate="$tps" --time=0 --report-interval=1 \
    --percentile=100 --mysql-ignore-errors=all "$2" run > "$dir/sysbench-$1.log" 2>&1 &
  pids="$pids $!"
}
# longest NAME FROM TO: the slowest event (ms) of the writer NAME in the seconds that overlap [FROM, TO].
longest() {
  python3 - "$dir/sysbench-$1.log" "$(cat "$dir/start-$1")" "$2" "$3" <<'PY'
import re, sys
log, start, a, b = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
worst = 0.0
for line in open(log):
    m = re.match(r"\[ (\d+)s \].*lat \(ms,100%\): ([0-9.]+)", line)
    if m:
        end = start + int(m.group(1))
        if end - 1 < b and end > a:  # the second [end-1, end] overlaps the span
            worst = max(worst, float(m.group(2)))
print(round(worst))
PY
}
writer other "$dir/other.lua"
writer hot "$dir/hot.lua"
sleep 12  # the baseline span, before the apply
b0=$(now)
"$ss" --config "$config" --log-level warn apply --until cutover "$dir/keys.plan" >/dev/null
c0=$(now)
out=$("$ss" --config "$config" --log-level warn apply "$dir/keys.plan")
t1=$(now)
keys_s=$(python3 -c "print(round($t1 - $b0, 2))")
base0=$(python3 -c "print(max($b0 - 10, $b0 - ($t1 - $b0)))")
window=$(echo "$out" | grep -o 'write-blocked *[0-9]* ms' | grep -o '[0-9]*' || echo "?")
sleep 1
other_copy=$(longest other "$b0" "$c0")
other_during=$(longest other "$c0" "$t1")
other_before=$(longest other "$base0" "$b0")
s0=$(now)
"$ss" --config "$config" --log-level warn apply "$dir/solo.plan" >/dev/null
s1=$(now)
for p in $pids; do kill "$p" 2>/dev/null || true; done
pids=""
solo_s=$(python3 -c "print(round($s1 - $s0, 2))")
moved=$(m -N hash_0 -e "SELECT count(*) FROM orders WHERE tenant_id = 1")
elsewhere=$(m -N hash_0 -e "SELECT count(*) FROM orders WHERE tenant_id <> 1")
routed=$(m -N app -e "SELECT shard FROM shardshift_directory WHERE shard_key = '1'")
python3 - "$rows" "$hot" "$tps" "$keys_s" "$window" "$other_during" "$other_before" "$solo_s" "$moved" "$elsewhere" "$routed" "$other_copy" <<'PY'
import sys
rows, hot, tps, ks, w, od, ob, ss, moved, elsewhere, routed, oc = sys.argv[1:]
ks, ss = float(ks), float(ss)
def ratio(a, b):
    try:
        return f"{float(a) / float(b):.2f}x"
    except (ValueError, ZeroDivisionError):
        return "?"
print(f"table                     {rows} rows, tenant 1 holds {hot} (40%); sysbench at {tps} events/s on tenant 1 and on the others, 2 threads each (MariaDB)")
print(f"tenant 1's write-blocked  {w} ms (shardshift)")
print(f"other tenants             slowest transaction during the cutover run {od} ms = {ratio(od, ob)} their slowest just before the move ({ob} ms); during the copy {oc} ms")
print(f"tenant move               {ks:6.1f} s, {int(hot) / ks:8.0f} rows/s = {ss / ks:.2f}x the rate of a reshard of {hot} rows ({ss:.1f} s, {int(hot) / ss:.0f} rows/s)")
print(f"afterwards                tenant 1 on my_hash_0: {moved} rows (no other tenant there: {elsewhere}); directory routes it to {routed}")
PY
