#!/usr/bin/env bash
# How long `shardshift lint` takes on a large migration file (not a test): STATEMENTS statements
# (default 50,000) drawn in turn from the bad and safe cases of tests/lint_corpus/postgres and of
# tests/lint_corpus/mariadb, each timed three times; squawk on the same PostgreSQL file when
# a squawk binary is given (SQUAWK=path). Aim: 50,000 statements in under 3 s (issue 19).
# Usage: bench/lint.sh BUILD_DIR [STATEMENTS]
set -euo pipefail
build=${1:-build}
n=${2:-50000}
ss="$build/cmd/shardshift"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$(dirname "$0")/../tests/lint_corpus/postgres" "$n" "$dir" <<'PY'
import os, sys
folder, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bodies = []
for name in sorted(os.listdir(folder)):
    text = open(os.path.join(folder, name)).read()
    lines = [l for l in text.splitlines() if l and not l.startswith("--") and not l.startswith("SET ")]
    # Whole statements only, transactions kept whole (a case is a unit).
    body = "\n".join(lines)
    if body.count("BEGIN;") == body.count("COMMIT;"):
        bodies.append(body)
pg, count, i = ["SET lock_timeout = '2s';"], 0, 0
while count < n:
    b = bodies[i % len(bodies)]
    pg.append(b)
    count += b.count(";")
    i += 1
open(os.path.join(out, "big.sql"), "w").write("\n".join(pg) + "\n")
# MariaDB: the cases of tests/lint_corpus/mariadb in turn, as for PostgreSQL (linted with its
# schema.sql, so that type changes are judged from the columns' types).
my_folder = os.path.join(os.path.dirname(folder), "mariadb")
my_bodies = []
for name in sorted(os.listdir(my_folder)):
    if name == "schema.sql":
        continue
    lines = [l for l in open(os.path.join(my_folder, name)).read().splitlines()
             if l and not l.startswith("--") and not l.startswith("SET SESSION lock_wait")]
    my_bodies.append("\n".join(lines))
my, my_count, i = ["SET SESSION lock_wait_timeout = 5;"], 0, 0
while my_count < n:
    b = my_bodies[i % len(my_bodies)]
    my.append(b)
    my_count += b.count(";")
    i += 1
open(os.path.join(out, "big_mariadb.sql"), "w").write("\n".join(my) + "\n")
print(f"PostgreSQL file: {count} statements, {os.path.getsize(os.path.join(out, 'big.sql'))} bytes; "
      f"MariaDB file: {my_count} statements, {os.path.getsize(os.path.join(out, 'big_mariadb.sql'))} bytes")
PY
timed() {  # timed LABEL COMMAND...: three runs, seconds each
  local runs=()
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N)
    "${@:2}" > /dev/null 2>&1 || true  # findings exit 1
    end=$(date +%s.%N)
    runs+=("$(python3 -c "print(f'{$end - $start:.2f}')")")
  done
  echo "$1: ${runs[*]} s"
}
timed "shardshift lint (PostgreSQL)" "$ss" lint "$dir/big.sql"
timed "shardshift lint --dialect mariadb" "$ss" lint --dialect mariadb \
  --schema "$(dirname "$0")/../tests/lint_corpus/mariadb/schema.sql" "$dir/big_mariadb.sql"
if [ -n "${SQUAWK:-}" ]; then timed "squawk $("$SQUAWK" --version | cut -d' ' -f2)" "$SQUAWK" "$dir/big.sql"; fi
echo "aim: 50,000 statements in under 3 s"
