#!/bin/sh
# Checks this folder's migrations and specs before they reach production, the way CI runs them
# (github-actions.yml calls this script; so does the test suite, against its own servers):
#   1. lint the .sql migrations and the specs, grading locks by the staging tables' sizes;
#   2. plan each spec against staging, lint the plan, and dry-run it there (every precondition
#      checked: drift, privileges, free space, settings, replica lag; nothing changed);
#   3. rehearse each plan on a throwaway sandbox copy of staging under a writer.
# Any step that finds a problem stops the script with its exit code (1 found problems, 2 bad input).
# usage: check-migrations.sh CONFIG [SHARDSHIFT] [FORMAT]
set -eu
config=$1
shardshift=${2:-shardshift}
format=${3:-github}
here=$(cd "$(dirname "$0")" && pwd)
plans=$(mktemp -d)
trap 'rm -rf "$plans"' EXIT

"$shardshift" --config "$config" lint --format "$format" --db staging "$here"/migrations/*.sql "$here"/specs/*.toml

for spec in "$here"/specs/*.toml; do
  plan="$plans/$(basename "$spec" .toml).plan.toml"
  "$shardshift" --config "$config" plan "$spec" -o "$plan"
  "$shardshift" lint --format "$format" "$plan"
  "$shardshift" --config "$config" apply --dry-run "$plan"
  "$shardshift" --config "$config" rehearse "$plan" --sample-rows 2000
done
