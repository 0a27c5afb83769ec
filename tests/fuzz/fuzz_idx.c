/*
 * fuzz_idx.c - the IDX reader of the egcam program (tools/egcam/
 * dataset.c): gzip or plain IDX files of images and labels, through
 * cli_dataset_load(), which the program calls for `egcam eval --data`.
 *
 * Input: a header of 6 bytes, then the images file, then the labels file.
 *   0     flags: bit 0 gzip the images bytes here (else they are written as
 *         they are: zlib reads plain files and the fuzzer's own gzip
 *         streams alike); bit 1 the labels file exists (the images file is
 *         then named *-images-idx3-ubyte.gz, so that the reader looks for
 *         *-labels-idx1-ubyte.gz); bit 2 gzip the labels bytes here;
 *         bit 3 make canvases
 *   1     limit - 1: at most 256 items, as `--limit` would
 *   2     canvas side - 16 (with bit 3)
 *   3     seed of the canvases
 *   4-5   length of the images file, little-endian; the rest is labels
 *
 * On success the dataset must hold at most `limit` images of the size the
 * header says (canvas x canvas with boxes inside it), with labels in range.
 * Every pixel is read.
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_common.h"

#include <zlib.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

#include "dataset.h"

/* Write data to path, gzip-compressed or as is. */
static int write_maybe_gz(const char *path, const uint8_t *data, size_t size, int gz)
{
    if (!gz)
        return fuzz_write_file(path, data, size);
    gzFile f = gzopen(path, "wb");
    if (!f)
        return -1;
    int ok = size == 0 || gzwrite(f, data, (unsigned)size) == (int)size;
    return gzclose(f) == Z_OK && ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    uint8_t flags = data[0];
    uint32_t limit = (uint32_t)data[1] + 1;
    uint32_t canvas = flags & 8 ? 16u + data[2] : 0;
    uint64_t seed = data[3];
    size_t ilen = (size_t)data[4] | (size_t)data[5] << 8;
    data += 6;
    size -= 6;
    if (ilen > size)
        ilen = size;
    int labels = (flags & 2) != 0;

    const char *images = fuzz_temp_path(labels ? "t-images-idx3-ubyte.gz" : "t.idx.gz");
    const char *labels_path = fuzz_temp_path("t-labels-idx1-ubyte.gz");
    if (!images || !labels_path)
        return 0;
    if (write_maybe_gz(images, data, ilen, flags & 1) != 0)
        return 0;
    if (labels) {
        if (write_maybe_gz(labels_path, data + ilen, size - ilen, flags & 4) != 0)
            return 0;
    } else {
        remove(labels_path);
    }

    egcam_ctx *ctx = NULL;
    if (egcam_ctx_new(&ctx) != EGCAM_OK)
        return 0;
    cli_dataset d;
    int rc = cli_dataset_load(ctx, images, limit, canvas, seed, EGCAM_PNG_ALPHA_BLACK, &d);
    fuzz_note("idx: rc %d, %u images", rc, rc ? 0u : (unsigned)d.count);
    if (rc == 0) {
        FUZZ_CHECK(d.count <= limit);
        unsigned sum = 0;
        for (uint32_t i = 0; i < d.count; i++) {
            const egcam_image *img = d.images[i];
            FUZZ_CHECK(img && img->pixels && img->channels == 1 && d.names[i]);
            FUZZ_CHECK(img->width >= 1 && img->height >= 1);
            if (canvas) {
                FUZZ_CHECK(img->width == canvas && img->height == canvas && d.boxes);
                FUZZ_CHECK(d.boxes[i][0] < d.boxes[i][2] && d.boxes[i][2] <= canvas);
                FUZZ_CHECK(d.boxes[i][1] < d.boxes[i][3] && d.boxes[i][3] <= canvas);
            }
            FUZZ_CHECK(d.labels[i] >= -1 && d.labels[i] <= 255);
            FUZZ_CHECK(labels || d.labels[i] == -1);
            for (size_t p = 0; p < (size_t)img->width * img->height; p++)
                sum += img->pixels[p];
        }
        volatile unsigned sink = sum;
        (void)sink;
    }
    /* The program frees the dataset whether loading worked or not. */
    cli_dataset_free(&d);
    egcam_ctx_free(ctx);
    return 0;
}
