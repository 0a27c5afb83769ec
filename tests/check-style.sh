#!/bin/sh
# check-style.sh SOURCE_DIR
# Two rules of the tree's style:
#   - no identifier with a double underscore in C++ (reserved there): the
#     C core's egcam__ names stay out of the C++ files;
#   - every C and C++ source as clang-format writes it (.clang-format, and
#     include/egcam/.clang-format for the public headers, whose declarations
#     are aligned as tables); generated files (their first lines say so)
#     are left as their generators make them. Skipped (77) without
#     clang-format (Debian clang-format-14).
set -eu
src=$1
cd "$src"
status=0
cxx=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find . -name '*.cpp' -o -name '*.hpp')
# Identifiers with __ inside or at the start, but not the compiler's own
# macros (__cplusplus, __FILE__, __GNUC__ ...): those are all capitals.
bad=$(grep -nE '\b[A-Za-z_][A-Za-z0-9]*__[A-Za-z0-9_]*' $cxx | grep -vE '\b__[A-Z0-9_]+__\b|\b__[A-Z][A-Z0-9_]*\b' || true)
if [ -n "$bad" ]; then
  echo "double underscores in C++ (reserved names):"; echo "$bad"; status=1
fi

format=
for f in clang-format-14 clang-format; do
  if command -v "$f" > /dev/null 2>&1; then format=$f; break; fi
done
if [ -z "$format" ]; then
  echo "SKIP: no clang-format (Debian clang-format-14): the layout is not checked"
  [ $status -eq 0 ] && exit 77
  exit $status
fi
files=$(git ls-files '*.c' '*.h' '*.cpp' '*.hpp' 2>/dev/null ||
        find . -name '*.[ch]' -o -name '*.cpp' -o -name '*.hpp')
n=0
for f in $files; do
  head -3 "$f" | grep -qi 'generated' && continue
  n=$((n + 1))
  if ! "$format" --dry-run -Werror "$f" > /dev/null 2>&1; then
    echo "not as $format writes it: $f (run: $format -i $f)"
    status=1
  fi
done
[ $status -eq 0 ] && echo "ok: $n files as $format writes them, no reserved names in C++"
exit $status
