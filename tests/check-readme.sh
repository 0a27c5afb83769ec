#!/bin/sh
# check-readme.sh SOURCE_DIR BUILD_DIR
# The README's promises, kept:
#   - its first command sets everything up whether or not sudo exists: it
#     starts with .ci/install-deps (never `sudo`), which asks sudo itself
#     only when it is not root (checked with EGCAM_DRY_RUN);
#   - its second command is the test command .ci/run runs;
#   - every C snippet (```c) of the README and of docs/api-guide.md is a
#     whole program that builds with the compile line its page gives.
set -eu
src=$1 build=$2
readme=$src/README.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The two commands: the first two lines of the first ```sh block.
sed -n '/^```sh$/,/^```$/p' "$readme" | sed '1d' | head -2 > "$tmp/commands"
first=$(sed -n 1p "$tmp/commands") second=$(sed -n 2p "$tmp/commands")
case $first in
  sudo*) fail "the first command starts with sudo, which a fresh machine run as root may lack" ;;
  .ci/install-deps*) ;;
  *) fail "the first command does not start with .ci/install-deps: $first" ;;
esac
plan=$(cd "$src" && EGCAM_DRY_RUN=1 sh .ci/install-deps)
if [ "$(id -u)" = 0 ]; then
  echo "$plan" | head -1 | grep -q '^apt-get update' || fail "as root, install-deps plans: $plan"
else
  echo "$plan" | head -1 | grep -q '^sudo apt-get update' || fail "as a user, install-deps plans: $plan"
fi
grep -qF -- "$second" "$src/.ci/run" || fail "the second command is not what .ci/run runs: $second"
echo "ok: the first command needs no sudo of its own; the second is .ci/run's"

# The C snippets of the README and the API guide: each is a whole program
# and builds with the compile line its page gives (the first
# `cc app.c $(pkg-config --cflags --libs ...)` on the page), against the
# build's uninstalled .pc files, with -Wall -Wextra -Werror.
count=0
for page in README.md docs/api-guide.md; do
  name=$(echo "$page" | tr '/.' '__')
  awk -v dir="$tmp" -v name="$name" '/^```c$/ { n++; f = dir "/" name n ".c"; next }
                     /^```$/ { f = ""; next }
                     f { print > f }' "$src/$page"
  pkgs=$(sed -n 's/.*`cc app\.c \$(pkg-config --cflags --libs \([a-z -]*\))`.*/\1/p' "$src/$page" |
         head -1)
  [ -n "$pkgs" ] || fail "$page gives no compile line (cc app.c \$(pkg-config --cflags --libs ...))"
  flags=$(PKG_CONFIG_PATH="$build/meson-uninstalled" pkg-config --cflags --libs $pkgs) ||
    fail "$page: pkg-config does not know $pkgs"
  found=0
  for c in "$tmp/$name"*.c; do
    [ -f "$c" ] || break
    found=$((found + 1)) count=$((count + 1))
    grep -q '^int main' "$c" || fail "$page snippet $found is not a whole program"
    # shellcheck disable=SC2086
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror "$c" -o "$c.out" $flags ||
      fail "$page snippet $found does not build with \$(pkg-config --cflags --libs $pkgs)"
  done
  [ $found -gt 0 ] || fail "$page has no C snippet"
done
echo "ok: $count C program(s) of the README and the API guide build as their pages say, -Wall -Wextra -Werror"
