/*
 * tensor.c - tensors: the checks of a caller's, and the ones the libraries
 * hand out (egcam_tensor_new, the .npy reader, preprocessing). Each of
 * those is one block, the struct followed by its data, marked
 * EGCAM__OWNED_MARK in `reserved`; egcam_tensor_free() given anything else
 * (a tensor the caller made, a copy of one of ours) leaves it alone.
 */
#include <math.h>
#include <stdlib.h>

#include "core.h"

egcam_status egcam__check_batch(egcam_ctx *ctx, const egcam_tensor *t, const char *what,
                                int allow_single, size_t *count, egcam__shape *item)
{
    if (!t)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s is NULL", what);
    if (!t->data)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s has NULL data", what);
    if (!egcam__reserved_ok(t->reserved))
        return egcam__fail(ctx, EGCAM_E_STRUCT_SIZE, "%s: reserved field is not 0", what);
    if (t->ndim != 4 && !(allow_single && t->ndim == 3))
        return egcam__fail(ctx, EGCAM_E_SHAPE_MISMATCH, "%s has %u dimensions; expected %s", what,
                           t->ndim, allow_single ? "[C,H,W] or [1,C,H,W]" : "[N,C,H,W]");
    size_t total = 1;
    for (uint32_t i = 0; i < t->ndim; i++) {
        if (t->shape[i] <= 0)
            return egcam__fail(ctx, EGCAM_E_EMPTY, "%s: dimension %u is %lld", what, i,
                               (long long)t->shape[i]);
        if ((uint64_t)t->shape[i] > EGCAM__MAX_ELEMENTS / total)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "%s is too large", what);
        total *= (size_t)t->shape[i];
    }
    const int64_t *s = t->ndim == 4 ? t->shape + 1 : t->shape;
    *count = t->ndim == 4 ? (size_t)t->shape[0] : 1;
    item->c = (size_t)s[0];
    item->h = (size_t)s[1];
    item->w = (size_t)s[2];
    return EGCAM_OK;
}

egcam_status egcam__check_finite(egcam_ctx *ctx, const float *v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return egcam__fail(ctx, EGCAM_E_NON_FINITE, "%s holds %s at element %zu", what,
                               isnan(v[i]) ? "NaN" : "infinity", i);
    return EGCAM_OK;
}

void egcam__minmax(const float *v, size_t n, float *min, float *max)
{
    float lo = v[0], hi = v[0];
    for (size_t i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    *min = lo;
    *max = hi;
}

/* ---- the tensors the libraries hand out ---------------------------------------- */

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
    if (count > (SIZE_MAX - EGCAM__BLOCK_HEAD(egcam_tensor)) / sizeof(float))
        return NULL;
    egcam_tensor *t =
        egcam__calloc(1, EGCAM__BLOCK_HEAD(egcam_tensor) + (size_t)count * sizeof(float));
    if (!t)
        return NULL;
    t->data = (const float *)(const void *)((char *)t + EGCAM__BLOCK_HEAD(egcam_tensor));
    for (uint32_t i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->ndim = ndim;
    t->reserved = EGCAM__OWNED_MARK;
    return t;
}

static int owned_tensor(const egcam_tensor *t)
{
    return t->reserved == EGCAM__OWNED_MARK &&
           t->data ==
               (const float *)(const void *)((const char *)t + EGCAM__BLOCK_HEAD(egcam_tensor));
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
