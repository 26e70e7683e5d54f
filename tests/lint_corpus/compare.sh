#!/usr/bin/env bash
# Side by side on tests/lint_corpus/postgres: which bad cases each linter flags (any finding; notes
# aside) and which safe cases it leaves alone (no finding at all). Not a test: squawk comes from npm.
# Usage: tests/lint_corpus/compare.sh BUILD_DIR [SQUAWK]   (SQUAWK: a squawk binary; default: npx
# squawk-cli from a temporary folder, `npm install squawk-cli` once)
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
ss="$build/cmd/shardshift"
squawk=${2:-}
if [ -z "$squawk" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm install --silent squawk-cli >/dev/null 2>&1)
  squawk="$tmp/node_modules/.bin/squawk"
fi
"$squawk" --version
python3 - "$here/postgres" "$ss" "$squawk" <<'PY'
import json, os, subprocess, sys
folder, ss, squawk = sys.argv[1:]
rows, totals = [], {"ss_bad": 0, "ss_safe": 0, "sq_bad": 0, "sq_safe": 0, "bad": 0, "safe": 0}
def ss_rules(path):
    out = subprocess.run([ss, "lint", "--format", "json", path], capture_output=True, text=True).stdout
    return sorted({f["rule"] for f in json.loads(out)["findings"] if f["severity"] != "note"})
def squawk_rules(path):
    out = subprocess.run([squawk, "--reporter", "json", path], capture_output=True, text=True).stdout
    return sorted({v.get("rule_name", v.get("rule", "?")) for v in json.loads(out or "[]")})
for name in sorted(os.listdir(folder)):
    if not name.endswith(".bad.sql"):
        continue
    case = name[: -len(".bad.sql")]
    bad, safe = os.path.join(folder, name), os.path.join(folder, case + ".safe.sql")
    s_bad, s_safe, q_bad, q_safe = ss_rules(bad), ss_rules(safe), squawk_rules(bad), squawk_rules(safe)
    totals["bad"] += 1; totals["safe"] += 1
    totals["ss_bad"] += bool(s_bad); totals["ss_safe"] += not s_safe
    totals["sq_bad"] += bool(q_bad); totals["sq_safe"] += not q_safe
    mark = lambda rules, want: ("yes" if rules else "no") if want else ("left alone" if not rules else "flagged")
    rows.append((case, mark(s_bad, True), mark(s_safe, False), mark(q_bad, True), mark(q_safe, False),
                 ", ".join(q_bad) or "-", ", ".join(q_safe) or "-"))
print("| case | shardshift flags bad | shardshift on safe | squawk flags bad | squawk on safe | squawk's rules (bad) | squawk's rules (safe) |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
print(f"\nbad cases flagged: shardshift {totals['ss_bad']}/{totals['bad']}, squawk {totals['sq_bad']}/{totals['bad']}")
print(f"safe cases left alone: shardshift {totals['ss_safe']}/{totals['safe']}, squawk {totals['sq_safe']}/{totals['safe']}")
PY
