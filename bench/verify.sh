#!/usr/bin/env bash
# Verification speed (issue 15), measured in one run on one sandbox (not a test): `shardshift verify`
# of a reshard copied onto four hash shards, against an in-database reference run on the source
# and the four targets at once. PostgreSQL: the same row hash summed over every row, one query per
# database. MariaDB: CHECKSUM TABLE on each, and the same row hash. Runs alternate, three of each.
# Usage: bench/verify.sh BUILD_DIR [ROWS]   (default 1000000)
set -euo pipefail
build=${1:-build}
rows=${2:-1000000}
. "$(dirname "$0")/common.sh"
bench_sandbox "$build" vbench
q -d range_0 -c "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, status text NOT NULL DEFAULT 'active', bio text, created_at timestamptz NOT NULL DEFAULT now())" \
  -c "INSERT INTO users SELECT g, 'user' || g || '@example.com', 'User ' || g, 'active', CASE WHEN g % 3 = 0 THEN repeat('bio ', 20) END, now() FROM generate_series(1, $rows) g" \
  -c "ANALYZE users"
reshard_spec "$dir/spec.toml" vbench users pg
"$ss" --config "$config" --log-level warn plan "$dir/spec.toml" -o "$dir/plan.toml" >/dev/null
"$ss" --config "$config" --log-level warn apply --until cutover "$dir/plan.toml" >/dev/null
for d in hash_0 hash_1 hash_2 hash_3; do q -d "$d" -c "VACUUM ANALYZE users"; done
# The hash shardshift's verification sums (db/row_sql.cc RowHashExpr), over every row.
sum='SELECT COUNT(*), SUM(hashtextextended(ROW(id, email, name, status, bio, created_at)::text COLLATE "C", 0)) FROM users'
# Seconds a command takes; on_all CLIENT QUERY runs QUERY on the source and every target at once.
timed() {
  local t0
  t0=$(now)
  "$@" >/dev/null
  python3 -c "print($(now) - $t0)"
}
on_all() {
  for d in range_0 hash_0 hash_1 hash_2 hash_3; do "$1" -d "$d" -c "$2" >/dev/null & done
  wait
}
# --full: the verify step's comparison stands, so a plain verify would compare only keys changed since.
verify() { "$ss" --config "$config" --log-level warn verify --full "$1"; }
ref=()
ver=()
for i in 1 2 3; do
  ref+=("$(timed on_all q "$sum")")
  ver+=("$(timed verify "$dir/plan.toml")")
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
m range_0 -e "CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, status VARCHAR(16) NOT NULL DEFAULT 'active', bio TEXT, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB; INSERT INTO users SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('User ', seq), 'active', IF(seq % 3 = 0, REPEAT('bio ', 20), NULL), NOW(6) FROM seq_1_to_$rows; ANALYZE TABLE users" >/dev/null
reshard_spec "$dir/spec-my.toml" vbench-my users my
"$ss" --config "$config" --log-level warn plan "$dir/spec-my.toml" -o "$dir/plan-my.toml" >/dev/null
"$ss" --config "$config" --log-level warn apply --until cutover "$dir/plan-my.toml" >/dev/null
# And the row hash shardshift sums (db/row_sql.cc RowHashExpr), over every row, all at once.
msum="SELECT COUNT(*), SUM(CAST(CONV(SUBSTR(MD5(CONCAT_WS('|', COALESCE(HEX(CONCAT(id)), '-'), COALESCE(HEX(CONCAT(email)), '-'), COALESCE(HEX(CONCAT(name)), '-'), COALESCE(HEX(CONCAT(status)), '-'), COALESCE(HEX(CONCAT(bio)), '-'), COALESCE(HEX(CONCAT(created_at)), '-'))), 1, 16), 16, 10) AS UNSIGNED)) FROM users"
# on_all passes psql's -d DB -c QUERY; mariadb takes DB -e QUERY.
mdb() { m "$2" -e "$4"; }
ref=()
hsh=()
ver=()
for i in 1 2 3; do
  ref+=("$(timed on_all mdb "CHECKSUM TABLE users")")
  hsh+=("$(timed on_all mdb "$msum")")
  ver+=("$(timed verify "$dir/plan-my.toml")")
done
report "mariadb, CHECKSUM TABLE" "$rows" "${ref[@]}" "${ver[@]}"
report "mariadb, the same row hash" "$rows" "${hsh[@]}" "${ver[@]}"
