/*
 * preprocess.c - an 8-bit image to a model's input tensor [C, H, W]: resize
 * (resample.c), or resize the shorter side and crop the centre, convert
 * channels, scale to [0, 1], normalise; the steps of torchvision's
 * Resize(antialias=True), CenterCrop, ToTensor and Normalize.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

egcam_status egcam_preprocess_init_sized(egcam_preprocess *p, size_t size)
{
    egcam_status st = egcam__versioned_init(p, size, sizeof *p);
    if (st != EGCAM_OK)
        return st;
    for (size_t c = 0; c < 3; c++) {
        p->mean[c] = 0.0f;
        p->std[c] = 1.0f;
    }
    return EGCAM_OK;
}

egcam_status egcam_preprocess_init_imagenet_sized(egcam_preprocess *p, size_t size)
{
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    egcam_status st = egcam_preprocess_init_sized(p, size);
    if (st != EGCAM_OK)
        return st;
    p->channels = 3;
    memcpy(p->mean, mean, sizeof mean);
    memcpy(p->std, std, sizeof std);
    return EGCAM_OK;
}

static egcam_status check_settings(egcam_ctx *ctx, const egcam_preprocess *p, uint32_t channels)
{
    if (!p)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_preprocess_image: settings are NULL");
    egcam_status st =
        egcam__versioned_check(ctx, p, sizeof *p, "preprocess", "egcam_preprocess_init",
                               !egcam__all_zero(p->reserved, sizeof p->reserved));
    if (st != EGCAM_OK)
        return st;
    if (p->channels != 0 && p->channels != 1 && p->channels != 3)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "preprocess.channels is %u; expected 0 (the image's), 1 or 3",
                           p->channels);
    /* Only the entries of channels the output has are used, so only they
     * must be valid (a gray model may leave the other two at anything). */
    for (uint32_t c = 0; c < channels; c++) {
        if (!isfinite(p->mean[c]) || !isfinite(p->std[c]))
            return egcam__fail(ctx, EGCAM_E_NON_FINITE, "preprocess.%s[%u] is not finite",
                               isfinite(p->mean[c]) ? "std" : "mean", c);
        if (!(p->std[c] > 0.0f))
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                               "preprocess.std[%u] is %g; must be > 0", c, (double)p->std[c]);
    }
    if ((uint64_t)p->width * p->height > EGCAM_PNG_MAX_PIXELS)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "preprocess size %ux%u is too large",
                           p->width, p->height);
    if (p->resize > 65535)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "preprocess.resize is %u; at most 65535",
                           p->resize);
    return EGCAM_OK;
}

/* Python's round(n / 2) for n >= 0, as CenterCrop computes its offsets:
 * a half goes to the even neighbour (round(2.5) is 2, round(3.5) is 4). */
static int64_t round_half_even_half(int64_t n)
{
    int64_t q = n / 2;
    return n % 2 && q % 2 ? q + 1 : q;
}

/* The size torchvision's Resize(resize) gives the image: the shorter side
 * `resize`, the longer int(resize * long / short), computed in double. */
static egcam_status resized_size(egcam_ctx *ctx, const egcam_image *image, uint32_t resize,
                                 size_t *rh, size_t *rw)
{
    size_t ih = image->height, iw = image->width;
    size_t longer =
        (size_t)floor((double)resize * (double)(iw <= ih ? ih : iw) / (double)(iw <= ih ? iw : ih));
    *rh = iw <= ih ? longer : resize;
    *rw = iw <= ih ? resize : longer;
    if ((uint64_t)*rh * *rw > EGCAM_PNG_MAX_PIXELS)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "resizing the %zux%zu image's shorter side to %u makes it %zux%zu: "
                           "too large",
                           iw, ih, resize, *rw, *rh);
    return EGCAM_OK;
}

/* The image resized to rh x rw, then its centre oh x ow (zeros outside, as
 * CenterCrop pads), into x. */
static egcam_status resize_and_crop(egcam_ctx *ctx, const egcam_image *image, uint32_t channels,
                                    size_t rh, size_t rw, size_t oh, size_t ow, float *x)
{
    float *r = egcam__malloc(channels * rh * rw * sizeof *r);
    if (!r || egcam__image_planes(image, channels, rh, rw, r) != EGCAM_OK) {
        free(r);
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory while resizing the image");
    }
    /* Source row of crop row 0: the centre offset, or minus the padding. */
    int64_t top = oh <= rh ? round_half_even_half((int64_t)rh - (int64_t)oh)
                           : -(((int64_t)oh - (int64_t)rh) / 2);
    int64_t left = ow <= rw ? round_half_even_half((int64_t)rw - (int64_t)ow)
                            : -(((int64_t)ow - (int64_t)rw) / 2);
    for (size_t c = 0; c < channels; c++)
        for (size_t i = 0; i < oh; i++) {
            int64_t si = (int64_t)i + top;
            for (size_t j = 0; j < ow; j++) {
                int64_t sj = (int64_t)j + left;
                int inside = si >= 0 && si < (int64_t)rh && sj >= 0 && sj < (int64_t)rw;
                x[(c * oh + i) * ow + j] =
                    inside ? r[(c * rh + (size_t)si) * rw + (size_t)sj] : 0.0f;
            }
        }
    free(r);
    return EGCAM_OK;
}

egcam_status egcam_preprocess_image(egcam_ctx *ctx, const egcam_image *image,
                                    const egcam_preprocess *p, egcam_tensor **out)
{
    if (out) /* even without a ctx, a failed call leaves no output */
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_preprocess_image: out is NULL");
    egcam_status st = egcam__check_image(ctx, image, "the image");
    if (st != EGCAM_OK)
        return st;
    /* Settings are read only after the image is known to be sane, since the
     * default channel count comes from it (RGBA counts as RGB). */
    uint32_t channels = p && p->channels ? p->channels : image->channels == 1 ? 1 : 3;
    if ((st = check_settings(ctx, p, channels)) != EGCAM_OK)
        return st;
    size_t oh = p->height ? p->height : image->height, ow = p->width ? p->width : image->width;
    size_t rh = 0, rw = 0; /* with p->resize: the resized image, before the crop */
    if (p->resize && (st = resized_size(ctx, image, p->resize, &rh, &rw)) != EGCAM_OK)
        return st;
    if (p->resize && (!p->height || !p->width)) { /* no crop: the resized image */
        oh = rh;
        ow = rw;
    }

    const int64_t shape[3] = {channels, (int64_t)oh, (int64_t)ow};
    egcam_tensor *t = egcam__tensor_new(shape, 3);
    if (!t)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for a %zux%zu input", oh, ow);
    float *x = (float *)t->data;
    if (p->resize && p->height && p->width) {
        if ((st = resize_and_crop(ctx, image, channels, rh, rw, oh, ow, x)) != EGCAM_OK) {
            egcam_tensor_free(t);
            return st;
        }
    } else if (egcam__image_planes(image, channels, oh, ow, x) != EGCAM_OK) {
        egcam_tensor_free(t);
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory while resizing the image");
    }
    /* Resizing is linear, so dividing by 255 after it equals ToTensor before. */
    size_t n = oh * ow;
    for (size_t c = 0; c < channels; c++) {
        double mean = p->mean[c], std = p->std[c];
        for (size_t i = 0; i < n; i++)
            x[c * n + i] = (float)(((double)x[c * n + i] / 255.0 - mean) / std);
    }
    *out = t;
    return EGCAM_OK;
}
