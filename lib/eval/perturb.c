/*
 * eval_perturb.c - the metrics of random perturbations (Yeh et al. 2019),
 * as Captum computes them: infidelity with normalize=True, and
 * sensitivity_max with its uniform L-infinity ball and Frobenius norm.
 * Perturbation n draws from its own stream (seed, purpose, n), so neither
 * the batch size nor the order of the batches changes a number.
 */
#include <math.h>
#include <string.h>

#include "eval.h"

/* Row j of the infidelity batch: x for j = 0, else x - I_{j-1}; returns
 * <I, a> with I the perturbation as applied (x minus the rounded row). */
static double perturb_row(const egcam__eval_input *in, const float *map, uint64_t seed,
                          double sigma, uint64_t j, float *row)
{
    if (j == 0) {
        memcpy(row, in->x, in->size * sizeof *row);
        return 0.0;
    }
    egcam__rng rng;
    egcam__rng_init(&rng, seed, EGCAM__STREAM_EVAL_NOISE, j - 1);
    double dot = 0.0;
    for (size_t c = 0; c < in->shape.c; c++)
        for (size_t p = 0; p < in->area; p++) {
            size_t e = c * in->area + p;
            row[e] = (float)((double)in->x[e] - sigma * egcam__rng_normal(&rng));
            dot += ((double)in->x[e] - (double)row[e]) * (double)map[p];
        }
    return dot;
}

egcam_status egcam_eval_infidelity(egcam_ctx *ctx, egcam_backend *be, const egcam_tensor *input,
                                   const float *map, int32_t target_class,
                                   const egcam_eval_options *opts, double *infidelity)
{
    static const char fn[] = "egcam_eval_infidelity";
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!infidelity)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: infidelity is NULL", fn);
    egcam_status st = egcam__eval_check_options(ctx, opts);
    egcam__eval_input in;
    if (st != EGCAM_OK ||
        (st = egcam__eval_check(ctx, fn, be, input, map, target_class, &in)) != EGCAM_OK)
        return st;

    uint64_t n_pert = opts->perturbations, points = n_pert + 1; /* x, then x - I_n */
    size_t batch = points < opts->batch_size ? (size_t)points : opts->batch_size;
    float *rows = egcam__alloc_array(egcam__count(batch, in.size), sizeof *rows);
    double *scores = egcam__alloc_array(batch, sizeof *scores);
    double *dots = egcam__alloc_array(egcam__count(n_pert, 2), sizeof *dots); /* <I_n, a> */
    if (!rows || !scores || !dots) {
        free(rows);
        free(scores);
        free(dots);
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY,
                           "out of memory for %zu inputs of %zu floats; try a smaller "
                           "batch_size",
                           batch, in.size);
    }
    double *diffs = dots + n_pert; /* y(x) - y(x - I_n) */
    float lo, hi;
    egcam__minmax(in.x, in.size, &lo, &hi);
    double sigma = (double)opts->infidelity_sigma * ((double)hi - (double)lo);
    egcam__dims dims = {0};
    double y_x = 0.0;
    for (uint64_t j = 0; j < points;) {
        size_t count = points - j < batch ? (size_t)(points - j) : batch;
        for (size_t r = 0; r < count; r++) {
            double dot = perturb_row(&in, map, opts->seed, sigma, j + r, rows + r * in.size);
            if (j + r > 0)
                dots[j + r - 1] = dot;
        }
        st = egcam__eval_scores(ctx, be, rows, count, in.shape, &dims, target_class,
                                EGCAM__SCORE_LOGIT, scores);
        if (st != EGCAM_OK)
            break;
        for (size_t r = 0; r < count; r++) {
            if (j + r == 0)
                y_x = scores[0];
            else
                diffs[j + r - 1] = y_x - scores[r];
        }
        j += count;
    }
    if (st == EGCAM_OK) {
        /* beta as Captum's normalize=True: sum a*dy / sum a^2, through
         * safe_div (a zero denominator divides by 1 instead). The mean of
         * squared residuals is then summed directly, not by Captum's
         * expansion beta^2 A - 2 beta AB + B, which cancels to rounding
         * noise (or below zero) when the fit is exact. */
        double aa = 0.0, ab = 0.0, sq = 0.0;
        for (uint64_t n = 0; n < n_pert; n++) {
            aa += dots[n] * dots[n];
            ab += dots[n] * diffs[n];
        }
        double beta = aa != 0.0 ? ab / aa : ab;
        for (uint64_t n = 0; n < n_pert; n++) {
            double e = beta * dots[n] - diffs[n];
            sq += e * e;
        }
        double v = sq / (double)n_pert;
        if (isfinite(v))
            *infidelity = v;
        else
            st = egcam__fail(ctx, EGCAM_E_NON_FINITE,
                             "%s: the infidelity overflows (a map or logits too large)", fn);
    }
    free(rows);
    free(scores);
    free(dots);
    return st;
}

