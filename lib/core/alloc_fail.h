/* alloc_fail.h - the switch of the allocation-failure build (alloc.c), for
 * tests/test_alloc_fail.c alone. */
#ifndef EGCAM_CORE_ALLOC_FAIL_H
#define EGCAM_CORE_ALLOC_FAIL_H

#include <stdint.h>

/* Count allocations from 0 again, and fail the k-th from now (k >= 1), or
 * none (k = 0). */
void egcam_alloc_fail_reset(uint64_t k);
/* Allocations made since the last reset, the failed one included. */
uint64_t egcam_alloc_fail_calls(void);

#endif
