#!/usr/bin/env bash
# move_tables under a live writer (issue 21), measured in one run on one sandbox (PostgreSQL):
#  - baseline: a one-table move (table solo, no foreign keys) while pgbench writes to it: the
#    move's time, its write-blocked window, pgbench's longest gap between commits around it;
#  - the group: users, orders and items (orders -> users, items -> orders, every key from a
#    sequence) moved together while pgbench writes rows that keep the foreign keys valid (a user,
#    an order of it, an item of that order, and an update of a random order) at the same rate:
#    the same figures, and the group's as ratios of the baseline's.
# The writer writes to the source only: after the cutover its clients end at the fence's error, so
# the gap measured is what the catch-up and the block cost the application before its switch.
# Usage: bench/move_tables.sh BUILD_DIR [ROWS] [TPS]   (defaults 200000 rows a table, 400 tps)
set -euo pipefail
build=${1:-build}
rows=${2:-200000}
tps=${3:-400}
. "$(dirname "$0")/common.sh"
bench_sandbox "$build" mbench
writer=""
trap '[ -n "$writer" ] && kill "$writer" 2>/dev/null; "$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT
pgbin=/usr/lib/postgresql/15/bin
q -d range_0 \
  -c "CREATE TABLE solo (id bigserial PRIMARY KEY, user_id bigint NOT NULL, total int NOT NULL, note text)" \
  -c "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())" \
  -c "CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), total int NOT NULL, note text)" \
  -c "CREATE TABLE items (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id), sku text NOT NULL)" \
  -c "INSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, $rows) g" \
  -c "INSERT INTO orders (user_id, total, note) SELECT g, g % 100, repeat('n', 40) FROM generate_series(1, $rows) g" \
  -c "INSERT INTO items (order_id, sku) SELECT g, 'sku-' || g FROM generate_series(1, $rows) g" \
  -c "INSERT INTO solo (user_id, total, note) SELECT g, g % 100, repeat('n', 40) FROM generate_series(1, $rows) g" \
  -c "ANALYZE"
cat > "$dir/solo.sql" <<SQL
INSERT INTO solo (user_id, total) VALUES (1, 1);
\set id random(1, $rows)
UPDATE solo SET total = total + 1 WHERE id = :id;
SQL
cat > "$dir/group.sql" <<SQL
INSERT INTO users (email) VALUES ('bench') RETURNING id AS uid \gset
INSERT INTO orders (user_id, total) VALUES (:uid, 1) RETURNING id AS oid \gset
INSERT INTO items (order_id, sku) VALUES (:oid, 'bench');
\set id random(1, $rows)
UPDATE orders SET total = total + 1 WHERE id = :id;
SQL
move_spec() {  # FILE NAME TABLES...
  local file=$1 name=$2
  shift 2
  local list
  list=$(printf '"%s", ' "$@")
  cat > "$file" <<SPEC
[migration]
name = "$name"
kind = "move_tables"
[options]
chunk_rows = 5000
[move_tables]
source = "pg_range_0"
target = "pg_hash_0"
tables = [${list%, }]
SPEC
  "$ss" --config "$config" --log-level warn plan "$file" -o "$file.plan" >/dev/null
}
# run NAME SCRIPT: the move under pgbench at $tps; prints "seconds window_ms gap_ms".
run() {
  local name=$1 script=$2
  ( cd "$dir" && exec "$pgbin/pgbench" -n -T 3600 -R "$tps" -c 4 -j 2 -l --log-prefix="pgblog-$name" -f "$script" range_0 \
      > "$dir/pgbench-$name.log" 2>&1 ) &
  writer=$!
  sleep 2
  local t0 t1 out
  t0=$(now)
  out=$("$ss" --config "$config" --log-level warn apply "$dir/$name.toml.plan")
  t1=$(now)
  sleep 1
  kill "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  writer=""
  local window gap
  window=$(echo "$out" | grep -o 'write-blocked *[0-9]* ms' | grep -o '[0-9]*' || echo "?")
  # pgbench -l: client, tx, latency us, script, epoch s, us. The longest time with no commit at all,
  # from the start of the apply to the last commit (the clients end at the fence's error).
  gap=$(cat "$dir/pgblog-$name".* | python3 -c "
import sys
a = $t0
t = sorted(int(f[4]) + int(f[5]) / 1e6 for f in (l.split() for l in sys.stdin) if int(f[4]) + int(f[5]) / 1e6 >= a)
print(round(1000 * max((y - x for x, y in zip(t, t[1:])), default=0)))")
  echo "$(python3 -c "print(round($t1 - $t0, 2))") $window $gap"
}
move_spec "$dir/solo.toml" bench-solo public.solo
move_spec "$dir/group.toml" bench-group public.users public.orders public.items
read -r solo_s solo_w solo_g < <(run solo "$dir/solo.sql")
read -r group_s group_w group_g < <(run group "$dir/group.sql")
orphans=$(PGDATABASE=hash_0 q -c "SELECT (SELECT count(*) FROM orders o LEFT JOIN users u ON u.id = o.user_id WHERE u.id IS NULL) + (SELECT count(*) FROM items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL)")
python3 - "$rows" "$tps" "$solo_s" "$solo_w" "$solo_g" "$group_s" "$group_w" "$group_g" "$orphans" <<'PY'
import sys
rows, tps, ss, sw, sg, gs, gw, gg, orphans = sys.argv[1:]
ss, gs = float(ss), float(gs)
def ratio(a, b):
    try:
        return f"{float(a) / float(b):.2f}x"
    except (ValueError, ZeroDivisionError):
        return "?"
print(f"rows a table              {rows}; pgbench at {tps} tps on the moved tables, 4 clients")
print(f"one table (baseline)      {ss:6.1f} s, write-blocked {sw} ms, longest commit gap {sg} ms")
print(f"three tables, one cutover {gs:6.1f} s = {gs / ss:.2f}x, write-blocked {gw} ms = {ratio(gw, sw)}, longest commit gap {gg} ms = {ratio(gg, sg)}")
print(f"orphans on the target     {orphans} (foreign keys among the moved tables)")
PY
