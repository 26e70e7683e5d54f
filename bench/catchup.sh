#!/usr/bin/env bash
# A deferred cutover under a fixed-rate writer (issue 15), one run on one sandbox (not a test): the
# table is copied (`apply --until cutover`) with no writer; then pgbench -R RATE updates random rows
# of it; after DEFER seconds the final `apply` (debug log) catches up and cuts over. Prints the
# catch-up's reports, the window, and the CPU seconds each process took during the final apply.
# Usage: bench/catchup.sh BUILD_DIR [ROWS] [RATE] [DEFER_SECONDS]   (defaults 1000000, 8000, 10)
set -uo pipefail
build=${1:-build}; rows=${2:-1000000}; rate=${3:-8000}; defer=${4:-10}
. "$(dirname "$0")/common.sh"
bench_sandbox "$build" cbench
pgbin=/usr/lib/postgresql/15/bin
q -d range_0 -c "CREATE TABLE users_b (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, status text NOT NULL DEFAULT 'active', bio text, created_at timestamptz NOT NULL DEFAULT now())" \
  -c "INSERT INTO users_b SELECT g, 'user' || g || '@example.com', 'User ' || g, 'active', CASE WHEN g % 3 = 0 THEN repeat('bio ', 20) END, now() FROM generate_series(1, $rows) g" -c "ANALYZE users_b"
printf '\\set id random(1, %d)\nUPDATE users_b SET name = name WHERE id = :id;\n' "$rows" > "$dir/upd.sql"
reshard_spec "$dir/b.toml" load-b users_b pg 5000
"$ss" --config "$config" --log-level warn plan "$dir/b.toml" -o "$dir/b.plan.toml" >/dev/null
"$ss" --config "$config" --log-level warn apply --until cutover "$dir/b.plan.toml" >/dev/null
( cd "$dir" && exec "$pgbin/pgbench" -n -T 3600 -R "$rate" -c 4 -j 2 -f "$dir/upd.sql" range_0 > "$dir/pgbench.log" 2>&1 ) &
writer=$!
trap 'kill $writer 2>/dev/null; "$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT
sleep "$defer"
cpu() {  # pid|command|CPU ticks of every postgres process, shardshift and pgbench
  for p in /proc/[0-9]*; do
    c=$(tr '\0' ' ' < $p/cmdline 2>/dev/null) || continue
    case "$c" in *postgres:*|*shardshift*|*pgbench*) ;; *) continue;; esac
    t=$(awk '{print $14+$15}' $p/stat 2>/dev/null) || continue
    echo "${p#/proc/}|$(echo "$c" | sed 's/127.0.0.1([0-9]*)//; s/ *$//')|$t"
  done
}
cpu > "$dir/cpu0"
( while sleep 0.5; do cpu >> "$dir/cpu1"; done ) &
sampler=$!
t0=$(now)
timeout 200 "$ss" --config "$config" --log-level debug apply "$dir/b.plan.toml" > "$dir/cut.out" 2> "$dir/cut.log"
rc=$?
t1=$(now)
kill $sampler
kill $writer; wait $writer 2>/dev/null
grep -E "cutover: |cutover aborted" "$dir/cut.log" | cut -c1-300
grep -E "write-blocked|rc" "$dir/cut.out"
echo "rc=$rc final apply $(python3 -c "print(round($t1-$t0,1))") s; pgbench: $(grep -o 'tps = [0-9.]*' $dir/pgbench.log | head -1)"
python3 - "$dir/cpu0" "$dir/cpu1" <<'PY'
import sys, collections
def load(f):
    d = {}
    for l in open(f):
        try:
            pid, cmd, t = l.rstrip('\n').split('|')
            d[pid] = (cmd, max(int(t), d.get(pid, ('', 0))[1]))
        except ValueError:
            pass
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
tot = collections.Counter()
for pid, (cmd, t) in b.items():
    t0 = a.get(pid, (cmd, 0))[1]
    kind = cmd.replace('postgres: ', '').replace('/usr/lib/postgresql/15/bin/', '')[:60]
    # The targets' sessions summed; the source's sessions and the walsender one by one (by pid).
    if kind.startswith('shardshift ') and 'range_0' not in kind and 'hash' in kind: kind = 'target backends'
    tot[pid + ' ' + kind if 'range_0' in kind or 'walsender' in kind else kind] += (t - t0) / 100
for k, v in tot.most_common(15):
    print(f"{v:7.1f} s  {k}")
PY
