#!/bin/sh
# check-install.sh SOURCE_DIR BUILD_DIR TORCH_FIXTURES
#
# As a user of an installed libegcam would: configure and build the project
# again in BUILD_DIR/install-check with a prefix of its own (not a system
# one), install it there, and then, with LD_LIBRARY_PATH unset:
#   - check what is installed: headers, the three .pc files, the CMake
#     package, SONAMEs, and libpng needed by libegcam-image alone;
#   - build one consumer per .pc file with pkg-config (and the rpath the
#     docs tell consumers of a non-system prefix to add), and run it;
#   - build consumers with CMake's find_package(egcam CONFIG), and refuse a
#     version the package is not;
#   - run the installed egcam program from its prefix, found through its
#     RUNPATH alone.
# The nested build is kept between runs (incremental).
set -eu
src=$1 build=$2 fixtures=$3
dir=$build/install-check
prefix=$dir/prefix
unset LD_LIBRARY_PATH

reconf=
[ -f "$dir/build/build.ninja" ] && reconf=--reconfigure
meson setup $reconf "$dir/build" "$src" --prefix="$prefix" --libdir=lib \
  -Dtests=disabled -Dbench=false -Dexamples=false > "$dir.setup.log" 2>&1 ||
  { cat "$dir.setup.log"; exit 1; }
rm -rf "$prefix"
meson install -C "$dir/build" --quiet > "$dir.install.log" 2>&1 ||
  { cat "$dir.install.log"; exit 1; }

lib=$prefix/lib
fail() { echo "FAIL: $*"; exit 1; }
for f in include/egcam/egcam.h include/egcam/egcam.hpp include/egcam/egcam_backend.h include/egcam/egcam_eval.h \
         include/egcam/egcam_image.h include/egcam/egcam_version.h \
         lib/pkgconfig/egcam.pc lib/pkgconfig/egcam-image.pc \
         lib/cmake/egcam/egcamConfig.cmake lib/cmake/egcam/egcamConfigVersion.cmake; do
  [ -f "$prefix/$f" ] || fail "not installed: $f"
