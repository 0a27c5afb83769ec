/* alloc.c - the allocation-failure build (EGCAM_ALLOC_FAIL; internal.h):
 * every allocation of the libraries counted, and the one chosen by the test
 * failed, as dav1d's alloc_fail fuzzer does. Not part of the libraries. */
#include "internal.h"
#include "alloc_fail.h"

static uint64_t calls, fail_at; /* fail_at 0: never */

void egcam_alloc_fail_reset(uint64_t k)
{
    calls = 0;
    fail_at = k;
}

uint64_t egcam_alloc_fail_calls(void) { return calls; }

static int fails_now(void) { return ++calls == fail_at; }

void *egcam__malloc(size_t size) { return fails_now() ? NULL : malloc(size); }

void *egcam__calloc(size_t count, size_t size) { return fails_now() ? NULL : calloc(count, size); }

void *egcam__realloc(void *p, size_t size) { return fails_now() ? NULL : realloc(p, size); }
