#!/bin/sh
# check-install.sh BUILDDIR PREFIX LIBDIR EXAMPLE.c
# Installs the build into a scratch DESTDIR, then compiles and runs an
# example with nothing but what `pkg-config --cflags --libs egcam` gives,
# as a user of the installed library would.
set -eu
build=$1 prefix=$2 libdir=$3 example=$4
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

# libegcam-torch, when it was built: its .pc pulls in egcam, and a C program
# links against it with nothing else.
if [ -f "$dest$libdir/pkgconfig/egcam-torch.pc" ]; then
  [ -f "$root/include/egcam/egcam_torch.h" ] || { echo "egcam_torch.h not installed"; exit 1; }
  cat > "$dest/torch_probe.c" <<'C'
#include <stdio.h>
#include <egcam/egcam_torch.h>
int main(void)
{
    egcam_torch_options opts;
    if (egcam_torch_options_init(&opts) != EGCAM_OK)
        return 1;
    printf("cuda available: %d\n", egcam_torch_cuda_available());
    return egcam_version_number() == EGCAM_VERSION_NUMBER ? 0 : 1;
}
C
  flags=$(pkg-config --define-variable=prefix="$root" --cflags --libs egcam-torch)
  echo "pkg-config --cflags --libs egcam-torch: $flags"
  ${CC:-cc} -std=c11 -Wall -Werror "$dest/torch_probe.c" $flags -o "$dest/torch_probe"
  LD_LIBRARY_PATH="$dest$libdir" "$dest/torch_probe"
fi
echo "ok: installed, found by pkg-config, examples compiled, linked and ran"
