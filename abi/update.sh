#!/bin/sh
# abi/update.sh [--accept-changes] [BUILDDIR]
# Regenerates the ABI baselines abi/libegcam.abi, abi/libegcam-image.abi and
# abi/libegcam-torch.abi
# from the libraries in BUILDDIR (default: build), which must be built with
# DWARF (buildtype debugoptimized, the default). Commit the result with the
# change that needs it. The meson test 'abi' (tests/check-abi.sh) compares
# every build with these files.
#
# When to run it (docs/abi.md, "The ABI baseline"):
#   - after adding public functions: the check passes and reminds you;
#   - after a reviewed compatible change that abidiff cannot tell from a break
#     (a config field carved out of reserved bytes, a backend slot appended,
#     a new status value): pass --accept-changes;
#   - in the commit that bumps EGCAM_ABI_VERSION_MAJOR (a new SONAME starts a
#     new baseline).
# Never to silence a break within one SONAME. Without --accept-changes this
# script refuses when the check fails with the SONAME unchanged.
set -eu
accept=0
if [ "${1:-}" = "--accept-changes" ]; then accept=1; shift; fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
cd "$src"
headers=include/egcam

meson compile -C "$build" lib/egcam lib/egcam-image
libs=$(meson introspect --targets "$build" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["type"] == "shared library" and t["name"] in ("egcam", "egcam-image", "egcam-torch"):
        print(t["name"], t["filename"][0])')
if echo "$libs" | grep -q '^egcam-torch '; then
  meson compile -C "$build" shim/egcam-torch
else
  echo "note: $build has no libegcam-torch (LibTorch not found); abi/libegcam-torch.abi is left as it is"
fi

echo "$libs" | while read -r name lib; do
  out=abi/lib$name.abi
  if [ -f "$out" ] && [ $accept -eq 0 ]; then
    report=$(tests/check-abi.sh "$headers" "$out" "$lib" 2>&1) && rc=0 || rc=$?
    if [ $rc -eq 1 ]; then
      new_soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
      if grep -q "soname='$new_soname'" "$out"; then
        echo "$report"
        echo "refusing to overwrite $out: the check above fails with the SONAME unchanged." >&2
        echo "If the change is a reviewed compatible one (docs/abi.md), rerun with --accept-changes." >&2
        exit 1
      fi
    fi
  fi
  # The format is defined in one place, tests/check-abi.sh (dump()).
  tests/check-abi.sh --write "$headers" "$out" "$lib"
  echo "wrote $out ($(wc -c < "$out") bytes) from $(basename "$lib")"
done
