#!/bin/sh
# check-abi.sh HEADERS_DIR BASELINE LIBRARY [BASELINE LIBRARY]...
# check-abi.sh --write HEADERS_DIR BASELINE LIBRARY   (used by abi/update.sh)
#
# Compares each freshly built LIBRARY with its committed baseline (abi/*.abi)
# using libabigail, restricted to the public interface: the exported
# functions and the types declared under HEADERS_DIR; the library's private
# structs and LibTorch's C++ types are left out. The library is dumped with
# abidw exactly as the baseline was (--headers-dir HEADERS_DIR
# --drop-private-types) and abidiff compares the two dumps.
#
#   - a removed function or variable (abidiff bit 8, ABI_INCOMPATIBLE_CHANGE)
#     fails;
#   - any change to an existing function's signature or to a type it reaches
#     (struct size, field offset or type, vtable slot, enumerator value) fails
#     too. abidiff reports those with bit 4 (ABI_CHANGE) only, "may or may not
#     be compatible", but for this library they are breaks unless they follow
#     docs/abi.md (a field carved out of a reserved tail, a slot appended):
#     then, after review, regenerate the baseline with abi/update.sh;
#   - additions only (new functions) pass, with the report and a reminder to
#     regenerate the baseline in the same change;
#   - a changed SONAME fails: a bump resets the baseline (abi/update.sh).
# Skips (exit 77) when abidiff is missing, the library has no DWARF (a
# buildtype without -g) or it was built for another architecture than the
# baseline. See docs/abi.md.
#
# abidiff is not given the library itself with --headers-dir2: libabigail 2.2
# then treats every type defined outside HEADERS_DIR as private, including
# uint32_t and size_t, and hides a parameter or return type changed from
# uint32_t to uint64_t. Two dumps made the same way do not have that hole.
set -u

# The one definition of a baseline: the public interface only, locations as
# file names (abidiff reports them), nothing that depends on the machine or
# on where the build directory is (translation units are named by file name).
dump() { # HEADERS_DIR LIBRARY OUT
  abidw --headers-dir "$1" --drop-private-types --exported-interfaces-only \
        --no-corpus-path --no-comp-dir-path --short-locs --no-elf-needed \
        --out-file "$3.raw" "$2" || return 1
  sed "s,path='[^']*/\([^'/]*\)',path='\1',g" "$3.raw" > "$3" && rm -f "$3.raw"
}
has_dwarf() { readelf -S -W "$1" | grep -q ' \.debug_info '; }

if [ "${1:-}" = "--write" ]; then
  [ $# -eq 4 ] || { echo "usage: $0 --write HEADERS_DIR BASELINE LIBRARY" >&2; exit 2; }
  has_dwarf "$4" || { echo "$4 has no DWARF: configure with -Dbuildtype=debugoptimized" >&2; exit 1; }
  dump "$2" "$4" "$3"
  exit
fi
[ $# -ge 3 ] && [ $(( ($# - 1) % 2 )) -eq 0 ] || {
  echo "usage: $0 HEADERS_DIR BASELINE LIBRARY [BASELINE LIBRARY]..." >&2; exit 2; }
headers=$1
shift
for tool in abidiff abidw readelf; do
  command -v $tool > /dev/null 2>&1 || {
    echo "SKIP: $tool not found (Debian: abigail-tools, binutils); the ABI is not checked"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

attr() { # NAME: an attribute of the abi-corpus element, from stdin's first line
  sed -n "1s/.*<abi-corpus[^>]* $1='\([^']*\)'.*/\1/p"
}

status=0 checked=0
while [ $# -ge 2 ]; do
  baseline=$1 lib=$2
  shift 2
  name=$(basename "$baseline")
  [ -f "$baseline" ] || { echo "FAIL $name: no baseline $baseline (abi/update.sh makes it)"; status=1; continue; }
  [ -f "$lib" ] || { echo "FAIL $name: no library $lib"; status=1; continue; }
  if ! has_dwarf "$lib"; then
    echo "SKIP $name: $(basename "$lib") has no DWARF; build with -Dbuildtype=debugoptimized (the default)"
    continue
  fi
  dump "$headers" "$lib" "$tmp/new.abi" 2> "$tmp/abidw.err" || {
    echo "FAIL $name: abidw could not read $lib:"; cat "$tmp/abidw.err"; status=1; continue; }
  old_arch=$(attr architecture < "$baseline") new_arch=$(attr architecture < "$tmp/new.abi")
  if [ "$old_arch" != "$new_arch" ]; then
    echo "SKIP $name: the baseline is for $old_arch, this build is $new_arch"
    continue
  fi
  checked=$((checked + 1))
  old_soname=$(attr soname < "$baseline") new_soname=$(attr soname < "$tmp/new.abi")
  if [ "$old_soname" != "$new_soname" ]; then
    echo "FAIL $name: SONAME changed from $old_soname to $new_soname."
    echo "  A SONAME bump starts a new ABI: regenerate the baseline with abi/update.sh in the bump's commit."
    status=1
    continue
  fi

  abidiff "$baseline" "$tmp/new.abi" > "$tmp/report" 2>&1
  rc=$?
  # Removed and changed functions and variables, from the summary lines
  # ("Functions changes summary: 0 Removed, 1 Changed (2 filtered out), 3 Added functions").
  touched=$(grep 'changes summary:' "$tmp/report" \
            | grep -oE '[0-9]+ (Removed|Changed)' | awk '{ n += $1 } END { print n + 0 }')
  added=$(grep 'changes summary:' "$tmp/report" \
          | grep -oE '[0-9]+ Added' | awk '{ n += $1 } END { print n + 0 }')
  if [ $((rc & 3)) -ne 0 ]; then
    echo "FAIL $name: abidiff could not compare (exit $rc):"; cat "$tmp/report"; status=1
  elif [ $((rc & 8)) -ne 0 ]; then
    echo "FAIL $name: incompatible ABI change (abidiff exit $rc: something was removed):"
    cat "$tmp/report"; status=1
  elif [ $((rc & 4)) -ne 0 ] && [ "$touched" -ne 0 ]; then
    echo "FAIL $name: an existing interface changed (abidiff exit $rc):"
    cat "$tmp/report"
    echo "  Within one SONAME that is a break, unless it is one of the compatible changes"
    echo "  docs/abi.md lists (a field carved out of a reserved tail, a vtable slot appended)."
    echo "  If it is, regenerate the baseline after review: abi/update.sh --accept-changes"
    status=1
  elif [ $((rc & 4)) -ne 0 ] && [ "$added" -eq 0 ]; then
    echo "FAIL $name: abidiff reports a change that is neither an addition nor a removal (exit $rc):"
    cat "$tmp/report"
    echo "  Review it; if it is compatible, regenerate the baseline: abi/update.sh --accept-changes"
    status=1
  elif [ $((rc & 4)) -ne 0 ]; then
    echo "ok $name: compatible additions only (abidiff exit $rc):"
    cat "$tmp/report"
    echo "  Regenerate the baseline in the same change, so that the next check starts from it: abi/update.sh"
  else
    echo "ok $name: the public ABI matches the baseline"
  fi
done
[ $status -eq 0 ] && [ $checked -eq 0 ] && exit 77
exit $status
