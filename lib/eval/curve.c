/*
 * eval_curve.c - deletion and insertion curves (Petsiuk et al. 2018): rank
 * the pixels by the map, move them step by step between x and the fill,
 * score every step's input in batches, and integrate the curve.
 */
#include <string.h>

#include "eval.h"

typedef struct ranked {
    float value;
    size_t pixel;
} ranked;

/* Descending value, then ascending position: a total order, so the ranking
 * does not depend on the sort. */
static int by_rank(const void *a, const void *b)
{
    const ranked *p = a, *q = b;
    if (p->value != q->value)
        return p->value > q->value ? -1 : 1;
    return (p->pixel > q->pixel) - (p->pixel < q->pixel);
}

/* floor(k * area / steps) for k <= steps without overflow: with
 * area = q * steps + r, it is k * q + floor(k * r / steps), and k * r <
 * 2^32 * 2^32 fits in 64 bits. */
static uint64_t moved_after(uint64_t k, uint64_t area, uint64_t steps)
{
    return k * (area / steps) + k * (area % steps) / steps;
}

typedef struct curve_work {
    ranked *order;  /* area */
    float *fill;    /* C*H*W */
    float *current; /* C*H*W: the input after the steps so far */
    float *rows;    /* batch x C*H*W */
    double *scores; /* batch */
    float *curve;   /* steps + 1, when the caller wants the curve */
} curve_work;

static void curve_work_free(curve_work *w)
{
    free(w->order);
    free(w->fill);
    free(w->current);
    free(w->rows);
    free(w->scores);
    free(w->curve);
}

static egcam_status curve_work_alloc(egcam_ctx *ctx, curve_work *w, const egcam__eval_input *in,
                                     size_t batch, uint64_t points, int want_curve)
{
    w->order = egcam__alloc_array(in->area, sizeof *w->order);
    w->fill = egcam__alloc_array(in->size, sizeof *w->fill);
    w->current = egcam__alloc_array(in->size, sizeof *w->current);
    w->rows = egcam__alloc_array(egcam__count(batch, in->size), sizeof *w->rows);
    w->scores = egcam__alloc_array(batch, sizeof *w->scores);
    if (want_curve)
        w->curve = points <= SIZE_MAX ? egcam__alloc_array((size_t)points, sizeof *w->curve) : NULL;
    if (!w->order || !w->fill || !w->current || !w->rows || !w->scores || (want_curve && !w->curve))
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY,
                           "out of memory for %zu inputs of %zu floats; try a smaller "
                           "batch_size",
                           batch, in->size);
    return EGCAM_OK;
}

egcam_status egcam_eval_deletion(egcam_ctx *ctx, egcam_backend *be, const egcam_tensor *input,
                                 const float *map, int32_t target_class, uint32_t insertion,
                                 const egcam_eval_options *opts, double *auc, float *curve)
{
    static const char fn[] = "egcam_eval_deletion";
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!auc)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: auc is NULL", fn);
    if (insertion > 1)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "%s: insertion is %u; 0 for deletion, 1 for insertion", fn, insertion);
    egcam_status st = egcam__eval_check_options(ctx, opts);
    egcam__eval_input in;
    if (st != EGCAM_OK ||
        (st = egcam__eval_check(ctx, fn, be, input, map, target_class, &in)) != EGCAM_OK)
        return st;

    uint64_t steps = opts->steps, points = steps + 1;
    size_t batch = points < opts->batch_size ? (size_t)points : opts->batch_size;
    curve_work w = {0};
    if ((st = curve_work_alloc(ctx, &w, &in, batch, points, curve != NULL)) != EGCAM_OK ||
        (st = egcam__eval_fill(ctx, &in, opts->fill, w.fill)) != EGCAM_OK) {
        curve_work_free(&w);
        return st;
    }
    for (size_t p = 0; p < in.area; p++)
        w.order[p] = (ranked){map[p], p};
    qsort(w.order, in.area, sizeof *w.order, by_rank);

    /* Deletion moves ranked pixels from x to the fill, insertion from the
     * fill to x; the input after k steps is row k of the curve. */
    const float *to = insertion ? in.x : w.fill;
    memcpy(w.current, insertion ? w.fill : in.x, in.size * sizeof *w.current);
    egcam__dims dims = {0};
    uint64_t moved = 0;
    double prev = 0.0, sum = 0.0; /* trapezoids, times 2 * steps */
    for (uint64_t k = 0; k < points;) {
        size_t rows = points - k < batch ? (size_t)(points - k) : batch;
        for (size_t r = 0; r < rows; r++) {
            for (uint64_t n = moved_after(k + r, in.area, steps); moved < n; moved++) {
                size_t p = w.order[moved].pixel;
                for (size_t c = 0; c < in.shape.c; c++)
                    w.current[c * in.area + p] = to[c * in.area + p];
            }
            memcpy(w.rows + r * in.size, w.current, in.size * sizeof *w.rows);
        }
        st = egcam__eval_scores(ctx, be, w.rows, rows, in.shape, &dims, target_class,
                                EGCAM__SCORE_PROB, w.scores);
        if (st != EGCAM_OK)
            break;
        for (size_t r = 0; r < rows; r++) {
            double s = w.scores[r];
            if (k + r > 0)
                sum += prev + s;
            prev = s;
            if (w.curve)
                w.curve[k + r] = (float)s;
        }
        k += rows;
    }
    if (st == EGCAM_OK) {
        *auc = sum / (2.0 * (double)steps);
        if (curve)
            memcpy(curve, w.curve, (size_t)points * sizeof *curve);
    }
    curve_work_free(&w);
    return st;
}
