#!/bin/sh
# check-install.sh BUILDDIR PREFIX LIBDIR EXAMPLE.c [TORCH_FIXTURES]
# Installs the build into a scratch DESTDIR, then compiles and runs an
# example with nothing but what `pkg-config --cflags --libs egcam` gives,
# as a user of the installed library would.
set -eu
build=$1 prefix=$2 libdir=$3 example=$4 fixtures=${5:-}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet
root=$dest$prefix
for f in "$root/include/egcam/egcam.h" "$root/include/egcam/egcam_backend.h" \
         "$root/include/egcam/egcam_version.h" "$dest$libdir/pkgconfig/egcam.pc"; do
  [ -f "$f" ] || { echo "not installed: ${f#"$dest"}"; exit 1; }
done
soname=$(readelf -d "$dest$libdir/libegcam.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "libegcam.so.1" ] || { echo "SONAME is '$soname', expected libegcam.so.1"; exit 1; }

# The .pc file says ${prefix}; point it at the scratch root.
export PKG_CONFIG_PATH="$dest$libdir/pkgconfig"
flags=$(pkg-config --define-variable=prefix="$root" --cflags --libs egcam)
echo "pkg-config --cflags --libs egcam: $flags"
${CC:-cc} -std=c11 -Wall -Werror "$example" $flags -o "$dest/example"
LD_LIBRARY_PATH="$dest$libdir" "$dest/example" > "$dest/out.txt"
cat "$dest/out.txt"
for method in "Grad-CAM" "Integrated Grad-CAM" "Expected Grad-CAM"; do
  grep -q "^$method: class" "$dest/out.txt" || { echo "no $method result"; exit 1; }
done
# It ran against the installed library, not the build tree's.
LD_LIBRARY_PATH="$dest$libdir" LD_DEBUG=libs "$dest/example" 2>&1 >/dev/null \
  | grep -q "$dest$libdir/libegcam.so.1" || { echo "example did not load the installed libegcam"; exit 1; }

# libegcam-torch, when it was built: its .pc pulls in egcam, and the C and
# C++ examples build against it and explain a fixture model's PNG.
if [ -f "$dest$libdir/pkgconfig/egcam-torch.pc" ]; then
  [ -f "$root/include/egcam/egcam_torch.h" ] || { echo "egcam_torch.h not installed"; exit 1; }
  [ -x "$root/bin/egcam" ] || { echo "the egcam program is not installed"; exit 1; }
  examples=$(dirname "$example")
  flags=$(pkg-config --define-variable=prefix="$root" --cflags --libs egcam-torch egcam-image)
  echo "pkg-config --cflags --libs egcam-torch: $flags"
  ${CC:-cc} -std=c11 -Wall -Werror "$examples/explain_png.c" $flags -o "$dest/explain_png"
  ${CXX:-c++} -std=c++17 -Wall -Werror "$examples/explain_cpp.cpp" $flags -o "$dest/explain_cpp"
  LD_LIBRARY_PATH="$dest$libdir" "$dest/explain_png" "$fixtures/plain_cnn.pt" features.3 \
    "$fixtures/input16.png" "$dest/overlay.png"
  [ -s "$dest/overlay.png" ] || { echo "explain_png wrote no overlay"; exit 1; }
  LD_LIBRARY_PATH="$dest$libdir" "$dest/explain_cpp" "$fixtures/plain_cnn.pt" features.3 \
    "$fixtures/input16.png" > "$dest/cpp.txt"
  cat "$dest/cpp.txt"
  [ "$(grep -c 'class' "$dest/cpp.txt")" = 3 ] || { echo "explain_cpp: not three methods"; exit 1; }
  LD_LIBRARY_PATH="$dest$libdir" "$root/bin/egcam" --version
fi
echo "ok: installed, found by pkg-config, examples compiled, linked and ran"
