#!/bin/sh
# check-readme.sh SOURCE_DIR BUILD_DIR
# The README's promises, kept:
#   - its first command sets everything up whether or not sudo exists: it
#     starts with .ci/install-deps (never `sudo`), which asks sudo itself
#     only when it is not root (checked with EGCAM_DRY_RUN);
#   - its second command is the test command .ci/run runs;
#   - every C snippet (```c) compiles and links, as a whole program, with
#     -Wall -Wextra -Werror against the build's libraries.
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

# The C snippets.
awk -v dir="$tmp" '/^```c$/ { n++; f = dir "/snippet" n ".c"; next }
                   /^```$/ { f = ""; next }
                   f { print > f }' "$readme"
count=0
for c in "$tmp"/snippet*.c; do
  [ -f "$c" ] || fail "the README has no C snippet"
  count=$((count + 1))
  ${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$src/include" "$c" -o "$c.out" \
    -L"$build/lib" -L"$build/shim" -legcam-torch -legcam-image -legcam ||
    fail "README snippet $count does not build"
done
echo "ok: $count C snippet(s) of the README build with -Wall -Wextra -Werror"
