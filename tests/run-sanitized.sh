#!/bin/sh
# run-sanitized.sh MODE MESON SOURCE_DIR BUILD_DIR
#
# Configure and build a nested copy of the project under BUILD_DIR with a
# sanitizer, and run tests there. Any sanitizer report fails: every report
# is written to a log file (log_path), whatever the exit status of the
# process that made it (the egcam program run by test_cli, for example),
# and the run fails when one exists.
#
#   address  -Db_sanitize=address,undefined: the test suite of the nested
#            build, C core, test_threads, test_torch and test_cli included,
#            with LeakSanitizer on and UBSan halting. Not run there: the
#            suites 'sanitize' (these tests themselves: no recursion),
#            'torchvision' (minutes of large models) and 'install' (it
#            compiles an example without the sanitizer against the
#            sanitized library, which ASan refuses to load).
#   thread   -Db_sanitize=thread, core only (-Dtorch=disabled
#            -Dexamples=false): builds and runs test_threads alone.
# Neither builds bench/ (-Dbench=false); its one test, bench_error, runs
# in the plain build.
#
# The nested build is kept between runs (incremental); delete
# BUILD_DIR/sanitize-MODE to start over.
set -eu
mode=$1 meson=$2 src=$3 build=$4

if [ -n "${EGCAM_SANITIZE_NESTED:-}" ]; then
  echo "already inside a sanitized build: not nesting again"
  exit 77  # skipped
fi
export EGCAM_SANITIZE_NESTED=1

dir=$build/sanitize-$mode
logs=$dir/sanitizer-logs
# Frame pointers give whole stacks in reports at little cost.
flags='-fno-omit-frame-pointer'
case $mode in
  address)
    flags="$flags -fno-sanitize-recover=undefined"
    options="-Db_sanitize=address,undefined -Db_lundef=false -Dbench=false"
    ;;
  thread)
    options="-Db_sanitize=thread -Db_lundef=false -Dtorch=disabled -Dexamples=false -Dbench=false"
    ;;
  *) echo "unknown mode '$mode'" >&2; exit 2 ;;
esac

# Same options every time, also when the folder exists (reconfigure).
reconf=
[ -f "$dir/build.ninja" ] && reconf=--reconfigure
# shellcheck disable=SC2086
"$meson" setup $reconf "$dir" "$src" --buildtype=debugoptimized $options \
  -Dc_args="$flags" -Dcpp_args="$flags" > "$dir.setup.log" 2>&1 ||
  { cat "$dir.setup.log"; exit 1; }

rm -rf "$logs"
mkdir -p "$logs"
# Halt on the first report, write it to a file, exit non-zero.
export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:strict_string_checks=1:detect_odr_violation=2:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$logs/tsan"

status=0
case $mode in
  address)
    "$meson" compile -C "$dir"
    "$meson" test -C "$dir" --print-errorlogs \
      --no-suite sanitize --no-suite torchvision --no-suite install || status=$?
    ;;
  thread)
    "$meson" compile -C "$dir" test_threads
    CMOCKA_MESSAGE_OUTPUT=TAP "$dir/tests/test_threads" || status=$?
    ;;
esac

reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  n=0
  for f in $reports; do
    n=$((n + 1))
    echo "==== $f"
    if [ $n -le 5 ]; then head -n 80 "$f"; fi  # the first few in full, enough to act on
  done
  echo "FAIL: $n sanitizer report(s), in $logs"
  exit 1
fi
[ "$status" = 0 ] || { echo "FAIL: tests failed (status $status)"; exit 1; }
echo "ok: $mode sanitizer, no reports"
