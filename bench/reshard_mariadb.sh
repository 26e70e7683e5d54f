#!/usr/bin/env bash
# Resharding benchmark on MariaDB, all measured in one run on one sandbox (not a test):
#  - backfill rows/s against the physical reference of a logical copy, a raw pipe
#    `mariadb-dump --no-create-info --quick users | mariadb` between the same databases;
#  - the write-blocked window at cutover, with sysbench (single-row UPDATEs by primary key, 4
#    threads, CUT_RATE a second, default 2000) writing from 10 s before it (capture's cost to the
#    application: bench/capture.sh ... my).
# Usage: bench/reshard_mariadb.sh BUILD_DIR [ROWS]   (default 1000000 rows)
set -euo pipefail
. "$(dirname "$0")/common.sh"  # reshard_spec
build=${1:-build}
rows=${2:-1000000}
ss="$build/cmd/shardshift"
dir=$(mktemp -d /tmp/shardshift-mbench-XXXXXX)
rmdir "$dir"
"$ss" sandbox up --dir "$dir" >/dev/null
trap '"$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT
config="$dir/shardshift.toml"
url=$(grep -o 'mysql://shardshift:[^/]*' "$config" | head -1)
pw=$(echo "$url" | sed 's|mysql://shardshift:||; s|@.*||')
port=$(echo "$url" | grep -o ':[0-9]*$' | tr -d :)
export MYSQL_PWD="$pw"
m() { mariadb -h 127.0.0.1 -P "$port" -u shardshift "$@"; }
table="CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, status VARCHAR(16) NOT NULL DEFAULT 'active', bio TEXT, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB"
m range_0 -e "$table; INSERT INTO users SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('User ', seq), 'active', IF(seq % 3 = 0, REPEAT('bio ', 20), NULL), NOW(6) FROM seq_1_to_$rows; ANALYZE TABLE users" >/dev/null

# The reference: a logical copy through a pipe into one table.
m hash_0 -e "$table"
t0=$(date +%s.%N)
mariadb-dump -h 127.0.0.1 -P "$port" -u shardshift --no-create-info --quick --skip-lock-tables range_0 users | m hash_0
t1=$(date +%s.%N)
pipe_rps=$(python3 -c "print($rows / ($t1 - $t0))")
m hash_0 -e "DROP TABLE users"

cat > "$dir/update.lua" <<LUA
function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
end
function event()
  con:query(string.format("UPDATE users SET status = IF(status = 'active', 'idle', 'active') WHERE id = %d", sysbench.rand.uniform(1, $rows)))
end
LUA
mport=$port

reshard_spec "$dir/spec.toml" bench users my 5000
"$ss" --config "$config" --log-level warn plan "$dir/spec.toml" -o "$dir/plan.toml"
copy=$("$ss" --config "$config" --log-level warn apply --until verify "$dir/plan.toml")
backfill_rps=$(echo "$copy" | grep -o '([0-9]* rows/s)' | grep -o '[0-9]*')
# The cutover with a writer through it: sysbench at CUT_RATE updates/s from 10 s before (a deferred
# cutover: the binary log of those 10 s is read first) until the fence refuses it.
rate=${CUT_RATE:-2000}
sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$mport" --mysql-user=shardshift \
  --mysql-password="$MYSQL_PWD" --mysql-db=range_0 --threads=4 --time=60 --rate="$rate" \
  --mysql-ignore-errors=all "$dir/update.lua" run > "$dir/sysbench.log" 2>&1 &
writer=$!
sleep 10
cut=$("$ss" --config "$config" --log-level "${CUT_LOG_LEVEL:-warn}" apply "$dir/plan.toml")
kill "$writer" 2>/dev/null || true
wait "$writer" 2>/dev/null || true
window=$(echo "$cut" | grep -o 'write-blocked *[0-9]* ms' | grep -o '[0-9]* ms')
python3 - "$rows" "$pipe_rps" "$backfill_rps" "$window" "$rate" <<'PY'
import sys
rows, pipe, backfill, window, rate = sys.argv[1:]
pipe, backfill = map(float, (pipe, backfill))
print(f"MariaDB, rows        {rows}")
print(f"backfill             {backfill:10.0f} rows/s = {backfill / pipe:.2f}x the mariadb-dump | mariadb pipe ({pipe:.0f} rows/s)   aim >= 0.7x")
print(f"write-blocked window {window} at cutover, sysbench at {rate} updates/s through it (10 s deferred)   aim < 200 ms")
PY
