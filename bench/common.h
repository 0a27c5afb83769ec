/* common.h - what the benchmark programs share: clocks, medians, inputs,
 * memory, numbers from the command line, JSON strings. */
#ifndef EGCAM_BENCH_COMMON_H
#define EGCAM_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Milliseconds on clock id (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID). */
double bench_clock_ms(clockid_t id);
/* The median of n values (n >= 1); sorts v. */
double bench_median(double *v, uint32_t n);
/* Deterministic inputs in [lo, hi): the numbers do not matter for speed. */
void bench_fill(float *v, size_t n, uint64_t seed, float lo, float hi);
/* The process's peak resident memory so far, in MiB. */
double bench_peak_rss_mib(void);
/* A whole decimal number in [min, 2^32 - 1] into *out: 0, or -1. */
int bench_parse_u32(const char *s, uint32_t *out, uint32_t min);
/* s as a JSON string body: quotes, backslashes and control bytes escaped. */
void bench_json_string(FILE *f, const char *s);

#endif
