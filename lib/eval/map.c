/*
 * map.c - the metrics of a map alone, with no model: complexity (the
 * entropy of the map as a distribution) and the pointing games. Like every
 * metric they take the context first and report bad input with a status
 * and a message.
 */
#include <math.h>

#include "eval.h"

/* A map of height x width values, each finite and >= 0; its sum. */
static egcam_status check_map(egcam_ctx *ctx, const char *fn, const float *map, uint32_t height,
                              uint32_t width, double *sum)
{
    if (!map)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: map is NULL", fn);
    if (!height || !width)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "%s: the map is %u x %u", fn, height, width);
    size_t n = egcam__count(height, width);
    if (!n)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "%s: the map is too large", fn);
    *sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(map[i]))
            return egcam__fail(ctx, EGCAM_E_NON_FINITE, "%s: map value %zu is %g", fn, i,
                               (double)map[i]);
        if (map[i] < 0.0f)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                               "%s: map value %zu is %g; the map must be >= 0 (ReLU'd)", fn, i,
                               (double)map[i]);
        *sum += map[i];
    }
    return EGCAM_OK;
}

egcam_status egcam_eval_complexity(egcam_ctx *ctx, const float *map, uint32_t height,
                                   uint32_t width, double *complexity)
{
    static const char fn[] = "egcam_eval_complexity";
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!complexity)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: complexity is NULL", fn);
    double sum;
    egcam_status st = check_map(ctx, fn, map, height, width, &sum);
    if (st != EGCAM_OK)
        return st;
    double h = sum > 0.0 ? 0.0 : NAN; /* an all-zero map is no distribution */
    size_t n = (size_t)height * width;
    for (size_t i = 0; sum > 0.0 && i < n; i++)
        if (map[i] > 0.0f) { /* 0 log 0 = 0 */
            double p = (double)map[i] / sum;
            h -= p * log(p);
        }
    *complexity = h;
    return EGCAM_OK;
}

egcam_status egcam_eval_pointing(egcam_ctx *ctx, const float *map, uint32_t height, uint32_t width,
                                 const uint32_t box[4], int *hit, double *energy)
{
    static const char fn[] = "egcam_eval_pointing";
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!box || !hit || !energy)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: %s is NULL", fn,
                           !box   ? "box"
                           : !hit ? "hit"
                                  : "energy");
    double total;
    egcam_status st = check_map(ctx, fn, map, height, width, &total);
    if (st != EGCAM_OK)
        return st;
    uint32_t x0 = box[0], y0 = box[1], x1 = box[2], y1 = box[3];
    if (x0 > x1 || y0 > y1 || x1 > width || y1 > height)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "%s: the box {%u, %u, %u, %u} is inverted or outside the %u x %u map",
                           fn, x0, y0, x1, y1, height, width);
    if (x0 == x1 || y0 == y1)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "%s: the box {%u, %u, %u, %u} is empty", fn, x0, y0,
                           x1, y1);
    size_t n = (size_t)height * width, top = 0;
    for (size_t i = 1; i < n; i++)
        top = map[i] > map[top] ? i : top;
    double inside = 0.0;
    for (size_t y = y0; y < y1; y++)
        for (size_t x = x0; x < x1; x++)
            inside += map[y * width + x];
    size_t ty = top / width, tx = top % width;
    *hit = tx >= x0 && tx < x1 && ty >= y0 && ty < y1;
    *energy = total > 0.0 ? inside / total : NAN;
    return EGCAM_OK;
}
