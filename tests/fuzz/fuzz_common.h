/*
 * fuzz_common.h - what the libFuzzer harnesses of tests/fuzz share.
 *
 * Every harness defines LLVMFuzzerTestOneInput(). Built with clang and
 * -fsanitize=fuzzer (meson -Dfuzzing=true) it is a libFuzzer binary; built
 * with the normal compiler it is linked with replay.c, which feeds it the
 * committed corpus and regressions as an ordinary test.
 *
 * A harness reports a broken promise of the library (a wrong result shape,
 * a call the backend contract forbids) with FUZZ_CHECK, which prints the
 * condition and aborts: libFuzzer then saves the input like any crash.
 */
#ifndef EGCAM_FUZZ_COMMON_H
#define EGCAM_FUZZ_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond);                \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* The fuzz input as a stream of numbers: reads past the end give zeros, so
 * every input, even an empty one, is a complete script. */
typedef struct fuzz_reader {
    const uint8_t *p;
    size_t left;
} fuzz_reader;

static inline uint8_t fuzz_u8(fuzz_reader *r)
{
    if (!r->left)
        return 0;
    r->left--;
    return *r->p++;
}

static inline uint32_t fuzz_u32(fuzz_reader *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)fuzz_u8(r) << (8 * i);
    return v;
}

static inline uint64_t fuzz_u64(fuzz_reader *r)
{
    uint64_t lo = fuzz_u32(r);
    return lo | (uint64_t)fuzz_u32(r) << 32;
}

/* A float of any bit pattern: NaNs, infinities and denormals included. */
static inline float fuzz_float_bits(fuzz_reader *r)
{
    uint32_t b = fuzz_u32(r);
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* A float from one byte: mostly small finite values, sometimes the ones that
 * break arithmetic (NaN, infinities, the largest and smallest floats). */
static inline float fuzz_float_class(uint8_t b)
{
    static const float special[] = {0.0f, -0.0f, 1e-45f, -1e-45f, 3.4e38f, -3.4e38f, 1e30f, -1e30f};
    switch (b >> 5) {
    case 0:
        if ((b & 31) < 8)
            return special[b & 7];
        if ((b & 31) == 8)
            return NAN;
        if ((b & 31) == 9)
            return INFINITY;
        if ((b & 31) == 10)
            return -INFINITY;
        return (float)(b & 31) / 8.0f;
    default: return ((float)b - 128.0f) / 64.0f; /* -2 .. 2 */
    }
}

/* printf to stderr when EGCAM_FUZZ_VERBOSE is set (replay an input with it
 * to see what the library made of it); otherwise nothing. */
void fuzz_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* A private folder for harnesses that must hand the code under test a path
 * (made once under $TMPDIR or /tmp, removed at exit with what is listed in
 * it by fuzz_temp_path), or NULL when none can be made. */
const char *fuzz_temp_dir(void);
/* dir/name, remembered for removal at exit (at most 8 names). */
const char *fuzz_temp_path(const char *name);
/* Replace the file at path by size bytes of data; 0 or -1. */
int fuzz_write_file(const char *path, const void *data, size_t size);

#endif
