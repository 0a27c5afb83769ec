/*
 * objects.c - the images and tensors libegcam-image hands out: made here,
 * freed here. Each is one block, the struct followed by its data, marked
 * EGCAM__OWNED_MARK in `reserved`; a _free() that is given anything else
 * (a struct the caller made, a copy of one of ours) leaves it alone.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* Offset of the data in a block: after the struct, aligned for anything. */
#define HEAD(type)                                                                                 \
  ((sizeof(type) + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t))

/* ---- images ------------------------------------------------------------------ */

egcam_image *egcam__image_alloc(uint32_t width, uint32_t height, uint32_t channels, uint32_t room)
{
    if (width == 0 || height == 0 || room < channels)
        return NULL;
    if (channels != 1 && channels != 3 && channels != 4)
        return NULL;
    size_t bytes = (size_t)room;
    if ((size_t)width > SIZE_MAX / bytes)
        return NULL;
    bytes *= width;
    if ((size_t)height > SIZE_MAX / bytes)
        return NULL;
    bytes *= height;
    if (bytes > SIZE_MAX - HEAD(egcam_image))
        return NULL;
    egcam_image *img = egcam__calloc(1, HEAD(egcam_image) + bytes);
    if (!img)
        return NULL;
    img->pixels = (uint8_t *)img + HEAD(egcam_image);
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->reserved = EGCAM__OWNED_MARK;
    return img;
}

egcam_image *egcam__image_new(uint32_t width, uint32_t height, uint32_t channels)
{
    return egcam__image_alloc(width, height, channels, channels);
}

egcam_image *egcam__image_shrink(egcam_image *img)
{
    size_t bytes = (size_t)img->width * img->height * img->channels;
    egcam_image *small = egcam__realloc(img, HEAD(egcam_image) + bytes);
    if (!small)
        return img;
    small->pixels = (uint8_t *)small + HEAD(egcam_image);
    return small;
}

static int owned_image(const egcam_image *img)
{
    return img->reserved == EGCAM__OWNED_MARK &&
           img->pixels == (const uint8_t *)img + HEAD(egcam_image);
}

void egcam_image_free(egcam_image *image)
{
    if (image && owned_image(image))
        free(image);
}

egcam_status egcam_image_new(egcam_ctx *ctx, uint32_t width, uint32_t height, uint32_t channels,
                             egcam_image **out)
{
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_image_new: out is NULL");
    *out = NULL;
    if (!width || !height)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "egcam_image_new: %u x %u", width, height);
    if (channels != 1 && channels != 3 && channels != 4)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "egcam_image_new: %u channels; expected 1, 3 or 4", channels);
    if ((uint64_t)width * height > EGCAM_PNG_MAX_PIXELS)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "egcam_image_new: %u x %u is more than %llu pixels", width, height,
                           (unsigned long long)EGCAM_PNG_MAX_PIXELS);
    if (!(*out = egcam__image_new(width, height, channels)))
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "egcam_image_new: out of memory");
    return EGCAM_OK;
}

/* ---- tensors ------------------------------------------------------------------ */

egcam_tensor *egcam__tensor_new(const int64_t *shape, uint32_t ndim)
{
    if (!shape || ndim < 1 || ndim > 4)
        return NULL;
    uint64_t count = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        if (shape[i] <= 0 || (uint64_t)shape[i] > EGCAM__MAX_ELEMENTS / count)
            return NULL;
        count *= (uint64_t)shape[i];
    }
    if (count > (SIZE_MAX - HEAD(egcam_tensor)) / sizeof(float))
        return NULL;
    egcam_tensor *t = egcam__calloc(1, HEAD(egcam_tensor) + (size_t)count * sizeof(float));
    if (!t)
        return NULL;
    t->data = (const float *)(const void *)((char *)t + HEAD(egcam_tensor));
    for (uint32_t i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->ndim = ndim;
    t->reserved = EGCAM__OWNED_MARK;
    return t;
}

static int owned_tensor(const egcam_tensor *t)
{
    return t->reserved == EGCAM__OWNED_MARK &&
           t->data == (const float *)(const void *)((const char *)t + HEAD(egcam_tensor));
}

void egcam_tensor_free(egcam_tensor *tensor)
{
    if (tensor && owned_tensor(tensor))
        free(tensor);
}

egcam_status egcam_tensor_new(egcam_ctx *ctx, const int64_t *shape, uint32_t ndim,
                              egcam_tensor **out)
{
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out || !shape)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_tensor_new: %s is NULL",
                           out ? "shape" : "out");
    *out = NULL;
    if (ndim < 1 || ndim > 4)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "egcam_tensor_new: %u dimensions; expected 1 to 4", ndim);
    uint64_t count = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        if (shape[i] <= 0)
            return egcam__fail(ctx, EGCAM_E_EMPTY, "egcam_tensor_new: dimension %u is %lld", i,
                               (long long)shape[i]);
        if ((uint64_t)shape[i] > EGCAM__MAX_ELEMENTS / count)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                               "egcam_tensor_new: more than 2^40 elements");
        count *= (uint64_t)shape[i];
    }
    if (!(*out = egcam__tensor_new(shape, ndim)))
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY,
                           "egcam_tensor_new: out of memory for %llu floats",
                           (unsigned long long)count);
    return EGCAM_OK;
}