/* The top logit of x, for a config whose target is -1: every perturbed
 * input must explain the class of M(x), not its own top class. */
/* The class of rank -1 - *cls (EGCAM_TARGET_RANK) among x's logits, in *cls. */
static egcam_status class_of_rank(egcam_ctx *ctx, egcam_backend *be, const egcam__eval_input *in,
                                  int32_t *cls)
{
    egcam__dims dims = {0};
    egcam__forward_out fw;
    int entered;
    egcam_status st = egcam__backend_enter(ctx, be, "egcam_eval_sensitivity", &entered);
    if (st != EGCAM_OK)
        return st;
    st = egcam__forward(ctx, be, in->x, 1, in->shape, 0, &dims, &fw);
    if (st == EGCAM_OK)
        st = egcam__check_finite(ctx, fw.logits, dims.classes, "the model's logits for the input");
    if (st == EGCAM_OK && dims.classes > INT32_MAX)
        st = egcam__fail(ctx, EGCAM_E_BACKEND, "the model has too many logits");
    if (st == EGCAM_OK)
        st =
            egcam__class_of_rank(ctx, fw.logits, dims.classes, (uint64_t)(-(int64_t)*cls - 1), cls);
    egcam__backend_leave(be, entered);
    return st;
}

egcam_status egcam_eval_sensitivity(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                                    const egcam_tensor *input, const egcam_refset *refs,
                                    const float *map, const egcam_eval_options *opts,
                                    double *sensitivity)
{
    static const char fn[] = "egcam_eval_sensitivity";
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!sensitivity)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: sensitivity is NULL", fn);
    if (!cfg)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: cfg is NULL", fn);
    egcam_status st = egcam__check_config(ctx, cfg);
    egcam__eval_input in;
    if (st != EGCAM_OK || (st = egcam__eval_check_options(ctx, opts)) != EGCAM_OK ||
        (st = egcam__eval_check(ctx, fn, be, input, map, 0, &in)) != EGCAM_OK)
        return st;

    /* A config of this library's size: a newer caller's tail is all zero
     * (checked above), which means the defaults. */
    egcam_config local;
    memcpy(&local, cfg, sizeof local);
    local.struct_size = sizeof local;
    if (!cfg->target_weights && cfg->target_class < 0 &&
        (st = class_of_rank(ctx, be, &in, &local.target_class)) != EGCAM_OK)
        return st;

    float *z = egcam__alloc_array(in.size, sizeof *z);
    if (!z)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for a perturbed input");
    egcam_tensor t = {z, {(int64_t)in.shape.c, (int64_t)in.shape.h, (int64_t)in.shape.w}, 3, 0};
    double norm = 0.0, worst = 0.0, r = opts->sensitivity_radius;
    for (size_t p = 0; p < in.area; p++)
        norm += (double)map[p] * map[p];
    norm = sqrt(norm);
    for (uint64_t n = 0; n < opts->perturbations; n++) {
        egcam__rng rng;
        egcam__rng_init(&rng, opts->seed, EGCAM__STREAM_EVAL_BALL, n);
        for (size_t e = 0; e < in.size; e++)
            z[e] = (float)((double)in.x[e] + r * (2.0 * egcam__rng_uniform(&rng) - 1.0));
        egcam_result *res;
        if ((st = egcam_explain(ctx, be, &local, &t, refs, &res)) != EGCAM_OK)
            break;
        const float *m = egcam_result_map(res, EGCAM_MAP_INPUT, NULL, NULL);
        double d = 0.0;
        for (size_t p = 0; p < in.area; p++)
            d += ((double)m[p] - map[p]) * ((double)m[p] - map[p]);
        worst = sqrt(d) > worst ? sqrt(d) : worst;
        egcam_result_free(res);
    }
    free(z);
    if (st == EGCAM_OK)
        *sensitivity = worst / (norm > 0.0 ? norm : 1.0); /* Captum: 0 norms divide by 1 */
    return st;
}
