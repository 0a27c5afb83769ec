#!/bin/sh
# check-symbols.sh LIBRARY MAPFILE HEADER...
# Keeps three lists in agreement: the names the shared library exports, the
# global names of the linker version script, and the EGCAM_API declarations
# of the public headers. A leak (an internal or C++ symbol exported), a
# declaration missing from the map, or a stale map entry fails.
set -eu
lib=$1 map=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Exported, defined symbols; the version node itself is an absolute symbol.
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u > "$tmp/exported"
# Names listed under global: in the map.
sed -e 's,/\*.*\*/,,g' "$map" | tr -d ' \t' | grep -E '^[A-Za-z_][A-Za-z0-9_]*;$' | tr -d ';' | sort -u > "$tmp/map"
# EGCAM_API declarations, comments and preprocessor lines removed.
for h in "$@"; do
  gcc -fpreprocessed -dD -E -P -x c "$h" 2>/dev/null
done | grep -v '^[[:space:]]*#' | tr '\n' ' ' | tr ';' '\n' | grep 'EGCAM_API' \
  | sed -E 's/\(.*//; s/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*$/\1/' | sort -u > "$tmp/headers"

status=0
report() { # FILE-A FILE-B what
  extra=$(comm -23 "$1" "$2")
  if [ -n "$extra" ]; then
    echo "$3:"; echo "$extra" | sed 's/^/  /'; status=1
  fi
}
report "$tmp/exported" "$tmp/map" "exported by $(basename "$lib") but not in the map"
report "$tmp/map" "$tmp/exported" "in the map but not exported"
report "$tmp/headers" "$tmp/map" "declared EGCAM_API but not in the map"
report "$tmp/map" "$tmp/headers" "in the map but not declared EGCAM_API"
if grep -qv '^egcam_' "$tmp/exported"; then
  echo "exported names without the egcam_ prefix:"; grep -v '^egcam_' "$tmp/exported"; status=1
fi
[ -s "$tmp/exported" ] || { echo "no exported symbols found"; status=1; }
[ $status -eq 0 ] && echo "ok: $(wc -l < "$tmp/exported") symbols exported, all in the map and the headers"
exit $status
