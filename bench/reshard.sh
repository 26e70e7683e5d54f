#!/usr/bin/env bash
# Resharding benchmark, all measured in one run on one sandbox (not a test):
#  - backfill rows/s against the physical reference, a raw pipe
#    `COPY (SELECT ...) TO STDOUT | COPY ... FROM STDIN` between the same databases;
#  - pgbench transactions/s on the source with and without capture installed, on the sandbox's
#    fast settings (fsync=off, synchronous_commit=off) and on durable ones (fsync=on,
#    synchronous_commit=on), as a production server runs;
#  - the write-blocked window at cutover, with pgbench writing through it, and pgbench's slowest
#    write (its clients are refused by the fence once the sources are fenced).
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

# pgbench on the source: updates of random users, before capture.
printf '\\set id random(1, %d)\nUPDATE users SET name = name WHERE id = :id;\n' "$rows" > "$dir/update.sql"
tps() { "$pgbin/pgbench" -n -T 10 -c 4 -j 2 -f "$dir/update.sql" range_0 > "$dir/pgbench.log" 2>&1 || { cat "$dir/pgbench.log" >&2; exit 1; }; grep -o 'tps = [0-9.]*' "$dir/pgbench.log" | grep -o '[0-9.]*$'; }
durable() { q -d range_0 -c "ALTER SYSTEM SET fsync = $1" -c "ALTER SYSTEM SET synchronous_commit = $1" -c "SELECT pg_reload_conf()" >/dev/null; }
tps_plain=$(tps)
durable on; tps_plain_durable=$(tps); durable off

reshard_spec "$dir/spec.toml" bench users pg 5000
"$ss" --config "$config" --log-level warn plan "$dir/spec.toml" -o "$dir/plan.toml"
copy=$("$ss" --config "$config" --log-level warn apply --until verify "$dir/plan.toml")
backfill_rps=$(echo "$copy" | grep -o '([0-9]* rows/s)' | grep -o '[0-9]*')
tps_capture=$(tps)   # capture is installed now
durable on; tps_capture_durable=$(tps); durable off
# The cutover with the writer running through it: pgbench keeps updating the source; once the
# sources are fenced its clients' writes fail (as a late application instance's would), so its
# per-transaction log shows the longest wait a write saw at the cutover.
# (The backlog the capture runs above left is replayed first: the apply may take a while.)
( cd "$dir" && exec "$pgbin/pgbench" -n -T 900 -c 4 -j 2 -l --log-prefix=cut -f "$dir/update.sql" range_0 > "$dir/pgbench-cut.log" 2>&1 ) &
writer=$!
sleep 2
cut=$("$ss" --config "$config" --log-level warn apply "$dir/plan.toml")
sleep 1
kill "$writer" 2>/dev/null || true  # its clients normally ended at the fence already
wait "$writer" || true
window=$(echo "$cut" | grep -o 'write-blocked *[0-9]* ms' | grep -o '[0-9]* ms')
slowest=$(cat "$dir"/cut.* 2>/dev/null | awk '{ if ($3 > m) m = $3 } END { printf "%.0f ms", m / 1000 }')
refused=$(grep -c "shardshift migration" "$dir/pgbench-cut.log" || true)
python3 - "$rows" "$pipe_rps" "$backfill_rps" "$tps_plain" "$tps_capture" "$window" "$tps_plain_durable" "$tps_capture_durable" "$slowest" "$refused" <<'PY'
import sys
rows, pipe, backfill, plain, capture, window, plain_d, capture_d, slowest, refused = sys.argv[1:]
pipe, backfill, plain, capture, plain_d, capture_d = map(float, (pipe, backfill, plain, capture, plain_d, capture_d))
print(f"rows                 {rows}")
print(f"backfill             {backfill:10.0f} rows/s = {backfill / pipe:.2f}x the raw COPY pipe ({pipe:.0f} rows/s)   aim >= 0.7x")
print(f"capture overhead     {plain:10.0f} tps without, {capture:.0f} with = {100 * (1 - capture / plain):.1f}% slower   aim < 15%   (fsync=off)")
print(f"capture overhead     {plain_d:10.0f} tps without, {capture_d:.0f} with = {100 * (1 - capture_d / plain_d):.1f}% slower   aim < 15%   (fsync=on, synchronous_commit=on)")
print(f"write-blocked window {window} at cutover, pgbench -c 4 writing through it   aim < 200 ms")
print(f"slowest committed pgbench write {slowest} (a write that waited on the block and met the fence is not logged); {refused} client(s) refused by the fence (as planned)")
PY