done
soname() { readelf -d "$1" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p'; }
needs() { readelf -d "$1" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'; }
[ "$(soname "$lib/libegcam.so")" = libegcam.so.1 ] || fail "libegcam's SONAME is $(soname "$lib/libegcam.so")"
[ "$(soname "$lib/libegcam-image.so")" = libegcam-image.so.1 ] || fail "libegcam-image's SONAME"
# libpng: in libegcam-image only.
needs "$lib/libegcam.so" | grep -q png && fail "libegcam links libpng: $(needs "$lib/libegcam.so" | tr '\n' ' ')"
needs "$lib/libegcam-image.so" | grep -q '^libpng' || fail "libegcam-image does not link libpng"
extra=$(needs "$lib/libegcam.so" | grep -v -e '^libc\.so' -e '^libm\.so' -e '^ld-linux' || true)
[ -z "$extra" ] || fail "libegcam needs more than libc and libm: $extra"

export PKG_CONFIG_PATH="$lib/pkgconfig"
pkg-config --libs egcam | grep -q png && fail "pkg-config --libs egcam names libpng"
work=$dir/consumers
rm -rf "$work"
mkdir -p "$work"
# A consumer of a non-system prefix adds an rpath (docs/api-guide.md).
consumer() { # NAME SOURCE COMPILER STD PACKAGES...
  name=$1 source=$2 compiler=$3 std=$4
  shift 4
  flags=$(pkg-config --cflags --libs "$@")
  rpath=$(pkg-config --variable=libdir "$1")
  echo "$name: pkg-config --cflags --libs $*: $flags"
  # shellcheck disable=SC2086
  $compiler -std="$std" -Wall -Werror "$source" $flags -Wl,-rpath,"$rpath" -o "$work/$name"
}
consumer custom_backend "$src/examples/custom_backend.c" "${CC:-cc}" c11 egcam
"$work/custom_backend" > "$work/custom.txt"
for method in "Grad-CAM" "Integrated Grad-CAM" "Expected Grad-CAM"; do
  grep -q "^$method: class" "$work/custom.txt" || fail "custom_backend: no $method result"
done
LD_DEBUG=libs "$work/custom_backend" 2>&1 >/dev/null | grep -q "$lib/libegcam.so.1" ||
  fail "custom_backend did not load the installed libegcam"
needs "$work/custom_backend" | grep -q egcam-image && fail "custom_backend links libegcam-image"
consumer image_consumer "$src/tests/install/image_consumer.c" "${CC:-cc}" c11 egcam-image
"$work/image_consumer" | grep -q "^image: ok" || fail "image_consumer"

torch=
[ -f "$lib/pkgconfig/egcam-torch.pc" ] && torch=1
if [ -n "$torch" ]; then
  consumer explain_png "$src/examples/explain_png.c" "${CC:-cc}" c11 egcam-torch egcam-image
  "$work/explain_png" "$fixtures/plain_cnn.pt" features.3 "$fixtures/input16.png" \
    "$work/overlay.png"
  [ -s "$work/overlay.png" ] || fail "explain_png wrote no overlay"
fi

# CMake: find_package(egcam 0.1 CONFIG), imported targets, and a refused version.
cmake -S "$src/tests/install/cmake" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DEGCAM_EXAMPLES="$src/examples" -DEGCAM_TESTS="$src/tests" > "$work/cmake.log" 2>&1 ||
  { cat "$work/cmake.log"; fail "cmake could not configure the consumer"; }
cmake --build "$work/cmake" > "$work/cmake-build.log" 2>&1 ||
  { cat "$work/cmake-build.log"; fail "cmake could not build the consumer"; }
"$work/cmake/custom_backend" | grep -q "^Expected Grad-CAM: class" || fail "CMake custom_backend"
"$work/cmake/image_consumer" | grep -q "^image: ok" || fail "CMake image_consumer"
if [ -n "$torch" ]; then
  "$work/cmake/explain_cpp" "$fixtures/plain_cnn.pt" features.3 "$fixtures/input16.png" \
    > "$work/cpp.txt"
  [ "$(grep -c 'class' "$work/cpp.txt")" = 3 ] || fail "CMake explain_cpp: not three methods"
  grep -q '^predicted: [0-9]* with probability' "$work/cpp.txt" || fail "CMake explain_cpp: no prediction"
fi
mkdir -p "$work/wrong"
printf 'cmake_minimum_required(VERSION 3.16)\nproject(x C)\nfind_package(egcam 9.0 CONFIG REQUIRED)\n' \
  > "$work/wrong/CMakeLists.txt"
if cmake -S "$work/wrong" -B "$work/wrong/build" -DCMAKE_PREFIX_PATH="$prefix" \
     > "$work/wrong.log" 2>&1; then
  fail "find_package(egcam 9.0) was accepted by version $(pkg-config --modversion egcam)"
fi
grep -q "egcamConfigVersion" "$work/wrong.log" || grep -q "version" "$work/wrong.log" ||
  fail "the refused version is not explained"

# The installed program, from its prefix, through its RUNPATH alone.
if [ -n "$torch" ]; then
  [ -x "$prefix/bin/egcam" ] || fail "the egcam program is not installed"
  readelf -d "$prefix/bin/egcam" | grep -q "R.*PATH.*$lib" || fail "egcam has no RUNPATH to $lib"
  "$prefix/bin/egcam" --version
  "$prefix/bin/egcam" explain --model "$fixtures/plain_cnn.pt" --layer features.3 \
    --method gradcam --out "$work/explained" "$fixtures/input16.png" > "$work/explain.json"
  grep -q '"method": "gradcam"' "$work/explain.json" || fail "the installed egcam explained nothing"
fi
echo "ok: installed under $prefix; pkg-config and CMake consumers built and ran; the installed egcam ran without LD_LIBRARY_PATH"
