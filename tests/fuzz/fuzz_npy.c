/*
 * fuzz_npy.c - the .npy reader. The input is the whole file, handed to
 * egcam_npy_decode(), which reads memory through the same code as
 * egcam_npy_read() reads a file.
 *
 * On success the tensor must be what egcam_image.h promises (1 to 4
 * dimensions of at least 1, at most 2^40 elements, all of them in the
 * input), every float is read, and a small tensor must come back bit for
 * bit through egcam_npy_encode() and egcam_npy_decode(), and through
 * egcam_npy_write() and egcam_npy_read().
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_common.h"

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

static void same_tensor(const egcam_tensor *back, const egcam_tensor *t, size_t count)
{
    FUZZ_CHECK(back->ndim == t->ndim);
    for (uint32_t i = 0; i < 4; i++)
        FUZZ_CHECK(back->shape[i] == t->shape[i]);
    FUZZ_CHECK(memcmp(back->data, t->data, count * sizeof(float)) == 0);
}

/* Encode t, decode it again, compare; then the same through a file. */
static void round_trip(egcam_ctx *ctx, const egcam_tensor *t, size_t count)
{
    egcam_bytes *bytes = NULL;
    egcam_tensor *back = NULL;
    FUZZ_CHECK(egcam_npy_encode(ctx, t, &bytes) == EGCAM_OK);
    FUZZ_CHECK(egcam_npy_decode(ctx, egcam_bytes_data(bytes), egcam_bytes_size(bytes), &back) ==
               EGCAM_OK);
    same_tensor(back, t, count);
    egcam_tensor_free(back);
    egcam_bytes_free(bytes);

    const char *path = fuzz_temp_path("round-trip.npy");
    if (!path)
        return;
    egcam_status st = egcam_npy_write(ctx, path, t);
    if (st == EGCAM_E_IO)
        return; /* the temporary folder is not writable: nothing to learn */
    FUZZ_CHECK(st == EGCAM_OK);
    FUZZ_CHECK(egcam_npy_read(ctx, path, &back) == EGCAM_OK);
    same_tensor(back, t, count);
    egcam_tensor_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    egcam_ctx *ctx = NULL;
    if (egcam_ctx_new(&ctx) != EGCAM_OK)
        return 0;
    egcam_tensor *t = NULL;
    egcam_status st = egcam_npy_decode(ctx, size ? data : (const uint8_t *)"", size, &t);
    fuzz_note("npy: %s %s", egcam_status_string(st), egcam_ctx_last_error(ctx));
    if (st == EGCAM_OK) {
        FUZZ_CHECK(t && t->data);
        FUZZ_CHECK(t->ndim >= 1 && t->ndim <= 4);
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
