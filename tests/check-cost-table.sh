#!/bin/sh
# check-cost-table.sh PROGRAM PAGE
# The cost table of PAGE (docs/method.md), between its cost-table markers,
# must be what PROGRAM (egcam-cost-table) prints from egcam_explain_cost().
set -eu
program=$1 page=$2
want=$(mktemp) got=$(mktemp)
trap 'rm -f "$want" "$got"' EXIT
"$program" > "$want"
sed -n '/^<!-- cost-table:/,/^<!-- end cost-table -->/p' "$page" | sed '1d;$d' > "$got"
if ! diff -u "$want" "$got"; then
  echo "FAIL: $page's cost table differs from what $program prints (above: - program, + page)"
  exit 1
fi
echo "ok: $page's cost table is egcam_explain_cost()'s"
