#!/usr/bin/env bash
# What capture costs the application, per capture mode, on a durable server, measured in one run
# (not a test):
#  - four tables of the same shape and size on one source: one no plan touches (the baseline),
#    one resharded with capture = "trigger", one with capture = "log", and one with capture = "log"
#    whose replay the plan's check command holds ("log, capture alone");
#  - both plans copied and verified (`apply --until cutover`), then kept current while measured
#    (`apply --until cutover --follow`: replay runs, and the log plan's stream is read); for
#    "capture alone" the stream is read and its keys queued, and nothing is replayed: what the
#    application pays for the capture itself, without a second copy of its writes landing on the
#    same two cores and disks (in production the targets are other servers);
#  - single-row updates of random rows flat out by 4 clients, 10 s per run, alternating baseline,
#    trigger, log, capture alone (ROUNDS rounds, then a last baseline); each mode's run is compared with the mean
#    of the baseline runs either side of it, and the median ratio is printed;
#  - after each log run (both kinds), how far the stream is behind the server's log (a stream that cannot keep
#    up with the writer would make the cutover wait).
# ENGINE pg: PostgreSQL with fsync, synchronous_commit and full_page_writes on, load from pgbench.
# ENGINE my: MariaDB with innodb_flush_log_at_trx_commit = 1 and sync_binlog = 1, its binary log on
# in every run (the baseline too: log capture needs it, and servers with replicas pay it already),
# load from sysbench.
# Usage: bench/capture.sh BUILD_DIR [ROWS] [ROUNDS] [ENGINE]   (default 200000 rows, 5 rounds, pg)
set -euo pipefail
. "$(dirname "$0")/common.sh"
build=${1:-build}
rows=${2:-200000}
rounds=${3:-5}
engine=${4:-pg}
case "$engine" in pg|my) ;; *) echo "ENGINE is pg or my, not '$engine'" >&2; exit 2;; esac
bench_sandbox "$build" capture
pgbin=/usr/lib/postgresql/15/bin
follower=""
trap '[ -n "$follower" ] && kill -TERM "$follower" 2>/dev/null; wait 2>/dev/null; "$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT

for t in users_b users_t users_l users_c; do
  if [ "$engine" = pg ]; then
    q -d range_0 -c "CREATE TABLE $t (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, n int NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now())" \
      -c "INSERT INTO $t SELECT g, 'user' || g || '@example.com', 'User ' || g, 0, now() FROM generate_series(1, $rows) g" \
      -c "ANALYZE $t"
  else
    m range_0 -e "CREATE TABLE $t (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, n INT NOT NULL DEFAULT 0, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB;
      INSERT INTO $t SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('User ', seq), 0, NOW(6) FROM seq_1_to_$rows; ANALYZE TABLE $t" >/dev/null
  fi
done
reshard_spec "$dir/t.toml" capbench_t users_t "$engine" "" 'capture = "trigger"'
reshard_spec "$dir/l.toml" capbench_l users_l "$engine" "" 'capture = "log"'
reshard_spec "$dir/c.toml" capbench_c users_c "$engine" "" "capture = \"log\"
check_command = \"test ! -e $dir/hold\""
for p in t l c; do
  "$ss" --config "$config" --log-level warn plan "$dir/$p.toml" -o "$dir/$p.plan.toml"
  "$ss" --config "$config" --log-level warn apply --until cutover "$dir/$p.plan.toml" >/dev/null
done

if [ "$engine" = pg ]; then
  q -d range_0 -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
    -c "ALTER SYSTEM SET full_page_writes = on" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 1
  q -d range_0 -c "CHECKPOINT"
else
  m -e "SET GLOBAL innodb_flush_log_at_trx_commit = 1; SET GLOBAL sync_binlog = 1"
  cat > "$dir/update.lua" <<LUA
function thread_init()
  con = sysbench.sql.driver():connect()
end
function event()
  con:query(string.format("UPDATE %s SET n = n + 1 WHERE id = %d", os.getenv("TABLE"), sysbench.rand.uniform(1, $rows)))
