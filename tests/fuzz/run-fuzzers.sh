#!/bin/sh
# run-fuzzers.sh SOURCE_ROOT BUILD_DIR - build the libFuzzer harnesses of
# tests/fuzz in a nested clang build (BUILD_DIR, made on the first run and
# reused after) and run each for a bounded time. Fails on any crash, leak,
# UB report, timeout or out-of-memory; exits 77 (meson: SKIP) when clang or
# its libFuzzer runtime is missing.
#
# Environment:
#   EGCAM_FUZZ_SECONDS  seconds per harness (default 60)
#   EGCAM_FUZZ_TARGETS  harnesses to run (default: png npy idx config backend)
#   EGCAM_FUZZ_CC       the compiler (default clang-14)
#
# New inputs that add coverage go to BUILD_DIR/run/<name>/corpus, kept
# between runs; crashing inputs to BUILD_DIR/run/<name>/artifacts. Copy a
# crashing input into tests/fuzz/regressions/<name>/ once its bug is fixed.
set -u
src=$1
bdir=$2
secs=${EGCAM_FUZZ_SECONDS:-60}
targets=${EGCAM_FUZZ_TARGETS:-png npy idx config backend}
cc=${EGCAM_FUZZ_CC:-clang-14}

# Inside the nested sanitizer builds of run-sanitized.sh the fuzzers would
# only repeat, slower, what the outer run does (their replays still run).
if [ -n "${EGCAM_SANITIZE_NESTED:-}" ]; then
  echo "SKIP: inside a sanitized nested build; the outer build runs the fuzzers"
  exit 77
fi

case $secs in
  '' | *[!0-9]*) echo "EGCAM_FUZZ_SECONDS=$secs is not a number of seconds" >&2; exit 1 ;;
esac

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "SKIP: $cc not found (apt-get install clang-14 libclang-rt-14-dev)"
  exit 77
fi
mkdir -p "$bdir" || exit 1
probe="$bdir/probe"
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
  'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
  >"$probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" >"$probe.log" 2>&1; then
  cat "$probe.log"
  echo "SKIP: $cc cannot build a libFuzzer binary (apt-get install libclang-rt-14-dev)"
  exit 77
fi

# The nested build: only the harnesses and the core they link.
build="$bdir/build"
if [ ! -f "$build/build.ninja" ]; then
  rm -rf "$build"
  CC=$cc meson setup "$build" "$src" -Dfuzzing=true -Dtests=disabled -Dtorch=disabled \
    -Dexamples=false -Dbench=false >"$bdir/setup.log" 2>&1 || { cat "$bdir/setup.log"; exit 1; }
fi
bins=
for t in $targets; do bins="$bins tests/fuzz/fuzz_$t"; done
# shellcheck disable=SC2086
meson compile -C "$build" $bins >"$bdir/compile.log" 2>&1 || { cat "$bdir/compile.log"; exit 1; }

symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
if [ -n "$symbolizer" ]; then
  export ASAN_SYMBOLIZER_PATH="$symbolizer"
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"

failed=
for t in $targets; do
  bin="$build/tests/fuzz/fuzz_$t"
  work="$bdir/run/$t"
  mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
  # Per harness: the longest input, and what else it needs.
  extra=
  case $t in
    png) len=16384
         # A legal 2^28-pixel 16-bit interlaced RGBA header makes the reader
         # calloc 2 GiB (lazily: untouched pages cost nothing) before libpng
         # finds the data missing; that is the documented limit, not a leak.
         extra="-malloc_limit_mb=2200 -dict=$src/tests/fuzz/png.dict" ;;
    npy) len=4096; extra="-dict=$src/tests/fuzz/npy.dict" ;;
    idx) len=8192; extra="-close_fd_mask=2" ;;  # the program's messages
    config) len=1024 ;;
    backend) len=4096 ;;
    *) echo "unknown harness $t" >&2; exit 1 ;;
  esac
  dirs="$work/corpus $src/tests/fuzz/corpus/$t"
  if [ -d "$src/tests/fuzz/regressions/$t" ]; then
    dirs="$dirs $src/tests/fuzz/regressions/$t"
  fi
  # The temporary files of fuzz_png, fuzz_npy and fuzz_idx: a crash skips
  # their removal at exit, so keep them in the build folder.
  # shellcheck disable=SC2086
  TMPDIR="$work/tmp" "$bin" -max_total_time="$secs" -max_len="$len" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" $extra $dirs \
    >"$work/log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1)
  cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
  echo "fuzz_$t: ${secs} s, ${runs:-?} runs (${speed:-?}/s), cov ${cov:-?}, ft ${ft:-?}," \
    "corpus ${corp:-?}, peak rss ${rss:-?} MB, exit $rc"
  if [ "$rc" -ne 0 ]; then
    failed="$failed $t"
    echo "---- fuzz_$t failed; the end of $work/log:"
    tail -n 80 "$work/log"
    echo "---- inputs saved in $work/artifacts:"
    ls -l "$work/artifacts"
    echo "Reproduce: $bin $work/artifacts/<file>"
  fi
done
if [ -n "$failed" ]; then
  echo "FAILED:$failed"
  exit 1
fi
exit 0
