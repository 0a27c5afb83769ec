/*
 * eval_map.c - the metrics of a map alone, with no model: complexity (the
 * entropy of the map as a distribution) and the pointing games.
 */
#include <math.h>

#include "eval.h"

double egcam_eval_complexity(const float *map, uint32_t height, uint32_t width)
{
    size_t n = egcam__count(height, width);
    if (!map || !n)
        return NAN;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(map[i]) || map[i] < 0.0f)
            return NAN;
        sum += map[i];
    }
    if (!(sum > 0.0))
        return NAN;
    double h = 0.0;
    for (size_t i = 0; i < n; i++)
        if (map[i] > 0.0f) { /* 0 log 0 = 0 */
            double p = (double)map[i] / sum;
            h -= p * log(p);
        }
    return h;
}

egcam_status egcam_eval_pointing(const float *map, uint32_t height, uint32_t width,
                                 const uint32_t box[4], int *hit, double *energy)
{
    if (!map || !box || !hit || !energy)
        return EGCAM_E_NULL_ARGUMENT;
    if (!height || !width)
        return EGCAM_E_EMPTY;
    size_t n = egcam__count(height, width);
    if (!n)
        return EGCAM_E_INVALID_ARGUMENT;
    uint32_t x0 = box[0], y0 = box[1], x1 = box[2], y1 = box[3];
    if (x0 > x1 || y0 > y1 || x1 > width || y1 > height)
        return EGCAM_E_INVALID_ARGUMENT;
    if (x0 == x1 || y0 == y1)
        return EGCAM_E_EMPTY;
    size_t top = 0;
    double total = 0.0, inside = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(map[i]))
            return EGCAM_E_NON_FINITE;
        if (map[i] < 0.0f)
            return EGCAM_E_INVALID_ARGUMENT;
        top = map[i] > map[top] ? i : top;
        total += map[i];
    }
    for (size_t y = y0; y < y1; y++)
        for (size_t x = x0; x < x1; x++)
            inside += map[y * width + x];
    size_t ty = top / width, tx = top % width;
    *hit = tx >= x0 && tx < x1 && ty >= y0 && ty < y1;
    *energy = total > 0.0 ? inside / total : NAN;
    return EGCAM_OK;
}
