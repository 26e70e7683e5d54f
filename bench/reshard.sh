#!/usr/bin/env bash
# Resharding benchmark, all measured in one run on one sandbox (not a test):
#  - backfill rows/s against the physical reference, a raw pipe
#    `COPY (SELECT ...) TO STDOUT | COPY ... FROM STDIN` between the same databases;
#  - a deferred cutover: after `apply --until verify`, pgbench writes flat out for 20 s while no
#    apply runs (the slot, or the changelog, keeps what it writes), then `apply` runs the cutover
#    with pgbench writing through it at CUT_RATE transactions/s (default 3000: unthrottled, on 2
#    cores that also host the targets, the writer leaves replay too little CPU to ever shrink the
#    backlog, and the cutover rightly gives up without blocking): the write-blocked window, and
#    pgbench's slowest write (its clients are refused by the fence once the sources are fenced).
# What capture costs the application is bench/capture.sh's.
# Usage: bench/reshard.sh BUILD_DIR [ROWS]   (default 1000000 rows)
set -euo pipefail
. "$(dirname "$0")/common.sh"  # reshard_spec
build=${1:-build}
rows=${2:-1000000}
ss="$build/cmd/shardshift"
dir=$(mktemp -d /tmp/shardshift-rbench-XXXXXX)
rmdir "$dir"
"$ss" sandbox up --dir "$dir" >/dev/null
trap '"$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT
config="$dir/shardshift.toml"
pw=$(grep -o 'postgres://shardshift:[^@]*' "$config" | head -1 | cut -d: -f3)
port=$(grep -o 'postgres://[^/]*' "$config" | head -1 | grep -o ':[0-9]*$' | tr -d :)
export PGPASSWORD="$pw" PGHOST=127.0.0.1 PGPORT="$port" PGUSER=shardshift
pgbin=/usr/lib/postgresql/15/bin
table="CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, status text NOT NULL DEFAULT 'active', bio text, created_at timestamptz NOT NULL DEFAULT now())"
q -d range_0 -c "$table" -c "INSERT INTO users SELECT g, 'user' || g || '@example.com', 'User ' || g, 'active', CASE WHEN g % 3 = 0 THEN repeat('bio ', 20) END, now() FROM generate_series(1, $rows) g" -c "ANALYZE users"

# The physical reference: one COPY pipe into one table.
q -d hash_0 -c "$table"
t0=$(date +%s.%N)
q -d range_0 -c "COPY (SELECT * FROM users) TO STDOUT" | q -d hash_0 -c "COPY users FROM STDIN"
t1=$(date +%s.%N)
pipe_rps=$(python3 -c "print($rows / ($t1 - $t0))")
q -d hash_0 -c "DROP TABLE users"

# pgbench on the source: updates of random users.
printf '\\set id random(1, %d)\nUPDATE users SET name = name WHERE id = :id;\n' "$rows" > "$dir/update.sql"

reshard_spec "$dir/spec.toml" bench users pg 5000
"$ss" --config "$config" --log-level warn plan "$dir/spec.toml" -o "$dir/plan.toml"
copy=$("$ss" --config "$config" --log-level warn apply --until verify "$dir/plan.toml")
backfill_rps=$(echo "$copy" | grep -o '([0-9]* rows/s)' | grep -o '[0-9]*')
# Deferred: 20 s of writes with no apply running.
"$pgbin/pgbench" -n -T 20 -c 4 -j 2 -f "$dir/update.sql" range_0 > "$dir/pgbench-deferred.log" 2>&1
# The cutover with the writer running through it: pgbench keeps updating the source; once the
# sources are fenced its clients' writes fail (as a late application instance's would), so its
# per-transaction log shows the longest wait a write saw at the cutover.
# (The deferred writes are read and replayed first: the apply may take a while.)
( cd "$dir" && exec "$pgbin/pgbench" -n -T 900 -R "${CUT_RATE:-3000}" -c 4 -j 2 -l --log-prefix=cut -f "$dir/update.sql" range_0 > "$dir/pgbench-cut.log" 2>&1 ) &
writer=$!
sleep 2
cut=$("$ss" --config "$config" --log-level "${CUT_LOG_LEVEL:-warn}" apply "$dir/plan.toml" 2>"$dir/apply-cut.log") || { cat "$dir/apply-cut.log" >&2; echo "$cut" >&2; exit 1; }
cp "$dir/apply-cut.log" "${CUT_LOG:-/dev/null}"
sleep 1
kill "$writer" 2>/dev/null || true  # its clients normally ended at the fence already
wait "$writer" || true
window=$(echo "$cut" | grep -o 'write-blocked *[0-9]* ms' | grep -o '[0-9]* ms')
slowest=$(cat "$dir"/cut.* 2>/dev/null | awk '{ if ($3 > m) m = $3 } END { printf "%.0f ms", m / 1000 }')
refused=$(grep -c "shardshift migration" "$dir/pgbench-cut.log" || true)
deferred=$(grep -o 'tps = [0-9.]*' "$dir/pgbench-deferred.log" | grep -o '[0-9.]*$')
python3 - "$rows" "$pipe_rps" "$backfill_rps" "$window" "$slowest" "$refused" "$deferred" <<'PY'
import os, sys
rows, pipe, backfill, window, slowest, refused, deferred = sys.argv[1:]
pipe, backfill = map(float, (pipe, backfill))
print(f"rows                 {rows}")
print(f"backfill             {backfill:10.0f} rows/s = {backfill / pipe:.2f}x the raw COPY pipe ({pipe:.0f} rows/s)   aim >= 0.7x")
print(f"deferred cutover     20 s of pgbench ({float(deferred):.0f} tps) with no apply running, then the cutover")
print(f"write-blocked window {window} at cutover, pgbench -c 4 -R {os.environ.get('CUT_RATE', '3000')} writing through it   aim < 200 ms")
print(f"slowest committed pgbench write {slowest} (a write that waited on the block and met the fence is not logged); {refused} client(s) refused by the fence (as planned)")
PY
