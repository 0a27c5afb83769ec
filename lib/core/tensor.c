/* tensor.c - checks of caller tensors. */
#include <math.h>

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
