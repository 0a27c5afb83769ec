/*
 * eval.c - what the metrics of egcam_eval.h share: their options, the
 * checks of their arguments, scores from a batch of forward rows, the fill
 * of removed pixels; and the one-batch metric, the confidence drop.
 * Deletion/insertion are in eval_curve.c, infidelity and max-sensitivity in
 * eval_perturb.c, the map-only metrics in eval_map.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

egcam_status egcam_eval_options_init_sized(egcam_eval_options *opts, size_t size)
{
    egcam_status st = egcam__versioned_init(opts, size, sizeof *opts);
    if (st != EGCAM_OK)
        return st;
    opts->steps = 28;
    opts->fill = EGCAM_FILL_BLUR;
    opts->perturbations = 10;
    opts->batch_size = 16;
    opts->infidelity_sigma = 0.05f;
    opts->sensitivity_radius = 0.02f;
    opts->seed = 0x6567636dull; /* "egcm", as egcam_config's */
    return EGCAM_OK;
}

egcam_status egcam__eval_check_options(egcam_ctx *ctx, const egcam_eval_options *opts)
{
    if (!opts)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "the evaluation options are NULL");
    egcam_status st =
        egcam__versioned_check(ctx, opts, sizeof *opts, "eval options", "egcam_eval_options_init",
                               !egcam__all_zero(opts->reserved, sizeof opts->reserved));
    if (st != EGCAM_OK)
        return st;
    if (!opts->steps)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "eval options.steps is 0");
    if (!opts->perturbations)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "eval options.perturbations is 0");
    if (!opts->batch_size)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "eval options.batch_size is 0");
    if (opts->fill < EGCAM_FILL_BLUR || opts->fill > EGCAM_FILL_MEAN)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "eval options.fill is %u; expected an EGCAM_FILL_* value (1-3)",
                           opts->fill);
    if (!isfinite(opts->infidelity_sigma) || !isfinite(opts->sensitivity_radius))
        return egcam__fail(ctx, EGCAM_E_NON_FINITE, "eval options.%s is not finite",
                           isfinite(opts->infidelity_sigma) ? "sensitivity_radius"
                                                            : "infidelity_sigma");
    if (opts->infidelity_sigma < 0.0f || opts->sensitivity_radius < 0.0f)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "eval options.%s is %g; must be >= 0",
                           opts->infidelity_sigma < 0.0f ? "infidelity_sigma"
                                                         : "sensitivity_radius",
                           (double)(opts->infidelity_sigma < 0.0f ? opts->infidelity_sigma
                                                                  : opts->sensitivity_radius));
    return EGCAM_OK;
}

egcam_status egcam__eval_check(egcam_ctx *ctx, const char *fn, const egcam_backend *be,
                               const egcam_tensor *input, const float *map, int32_t target,
                               egcam__eval_input *in)
{
    if (!be)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: backend is NULL", fn);
    size_t count;
    egcam_status st = egcam__check_batch(ctx, input, "the input", 1, &count, &in->shape);
    if (st != EGCAM_OK)
        return st;
    if (count != 1)
        return egcam__fail(ctx, EGCAM_E_SHAPE_MISMATCH, "the input holds %zu images; %s takes one",
                           count, fn);
    if (in->shape.h > UINT32_MAX || in->shape.w > UINT32_MAX)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "the input is too large");
    in->x = input->data;
    in->size = egcam__shape_size(in->shape);
    in->area = in->shape.h * in->shape.w;
    if ((st = egcam__check_finite(ctx, in->x, in->size, "the input")) != EGCAM_OK)
        return st;
    if (!map)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: map is NULL", fn);
    if ((st = egcam__check_finite(ctx, map, in->area, "the map")) != EGCAM_OK)
        return st;
    if (target < 0)
        return egcam__fail(ctx, EGCAM_E_CLASS_OUT_OF_RANGE,
                           "%s: target_class is %d; the class the map explains (>= 0)", fn, target);
    return EGCAM_OK;
}

