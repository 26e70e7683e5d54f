#!/usr/bin/env bash
# A compiler launcher (CMAKE_CXX_COMPILER_LAUNCHER) that appends each compile's wall time and
# object to $SHARDSHIFT_TIME_LOG: used by scripts/time-build.sh.
start=$(date +%s%N)
"$@"
rc=$?
out=""
prev=""
for a in "$@"; do
  [ "$prev" = "-o" ] && out=$a
  prev=$a
done
echo "$(( ($(date +%s%N) - start) / 1000000 )) $out" >> "${SHARDSHIFT_TIME_LOG:-/dev/null}"
exit $rc
