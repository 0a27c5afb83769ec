/* planes.c - 8-bit images checked, and turned into float planes for the
 * resampler (lib/core/resample.c): preprocessing, overlays and panels. */
#include <stdlib.h>

#include "image.h"

egcam_status egcam__check_image(egcam_ctx *ctx, const egcam_image *img, const char *what)
{
    if (!img)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s is NULL", what);
    if (!egcam__reserved_ok(img->reserved))
        return egcam__fail(ctx, EGCAM_E_STRUCT_SIZE, "%s: reserved field is not 0", what);
    if (!img->pixels)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s has NULL pixels", what);
    if (!img->width || !img->height)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "%s is %ux%u", what, img->width, img->height);
    if (img->channels != 1 && img->channels != 3 && img->channels != 4)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "%s has %u channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)", what,
                           img->channels);
    if ((uint64_t)img->width * img->height > EGCAM_PNG_MAX_PIXELS)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "%s is too large (%ux%u)", what,
                           img->width, img->height);
    return EGCAM_OK;
}

/* The image as `channels` planes of values 0..255 at its own size. */
static void to_planes(const egcam_image *img, uint32_t channels, float *planes)
{
    size_t n = (size_t)img->width * img->height, ic = img->channels;
    const uint8_t *p = img->pixels;
    for (size_t i = 0; i < n; i++, p += ic) {
        if (channels == 1 && ic == 1) {
            planes[i] = p[0];
        } else if (channels == 1) { /* ITU-R BT.601 luma, the weights of PIL's convert("L") */
            planes[i] = (float)(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]);
        } else { /* gray repeated; alpha, if any, ignored */
            for (size_t c = 0; c < 3; c++)
                planes[c * n + i] = p[ic == 1 ? 0 : c];
        }
    }
}

egcam_status egcam__image_planes(const egcam_image *img, uint32_t channels, size_t oh, size_t ow,
                                 float *out)
{
    size_t ih = img->height, iw = img->width;
    if (ih == oh && iw == ow) {
        to_planes(img, channels, out);
        return EGCAM_OK;
    }
    float *planes = egcam__malloc((size_t)channels * ih * iw * sizeof *planes);
    float *tmp = egcam__malloc(ih * ow * sizeof *tmp);
    if (!planes || !tmp) {
        free(planes);
        free(tmp);
        return EGCAM_E_OUT_OF_MEMORY;
    }
    to_planes(img, channels, planes);
    for (size_t c = 0; c < channels; c++)
        egcam__resample(planes + c * ih * iw, ih, iw, out + c * oh * ow, oh, ow, 1, tmp);
    free(planes);
    free(tmp);
    return EGCAM_OK;
}
