/*
 * fuzz_png.c - the PNG reader: egcam_png_decode() from memory and, for some
 * inputs, egcam_png_read() of the same bytes from a file.
 *
 * Input: one byte of options, then the PNG bytes.
 *   bits 0-1  channels asked for: 0 (as stored), 1, 3, or bits 2-6 as a
 *             number (mostly invalid: EGCAM_E_INVALID_ARGUMENT)
 *   bit 7     read through a file with egcam_png_read() instead
 *
 * On success the image must be what egcam_image.h promises (size within
 * EGCAM_PNG_MAX_PIXELS, the channels asked for) and every pixel byte is
 * read, so that a pixel buffer smaller than its image shows under ASan.
 * On failure there must be no image, a documented status and a message.
 */
#include "fuzz_common.h"

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    data++;
    size--;
    static const uint32_t choices[3] = {0, 1, 3};
    uint32_t channels = (opt & 3) < 3 ? choices[opt & 3] : (opt >> 2) & 31;
    int via_file = (opt & 0x80) != 0;

    egcam_ctx *ctx = NULL;
    if (egcam_ctx_new(&ctx) != EGCAM_OK)
        return 0;
    egcam_image *img = (egcam_image *)1; /* must be overwritten */
    egcam_status st;
    if (via_file) {
        const char *path = fuzz_temp_path("input.png");
        if (!path || fuzz_write_file(path, data, size) != 0) {
            egcam_ctx_free(ctx);
            return 0;
        }
        st = egcam_png_read(ctx, path, channels, &img);
    } else {
        /* An empty input still gets a valid pointer: data may be NULL then. */
        static const uint8_t none[1];
        st = egcam_png_decode(ctx, size ? data : none, size, channels, &img);
    }

    fuzz_note("png: channels %u%s: %s %s", (unsigned)channels, via_file ? " (file)" : "",
              egcam_status_string(st), egcam_ctx_last_error(ctx));
    int valid_channels = channels == 0 || channels == 1 || channels == 3;
    if (st == EGCAM_OK) {
        FUZZ_CHECK(valid_channels);
        FUZZ_CHECK(img && img->pixels);
        FUZZ_CHECK(img->width >= 1 && img->height >= 1);
        FUZZ_CHECK((uint64_t)img->width * img->height <= EGCAM_PNG_MAX_PIXELS);
        if (channels)
            FUZZ_CHECK(img->channels == channels);
        else
            FUZZ_CHECK(img->channels == 1 || img->channels == 3);
        size_t n = (size_t)img->width * img->height * img->channels;
        unsigned sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += img->pixels[i];
        volatile unsigned sink = sum;
        (void)sink;
    } else {
        FUZZ_CHECK(img == NULL);
        FUZZ_CHECK(egcam_ctx_last_error(ctx)[0] != '\0');
        if (!valid_channels)
            FUZZ_CHECK(st == EGCAM_E_INVALID_ARGUMENT);
        else
            FUZZ_CHECK(st == EGCAM_E_FORMAT || st == EGCAM_E_OUT_OF_MEMORY ||
                       (via_file && st == EGCAM_E_IO));
    }
    egcam_image_free(img);
    egcam_ctx_free(ctx);
    return 0;
}
