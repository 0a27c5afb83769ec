/*
 * objects.c - the images libegcam-image hands out: made here, freed here.
 * Each is one block, the struct followed by its pixels, marked
 * EGCAM__OWNED_MARK in `reserved`; egcam_image_free() given anything else
 * (an image the caller made, a copy of one of ours) leaves it alone. The
 * tensors are made the same way by lib/core/tensor.c.
 */
#include <stdlib.h>
#include <string.h>

#include "image.h"

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
    if (bytes > SIZE_MAX - EGCAM__BLOCK_HEAD(egcam_image))
        return NULL;
    egcam_image *img = egcam__calloc(1, EGCAM__BLOCK_HEAD(egcam_image) + bytes);
    if (!img)
        return NULL;
    img->pixels = (uint8_t *)img + EGCAM__BLOCK_HEAD(egcam_image);
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
    egcam_image *small = egcam__realloc(img, EGCAM__BLOCK_HEAD(egcam_image) + bytes);
    if (!small)
        return img;
    small->pixels = (uint8_t *)small + EGCAM__BLOCK_HEAD(egcam_image);
    return small;
}

static int owned_image(const egcam_image *img)
{
    return img->reserved == EGCAM__OWNED_MARK &&
           img->pixels == (const uint8_t *)img + EGCAM__BLOCK_HEAD(egcam_image);
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
