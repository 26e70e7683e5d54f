# Sourced by the bench scripts. bench_sandbox BUILD_DIR NAME starts a sandbox in a fresh folder
# ($dir, stopped on exit unless the script sets its own trap) and sets: ss (the binary), config,
# PostgreSQL's environment for q (psql) and MariaDB's for m (mariadb). now prints the time in
# seconds; sysbench_eps runs a sysbench script on MariaDB; reshard_spec FILE NAME TABLE PREFIX [CHUNK_ROWS] [OPTION] writes a spec moving TABLE from
# PREFIX_range_0 onto PREFIX_hash_0..3 (PREFIX: pg or my), with the spec's default chunk_rows unless
# one is given, and OPTION (a line of [options], e.g. capture = "log") if given.
bench_sandbox() {
  ss="$1/cmd/shardshift"
  dir=$(mktemp -d "/tmp/shardshift-$2-XXXXXX")
  rmdir "$dir"
  "$ss" sandbox up --dir "$dir" >/dev/null
  trap '"$ss" sandbox down --dir "$dir" >/dev/null 2>&1' EXIT
  config="$dir/shardshift.toml"
  PGPASSWORD=$(grep -o 'postgres://shardshift:[^@]*' "$config" | head -1 | cut -d: -f3)
  PGPORT=$(grep -o 'postgres://[^/]*' "$config" | head -1 | grep -o ':[0-9]*$' | tr -d :)
  export PGPASSWORD PGPORT PGHOST=127.0.0.1 PGUSER=shardshift
  local url
  url=$(grep -o 'mysql://shardshift:[^/]*' "$config" | head -1)
  MYSQL_PWD=$(echo "$url" | sed 's|mysql://shardshift:||; s|@.*||')
  export MYSQL_PWD
  mport=$(echo "$url" | grep -o ':[0-9]*$' | tr -d :)
}
q() { psql -qAt -v ON_ERROR_STOP=1 "$@"; }
m() { mariadb -h 127.0.0.1 -P "$mport" -u shardshift "$@"; }
now() { date +%s.%N; }
# sysbench_eps LUA: events per second of 4 sysbench threads running the script LUA for 10 s against
# MariaDB's range_0 (what the script reads, e.g. os.getenv, comes from the environment).
sysbench_eps() {
  sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$mport" --mysql-user=shardshift \
    --mysql-password="$MYSQL_PWD" --mysql-db=range_0 --threads=4 --time=10 "$1" run > "$dir/sysbench.log" 2>&1 \
    || { cat "$dir/sysbench.log" >&2; exit 1; }
  local n t
  n=$(grep -o 'total number of events: *[0-9]*' "$dir/sysbench.log" | grep -o '[0-9]*$')
  t=$(grep -o 'total time: *[0-9.]*' "$dir/sysbench.log" | grep -o '[0-9.]*$')
  python3 -c "print($n / $t)"
}
reshard_spec() {
  cat > "$1" <<SPEC
[migration]
name = "$2"
kind = "reshard"
[options]
${5:+chunk_rows = $5}
${6:-}
[reshard]
table = "$3"
key = ["id"]
[reshard.source]
layout = "single"
database = "$4_range_0"
[reshard.target]
databases = ["$4_hash_0", "$4_hash_1", "$4_hash_2", "$4_hash_3"]
SPEC
}
# move_keys_plans PREFIX SOLO_TABLE: in $dir, a directory over PREFIX_range_0's orders table (made at
# once), the plan keys.plan moving tenant 1 to PREFIX_hash_0, and solo.plan resharding SOLO_TABLE onto
# PREFIX_hash_1 alone (the baseline of bench/move_keys*.sh). MOVE_KEYS_CAPTURE: the move's capture
# option (default auto: the log where the server allows it).
move_keys_plans() {
  cat > "$dir/directory.toml" <<SPEC
[migration]
name = "bench-directory"
kind = "reshard"
[reshard]
table = "orders"
key = ["tenant_id", "id"]
shard_by = ["tenant_id"]
[reshard.source]
layout = "single"
database = "$1_range_0"
[reshard.target]
layout = "directory"
[reshard.target.directory]
database = "$1_app"
SPEC
  "$ss" --config "$config" --log-level warn plan "$dir/directory.toml" -o "$dir/directory.plan" >/dev/null
  "$ss" --config "$config" --log-level warn apply "$dir/directory.plan" >/dev/null
  cat > "$dir/keys.toml" <<SPEC
[migration]
name = "bench-tenant-1"
kind = "move_keys"
[options]
chunk_rows = 5000
capture = "${MOVE_KEYS_CAPTURE:-auto}"
[move_keys]
keys = [1]
to = "$1_hash_0"
[move_keys.directory]
database = "$1_app"
SPEC
  "$ss" --config "$config" --log-level warn plan "$dir/keys.toml" -o "$dir/keys.plan" >/dev/null
  reshard_spec "$dir/solo.toml" bench-solo "$2" "$1" 5000
  sed -i "s/databases = \\[\"$1_hash_0\", \"$1_hash_1\", \"$1_hash_2\", \"$1_hash_3\"\\]/databases = [\"$1_hash_1\"]/" "$dir/solo.toml"
  "$ss" --config "$config" --log-level warn plan "$dir/solo.toml" -o "$dir/solo.plan" >/dev/null
}