static egcam_status forward_scores(egcam_ctx *ctx, egcam_backend *be, const float *inputs,
                                   size_t rows, egcam__shape shape, egcam__dims *dims,
                                   int32_t target, int kind, double *scores)
{
    egcam__forward_out fw;
    egcam_status st = egcam__forward(ctx, be, inputs, rows, shape, 0, dims, &fw);
    if (st != EGCAM_OK)
        return st;
    size_t classes = dims->classes;
    if ((size_t)target >= classes)
        return egcam__fail(ctx, EGCAM_E_CLASS_OUT_OF_RANGE,
                           "target_class is %d; the model has %zu logits (0 to %zu)", target,
                           classes, classes - 1);
    if ((st = egcam__check_finite(ctx, fw.logits, rows * classes, "the model's logits")) !=
        EGCAM_OK)
        return st;
    for (size_t r = 0; r < rows; r++) {
        const float *z = fw.logits + r * classes;
        if (kind == EGCAM__SCORE_LOGIT) {
            scores[r] = z[target];
            continue;
        }
        /* p_t = 1 / sum_j exp(z_j - z_t), with the largest logit taken out
         * so that no exponential overflows: exp(z_j - m) <= 1. */
        double m = z[0];
        for (size_t j = 1; j < classes; j++)
            m = z[j] > m ? z[j] : m;
        double sum = 0.0;
        for (size_t j = 0; j < classes; j++)
            sum += exp((double)z[j] - m);
        scores[r] = exp((double)z[target] - m) / sum; /* sum >= 1: the max term */
    }
    return EGCAM_OK;
}

egcam_status egcam__eval_scores(egcam_ctx *ctx, egcam_backend *be, const float *inputs, size_t rows,
                                egcam__shape shape, egcam__dims *dims, int32_t target, int kind,
                                double *scores)
{
    /* The logits are read before the backend is left: a metric holds no
     * view of the backend's memory from one forward to the next. */
    int entered;
    egcam_status st = egcam__backend_enter(ctx, be, "a metric", &entered);
    if (st != EGCAM_OK)
        return st;
    st = forward_scores(ctx, be, inputs, rows, shape, dims, target, kind, scores);
    egcam__backend_leave(be, entered);
    return st;
}

egcam_status egcam__eval_fill(egcam_ctx *ctx, const egcam__eval_input *in, uint32_t fill,
                              float *out)
{
    size_t area = in->area;
    switch (fill) {
    case EGCAM_FILL_ZEROS: memset(out, 0, in->size * sizeof *out); return EGCAM_OK;
    case EGCAM_FILL_MEAN:
        for (size_t c = 0; c < in->shape.c; c++) {
            const float *x = in->x + c * area;
            double sum = 0.0;
            for (size_t p = 0; p < area; p++)
                sum += x[p];
            float mean = (float)(sum / (double)area);
            for (size_t p = 0; p < area; p++)
                out[c * area + p] = mean;
        }
        return EGCAM_OK;
    default: { /* EGCAM_FILL_BLUR, as EGCAM_REFERENCES_BLUR's default sigma */
        size_t side = in->shape.h < in->shape.w ? in->shape.h : in->shape.w;
        if (egcam__blur(in->x, out, in->shape, 0.1 * (double)side) != EGCAM_OK)
            return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the blur");
        return EGCAM_OK;
    }
    }
}

egcam_status egcam_eval_confidence(egcam_ctx *ctx, egcam_backend *be, const egcam_tensor *input,
                                   const float *map, int32_t target_class, double *drop,
                                   int *increase)
{
    static const char fn[] = "egcam_eval_confidence";
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!drop || !increase)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: %s is NULL", fn,
                           drop ? "increase" : "drop");
    egcam__eval_input in;
    egcam_status st = egcam__eval_check(ctx, fn, be, input, map, target_class, &in);
    if (st != EGCAM_OK)
        return st;
    /* Two rows, one call: x, then x (.) map. */
    float *rows = egcam__alloc_array(egcam__count(2, in.size), sizeof *rows);
    if (!rows)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for two inputs");
    memcpy(rows, in.x, in.size * sizeof *rows);
    float *masked = rows + in.size;
    for (size_t c = 0; c < in.shape.c; c++)
        for (size_t p = 0; p < in.area; p++)
            masked[c * in.area + p] = in.x[c * in.area + p] * map[p];
    egcam__dims dims = {0};
    double score[2];
    st = egcam__eval_scores(ctx, be, rows, 2, in.shape, &dims, target_class, EGCAM__SCORE_PROB,
                            score);
    free(rows);
    if (st != EGCAM_OK)
        return st;
    double y = score[0], o = score[1];
    *drop = y > 0.0 && y > o ? (y - o) / y : 0.0;
    *increase = o > y;
    return EGCAM_OK;
}
