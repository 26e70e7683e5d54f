#!/usr/bin/env bash
# Verification speed (issue 15), measured in one run on one sandbox (not a test): `shardshift verify`
# of a reshard copied onto four hash shards, against an in-database reference run on the source
# and the four targets at once. PostgreSQL: the same row hash summed over every row, one query per
# database. MariaDB: CHECKSUM TABLE on each. Runs alternate, three of each.
# Usage: bench/verify.sh BUILD_DIR [ROWS]   (default 1000000)
set -euo pipefail
build=${1:-build}
rows=${2:-1000000}
ss="$build/cmd/shardshift"
dir=$(mktemp -d /tmp/shardshift-vbench-XXXXXX)
rmdir "$dir"
"$ss" sandbox up --dir "$dir" >/dev/null
trap '"$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT
config="$dir/shardshift.toml"
pw=$(grep -o 'postgres://shardshift:[^@]*' "$config" | head -1 | cut -d: -f3)
port=$(grep -o 'postgres://[^/]*' "$config" | head -1 | grep -o ':[0-9]*$' | tr -d :)
export PGPASSWORD="$pw" PGHOST=127.0.0.1 PGPORT="$port" PGUSER=shardshift
q() { psql -qAt -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
q -d range_0 -c "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, status text NOT NULL DEFAULT 'active', bio text, created_at timestamptz NOT NULL DEFAULT now())" \
  -c "INSERT INTO users SELECT g, 'user' || g || '@example.com', 'User ' || g, 'active', CASE WHEN g % 3 = 0 THEN repeat('bio ', 20) END, now() FROM generate_series(1, $rows) g" \
  -c "ANALYZE users"
cat > "$dir/spec.toml" <<SPEC
[migration]
name = "vbench"
kind = "reshard"
[reshard]
table = "users"
key = ["id"]
[reshard.source]
layout = "single"
database = "pg_range_0"
[reshard.target]
databases = ["pg_hash_0", "pg_hash_1", "pg_hash_2", "pg_hash_3"]
SPEC
"$ss" --config "$config" --log-level warn plan "$dir/spec.toml" -o "$dir/plan.toml" >/dev/null
"$ss" --config "$config" --log-level warn apply --until cutover "$dir/plan.toml" >/dev/null
for d in hash_0 hash_1 hash_2 hash_3; do q -d "$d" -c "VACUUM ANALYZE users"; done
# The hash shardshift's verification sums (db/row_sql.cc RowHashExpr), over every row.
sum="SELECT COUNT(*), SUM(('x' || substr(md5(ROW(id, email, name, status, bio, created_at)::text), 1, 16))::bit(64)::bigint::numeric) FROM users"
reference() {
  local t0 t1
  t0=$(now)
  for d in range_0 hash_0 hash_1 hash_2 hash_3; do q -d "$d" -c "$sum" >/dev/null & done
  wait
  t1=$(now)
  python3 -c "print($t1 - $t0)"
}
verify() {
  local t0 t1
  t0=$(now)
  "$ss" --config "$config" --log-level warn verify "$dir/plan.toml" >/dev/null
  t1=$(now)
  python3 -c "print($t1 - $t0)"
}
ref=()
ver=()
for i in 1 2 3; do
  ref+=("$(reference)")
  ver+=("$(verify)")
done
report() {
  python3 - "$@" <<'PY'
import sys
label, rows = sys.argv[1], int(sys.argv[2])
ref = [float(x) for x in sys.argv[3:6]]
ver = [float(x) for x in sys.argv[6:9]]
for r, v in zip(ref, ver):
    print(f"{label:26} verify {rows / v:9.0f} rows/s ({v:5.2f} s); reference {rows / r:9.0f} rows/s ({r:5.2f} s): {r / v:.2f}x   aim >= 0.5x")
PY
}
report postgres "$rows" "${ref[@]}" "${ver[@]}"

# MariaDB: the same copy; the reference is CHECKSUM TABLE on the source and every target at once.
url=$(grep -o 'mysql://shardshift:[^/]*' "$config" | head -1)
export MYSQL_PWD=$(echo "$url" | sed 's|mysql://shardshift:||; s|@.*||')
mport=$(echo "$url" | grep -o ':[0-9]*$' | tr -d :)
m() { mariadb -h 127.0.0.1 -P "$mport" -u shardshift "$@"; }
m range_0 -e "CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, status VARCHAR(16) NOT NULL DEFAULT 'active', bio TEXT, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB; INSERT INTO users SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('User ', seq), 'active', IF(seq % 3 = 0, REPEAT('bio ', 20), NULL), NOW(6) FROM seq_1_to_$rows; ANALYZE TABLE users" >/dev/null
sed -e 's/pg_/my_/g' -e 's/vbench/vbench-my/' "$dir/spec.toml" > "$dir/spec-my.toml"
"$ss" --config "$config" --log-level warn plan "$dir/spec-my.toml" -o "$dir/plan-my.toml" >/dev/null
"$ss" --config "$config" --log-level warn apply --until cutover "$dir/plan-my.toml" >/dev/null
mreference() {
  local t0 t1
  t0=$(now)
  for d in range_0 hash_0 hash_1 hash_2 hash_3; do m "$d" -e "CHECKSUM TABLE users" >/dev/null & done
  wait
  t1=$(now)
  python3 -c "print($t1 - $t0)"
}
mverify() {
  local t0 t1
  t0=$(now)
  "$ss" --config "$config" --log-level warn verify "$dir/plan-my.toml" >/dev/null
  t1=$(now)
  python3 -c "print($t1 - $t0)"
}
# And the row hash shardshift sums (db/row_sql.cc RowHashExpr), over every row, all at once.
msum="SELECT COUNT(*), SUM(CAST(CONV(SUBSTR(MD5(CONCAT_WS('|', COALESCE(HEX(CONCAT(id)), '-'), COALESCE(HEX(CONCAT(email)), '-'), COALESCE(HEX(CONCAT(name)), '-'), COALESCE(HEX(CONCAT(status)), '-'), COALESCE(HEX(CONCAT(bio)), '-'), COALESCE(HEX(CONCAT(created_at)), '-'))), 1, 16), 16, 10) AS UNSIGNED)) FROM users"
mhash() {
  local t0 t1
  t0=$(now)
  for d in range_0 hash_0 hash_1 hash_2 hash_3; do m "$d" -e "$msum" >/dev/null & done
  wait
  t1=$(now)
  python3 -c "print($t1 - $t0)"
}
ref=()
hsh=()
ver=()
for i in 1 2 3; do
  ref+=("$(mreference)")
  hsh+=("$(mhash)")
  ver+=("$(mverify)")
done
report "mariadb, CHECKSUM TABLE" "$rows" "${ref[@]}" "${ver[@]}"
report "mariadb, the same row hash" "$rows" "${hsh[@]}" "${ver[@]}"
