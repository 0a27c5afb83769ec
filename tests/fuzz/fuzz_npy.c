/*
 * fuzz_npy.c - the .npy reader. The input is the whole file, handed to the
 * reader behind egcam_npy_read() (egcam__npy_read_stream, lib/npy.c) as a
 * memory stream from fmemopen().
 *
 * On success the tensor must be what egcam_image.h promises (1 to 4
 * dimensions of at least 1, at most 2^40 elements, all of them in the
 * input), every float is read, and a small tensor must come back bit for
 * bit through egcam_npy_write() and the public egcam_npy_read().
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_common.h"

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

#include "internal.h"

/* Write t, read it back through the public path, compare. */
static void round_trip(egcam_ctx *ctx, const egcam_tensor *t, size_t count)
{
    const char *path = fuzz_temp_path("round-trip.npy");
    if (!path)
        return;
    egcam_status st = egcam_npy_write(ctx, path, t);
    if (st == EGCAM_E_IO)
        return; /* the temporary folder is not writable: nothing to learn */
    FUZZ_CHECK(st == EGCAM_OK);
    egcam_tensor *back = NULL;
    FUZZ_CHECK(egcam_npy_read(ctx, path, &back) == EGCAM_OK);
    FUZZ_CHECK(back->ndim == t->ndim);
    for (uint32_t i = 0; i < 4; i++)
        FUZZ_CHECK(back->shape[i] == t->shape[i]);
    FUZZ_CHECK(memcmp(back->data, t->data, count * sizeof(float)) == 0);
    egcam_tensor_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* glibc's fmemopen() refuses a size of 0; one byte of nothing is as
     * short a file for the reader's purposes. */
    FILE *f = fmemopen((void *)(size ? data : (const uint8_t *)"\0"), size ? size : 1, "rb");
    if (!f)
        return 0;
    egcam_ctx *ctx = NULL;
    if (egcam_ctx_new(&ctx) != EGCAM_OK) {
        fclose(f);
        return 0;
    }
    egcam_tensor *t = NULL;
    egcam_status st = egcam__npy_read_stream(ctx, f, "fuzz.npy", &t);
    fclose(f);
    fuzz_note("npy: %s %s", egcam_status_string(st), egcam_ctx_last_error(ctx));
    if (st == EGCAM_OK) {
        FUZZ_CHECK(t && t->data);
        FUZZ_CHECK(t->ndim >= 1 && t->ndim <= 4 && t->reserved == 0);
        uint64_t count = 1;
        for (uint32_t i = 0; i < 4; i++) {
            if (i >= t->ndim) {
                FUZZ_CHECK(t->shape[i] == 0);
                continue;
            }
            FUZZ_CHECK(t->shape[i] >= 1 && (uint64_t)t->shape[i] <= ((uint64_t)1 << 40) / count);
            count *= (uint64_t)t->shape[i];
        }
        FUZZ_CHECK(count * sizeof(float) <= size); /* the data were in the input */
        uint32_t bits = 0;
        for (size_t i = 0; i < (size_t)count; i++) {
            uint32_t b;
            memcpy(&b, t->data + i, sizeof b);
            bits ^= b;
        }
        volatile uint32_t sink = bits;
        (void)sink;
        if (count <= 4096)
            round_trip(ctx, t, (size_t)count);
    } else {
        FUZZ_CHECK(t == NULL);
        FUZZ_CHECK(egcam_ctx_last_error(ctx)[0] != '\0');
        FUZZ_CHECK(st == EGCAM_E_FORMAT || st == EGCAM_E_EMPTY || st == EGCAM_E_OUT_OF_MEMORY ||
                   st == EGCAM_E_IO);
    }
    egcam_tensor_free(t);
    egcam_ctx_free(ctx);
    return 0;
}
