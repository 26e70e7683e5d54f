#!/usr/bin/env bash
# Where a fresh build's time goes: configures a new build folder, builds everything with each
# compile timed (scripts/time-cc.sh), and prints the wall time, the compile time per target and the
# slowest translation units. Usage: scripts/time-build.sh [BUILD_DIR] [JOBS] [CMAKE_ARGS...]
# (default /tmp/shardshift-timed-build, nproc jobs; the folder is emptied first), e.g.
# scripts/time-build.sh /tmp/b 2 -DSHARDSHIFT_PCH=OFF
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-/tmp/shardshift-timed-build}
jobs=${2:-$(nproc)}
shift $(( $# > 2 ? 2 : $# ))
rm -rf "$build"
log="$build/compile-times.log"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER="$root/scripts/time-cc.sh" "$@" >/dev/null
t0=$(date +%s)
SHARDSHIFT_TIME_LOG="$log" cmake --build "$build" -j "$jobs" >/dev/null
t1=$(date +%s)
python3 - "$log" $((t1 - t0)) "$jobs" <<'PY'
import collections, sys
rows = [l.split(None, 1) for l in open(sys.argv[1]) if l.strip()]
rows = [(int(ms), obj.strip()) for ms, obj in rows]
total = sum(ms for ms, _ in rows)
print(f"wall {sys.argv[2]} s with -j {sys.argv[3]}; {len(rows)} compiles, {total / 1000:.0f} s of compile time")
per = collections.Counter()
for ms, obj in rows:
    target = obj.split("CMakeFiles/")[-1].split(".dir/")[0] if "CMakeFiles/" in obj else obj
    per[target] += ms
for target, ms in per.most_common():
    print(f"  {target:32} {ms / 1000:7.1f} s")
print("slowest translation units:")
for ms, obj in sorted(rows, reverse=True)[:15]:
    print(f"  {ms / 1000:6.1f} s  {obj.split('.dir/')[-1]}")
PY