end
LUA
fi

lag() {  # lag PLAN: bytes of log the plan's stream has not confirmed
  "$ss" --config "$config" --log-level warn status --json "$1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["capture_streams"][0].get("lag_bytes", -1))'
}
tps() {  # tps TABLE
  if [ "$engine" = pg ]; then
    printf '\\set id random(1, %d)\nUPDATE %s SET n = n + 1 WHERE id = :id;\n' "$rows" "$1" > "$dir/update.sql"
    "$pgbin/pgbench" -n -T 10 -c 4 -j 2 -f "$dir/update.sql" range_0 > "$dir/pgbench.log" 2>&1 || { cat "$dir/pgbench.log" >&2; exit 1; }
    grep -o 'tps = [0-9.]*' "$dir/pgbench.log" | grep -o '[0-9.]*$'
  else
    TABLE="$1" sysbench_eps "$dir/update.lua"
  fi
}
follow() {  # follow PLAN: keep it current in the background
  "$ss" --config "$config" --log-level warn apply --until cutover --follow "$1" > "$dir/follow.log" 2>&1 &
  follower=$!
}
unfollow() {
  kill -TERM "$follower"
  wait "$follower" || { cat "$dir/follow.log" >&2; exit 1; }
  follower=""
}

results="$dir/results"
: > "$results"
for r in $(seq 1 "$rounds"); do
  echo "base $(tps users_b)" >> "$results"
  follow "$dir/t.plan.toml"; sleep 2
  echo "trigger $(tps users_t)" >> "$results"
  unfollow
  follow "$dir/l.plan.toml"
  for _ in $(seq 1 60); do [ "$(lag "$dir/l.plan.toml")" -lt 1048576 ] && break; sleep 0.5; done  # the baseline's WAL read
  echo "log $(tps users_l) $(lag "$dir/l.plan.toml")" >> "$results"
  unfollow
  touch "$dir/hold"  # the check command holds replay; the stream reads on
  follow "$dir/c.plan.toml"
  for _ in $(seq 1 60); do [ "$(lag "$dir/c.plan.toml")" -lt 1048576 ] && break; sleep 0.5; done
  echo "alone $(tps users_c) $(lag "$dir/c.plan.toml")" >> "$results"
  unfollow
  rm -f "$dir/hold"
done
echo "base $(tps users_b)" >> "$results"

python3 - "$results" "$rows" "$rounds" "$engine" <<'PY'
import statistics, sys
runs = [line.split() for line in open(sys.argv[1])]
ratios = {"trigger": [], "log": [], "alone": []}
lags = {"log": [], "alone": []}
base_before = None
pending = []
for run in runs:
    if run[0] == "base":
        tps = float(run[1])
        if base_before is not None:
            for mode, value in pending:
                ratios[mode].append(value / ((base_before + tps) / 2))
        base_before, pending = tps, []
    else:
        pending.append((run[0], float(run[1])))
        if run[0] in lags:
            lags[run[0]].append(int(run[2]))
bases = [float(r[1]) for r in runs if r[0] == "base"]
load = "PostgreSQL, pgbench -c 4" if sys.argv[4] == "pg" else "MariaDB (binary log on in every run), sysbench --threads=4"
print(f"{load}, rows {sys.argv[2]}, {sys.argv[3]} rounds of 10 s single-row updates, durable settings")
print(f"baseline             {statistics.median(bases):8.0f} tps median (no capture)")
names = {"trigger": "trigger, replayed", "log": "log, replayed", "alone": "log, capture alone"}
for mode in ("trigger", "log", "alone"):
    r = ratios[mode]
    print(f"{names[mode]:20} {100 * (1 - statistics.median(r)):5.1f}% slower (median; runs {', '.join(f'{100 * (1 - x):.1f}' for x in r)})   aim <= 3% with the log")
for mode in ("log", "alone"):
    print(f"{names[mode]}: stream behind at the end of each run: {', '.join(f'{l / 1048576:.1f} MiB' for l in lags[mode])}")
PY
