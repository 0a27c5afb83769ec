/*
 * engine.c - the one gradient engine behind every method.
 *
 * An explanation runs a plan (plan.c): take the plan's gradient points in
 * batches, forwarding each batch for backward and pulling the target's
 * gradient back to the layer, and accumulate the gradient term
 *
 *     R += weight_n * (A(top_n) - A(ref_n)) (.) G(z_n)    (path methods)
 *     R += weight_n * G(z_n)                               (Grad-CAM)
 *
 * then pool R into channel weights. A(x) makes the final map and the
 * logits of x pick the target: they come from a forward of x of their own,
 * or, when the plan's point is x itself (Grad-CAM), from that point's
 * forward, so that Grad-CAM costs one forward and one backward. Memory is a
 * batch of inputs and activations plus one accumulator: it does not grow
 * with the number of samples.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

typedef struct engine {
    egcam_ctx *ctx;
    egcam_backend *be;
    const egcam_config *cfg;
    const float *x;
    egcam__shape in;
    egcam__dims dims;
    const egcam_refset *refs; /* the plan's set, or `own` */
    egcam_refset *own;        /* built-in references made for this call */
    egcam__plan plan;
    size_t batch;
    int32_t target;
    double logit;
    float *acts_x;          /* A(x) */
    float *seed;            /* batch rows, each the seed over the logits */
    float *top;             /* batch rows of x + eps (noisy plans) */
    float *points;          /* batch rows of z */
    float *acts_top;        /* batch rows of A(x + eps) (noisy difference) */
    egcam__sample *samples; /* batch */
    double *acc;            /* the gradient term R, K x h x w */
    int gradient_seen;      /* some gradient entry was not 0 */
} engine;

/* Whether n gradient entries hold anything but zeros. Scanned only until
 * the first non-zero entry of an explanation, so it costs next to nothing
 * on a layer the target depends on. */
static int any_nonzero(const float *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (g[i] != 0.0f)
            return 1;
    return 0;
}

static void engine_free(engine *e)
{
    egcam_refset_free(e->own);
    free(e->acts_x);
    free(e->seed);
    free(e->top);
    free(e->points);
    free(e->acts_top);
    free(e->samples);
    free(e->acc);
}

/* The seed over the logits and the value it explains at x. */
static egcam_status choose_target(engine *e, const float *logits)
{
    const egcam_config *cfg = e->cfg;
    size_t classes = e->dims.classes;
    e->seed = egcam__alloc_array(egcam__count(e->batch, classes), sizeof *e->seed);
    if (!e->seed)
        return egcam__fail(e->ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the seed");
    float *row = e->seed;
    if (cfg->target_weights) {
        if (cfg->target_weights_count != classes)
            return egcam__fail(e->ctx, EGCAM_E_SHAPE_MISMATCH,
                               "config.target_weights has %u entries; the model has %zu logits",
                               cfg->target_weights_count, classes);
        memcpy(row, cfg->target_weights, classes * sizeof *row);
        e->target = -1;
    } else {
        size_t top = 0;
        for (size_t j = 1; j < classes; j++)
            top = logits[j] > logits[top] ? j : top;
        if (cfg->target_class >= 0 && (size_t)cfg->target_class >= classes)
            return egcam__fail(e->ctx, EGCAM_E_CLASS_OUT_OF_RANGE,
                               "config.target_class is %d; the model has %zu logits (0 to %zu)",
                               cfg->target_class, classes, classes - 1);
        e->target = cfg->target_class >= 0 ? cfg->target_class : (int32_t)top;
        memset(row, 0, classes * sizeof *row);
        row[e->target] = 1.0f;
    }
    e->logit = 0.0;
    for (size_t j = 0; j < classes; j++)
        e->logit += (double)row[j] * logits[j];
    for (size_t r = 1; r < e->batch; r++)
        memcpy(e->seed + r * classes, row, classes * sizeof *row);
    return EGCAM_OK;
}

/* What x's forward gives, from whichever forward made it: A(x) kept, the
 * accumulator made, the target chosen. */
static egcam_status take_input(engine *e, const float *acts, const float *logits)
{
    size_t act_size = egcam__shape_size(e->dims.act);
    egcam_status st;
    if ((st = egcam__check_finite(e->ctx, logits, e->dims.classes,
                                  "the model's logits for the input")) != EGCAM_OK ||
        (st = egcam__check_finite(e->ctx, acts, act_size,
                                  "the layer's activations for the input")) != EGCAM_OK)
        return st;
    e->acts_x = egcam__alloc_array(act_size, sizeof *e->acts_x);
    e->acc = egcam__calloc(act_size, sizeof *e->acc);
    if (!e->acts_x || !e->acc)
        return egcam__fail(e->ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the activations");
    memcpy(e->acts_x, acts, act_size * sizeof *e->acts_x);
    return choose_target(e, logits);
}

/* The input's own forward, for plans whose points are elsewhere. */
static egcam_status forward_input(engine *e)
{
    egcam__forward_out fw;
    egcam_status st = egcam__forward(e->ctx, e->be, e->x, 1, e->in, 0, &e->dims, &fw);
    return st != EGCAM_OK ? st : take_input(e, fw.acts, fw.logits);
}

/* The references: none, the caller's, or the built-in ones made now. */
static egcam_status prepare_references(engine *e)
{
    if (e->plan.references == EGCAM__REFS_NONE)
        return EGCAM_OK;
    if (e->plan.references == EGCAM__REFS_BUILTIN) {
        egcam_status st = egcam__refset_builtin(e->ctx, e->be, e->cfg, e->x, e->in, &e->own);
        if (st != EGCAM_OK)
            return st;
        e->refs = e->own;
    } else {
        e->refs = e->plan.refs;
    }
    const egcam__dims *d = &e->refs->dims;
    if (d->act.c != e->dims.act.c || d->act.h != e->dims.act.h || d->act.w != e->dims.act.w)
        return egcam__fail(e->ctx, EGCAM_E_BACKEND,
                           "backend '%s' gave the references activations [%zu,%zu,%zu] and the "
                           "input [%zu,%zu,%zu]",
                           e->be->ops.name, d->act.c, d->act.h, d->act.w, e->dims.act.c,
                           e->dims.act.h, e->dims.act.w);
    if (d->classes != e->dims.classes)
        return egcam__fail(e->ctx, EGCAM_E_BACKEND,
                           "backend '%s' gave the references %zu logits and the input %zu "
                           "(activations [%zu,%zu,%zu] for both)",
                           e->be->ops.name, d->classes, e->dims.classes, d->act.c, d->act.h,
                           d->act.w);
    return EGCAM_OK;
}

static egcam_status alloc_batch(engine *e)
{
    size_t in_size = egcam__shape_size(e->in), act_size = egcam__shape_size(e->dims.act);
    e->points = egcam__alloc_array(egcam__count(e->batch, in_size), sizeof *e->points);
    e->samples = egcam__alloc_array(e->batch, sizeof *e->samples);
    if (e->plan.noisy)
        e->top = egcam__alloc_array(egcam__count(e->batch, in_size), sizeof *e->top);
    if (e->plan.noisy_diff)
        e->acts_top = egcam__alloc_array(egcam__count(e->batch, act_size), sizeof *e->acts_top);
    if (!e->points || !e->samples || (e->plan.noisy && !e->top) ||
        (e->plan.noisy_diff && !e->acts_top))
        return egcam__fail(e->ctx, EGCAM_E_OUT_OF_MEMORY,
                           "out of memory for a batch of %zu inputs; try a smaller batch_size",
                           e->batch);
    return EGCAM_OK;
}

/* Fill rows of z_i = ref_i + alpha_i (top_i - ref_i), with top_i = x, or
 * x + eps_i in e->top for noisy plans; z = x when the point is the input. */
static void assemble_points(engine *e, size_t rows)
{
    size_t n = egcam__shape_size(e->in);
    for (size_t i = 0; i < rows; i++) {
        egcam__sample *s = &e->samples[i];
        float *z = e->points + i * n;
        if (e->plan.point_at_input) {
            memcpy(z, e->x, n * sizeof *z);
            continue;
        }
        const float *ref = e->refs->inputs + (size_t)s->ref * n;
        const float *top = e->x;
        if (e->plan.noisy) {
            float *noisy = e->top + i * n;
            for (size_t j = 0; j < n; j++)
                noisy[j] = (float)((double)e->x[j] + e->plan.sigma * egcam__rng_normal(&s->noise));
            top = noisy;
        }
        for (size_t j = 0; j < n; j++)
            z[j] = (float)((double)ref[j] + s->alpha * ((double)top[j] - (double)ref[j]));
    }
}

/* R += weight_i * (A(top_i) - A(ref_i)) (.) G(z_i), or weight_i * G(z_i),
 * in sample order, so the sum does not depend on the batch size. */
static void accumulate(engine *e, size_t rows, const float *grad)
{
    size_t act_size = egcam__shape_size(e->dims.act);
    if (!e->gradient_seen)
        e->gradient_seen = any_nonzero(grad, rows * act_size);
    for (size_t i = 0; i < rows; i++) {
        const egcam__sample *s = &e->samples[i];
        const float *g = grad + i * act_size;
        if (!e->plan.difference) {
            for (size_t j = 0; j < act_size; j++)
                e->acc[j] += s->weight * (double)g[j];
            continue;
        }
        const float *a_top = e->plan.noisy_diff ? e->acts_top + i * act_size : e->acts_x;
        const float *a_ref = e->refs->acts + (size_t)s->ref * act_size;
        for (size_t j = 0; j < act_size; j++)
            e->acc[j] += s->weight * ((double)a_top[j] - (double)a_ref[j]) * (double)g[j];
    }
}

/* One batch of rows from sample `done` on: its points forwarded (and
 * A(x + eps) first, for a noisy difference), their gradients pulled back
 * and accumulated. A point at the input also gives x's activations and
 * logits, before the backward needs the target. */
static egcam_status run_batch(engine *e, uint64_t done, size_t rows)
{
    size_t act_size = egcam__shape_size(e->dims.act);
    for (size_t i = 0; i < rows; i++)
        egcam__plan_sample(&e->plan, done + i, &e->samples[i]);
    assemble_points(e, rows);
    egcam__forward_out fw;
    egcam_status st;
    if (e->plan.noisy_diff) { /* A(x + eps): activations only */
        if ((st = egcam__forward(e->ctx, e->be, e->top, rows, e->in, 0, &e->dims, &fw)) != EGCAM_OK)
            return st;
        memcpy(e->acts_top, fw.acts, rows * act_size * sizeof *e->acts_top);
    }
    if ((st = egcam__forward(e->ctx, e->be, e->points, rows, e->in, EGCAM_FORWARD_FOR_BACKWARD,
                             &e->dims, &fw)) != EGCAM_OK)
        return st;
    if (e->plan.point_at_input && done == 0 && (st = take_input(e, fw.acts, fw.logits)) != EGCAM_OK)
        return st;
    const float *grad;
    if ((st = egcam__backward(e->ctx, e->be, e->seed, rows, &e->dims, &grad)) != EGCAM_OK)
        return st;
    accumulate(e, rows, grad);
    return EGCAM_OK;
}

static egcam_status run_plan(engine *e)
{
    egcam_status st = EGCAM_OK;
    if (!e->plan.point_at_input && (st = forward_input(e)) == EGCAM_OK)
        st = prepare_references(e);
    /* The layer's shape is known here whenever a buffer needs it: only a
     * noisy difference keeps activations per row, and its plan forwards x
     * first. */
    if (st == EGCAM_OK)
        st = alloc_batch(e);
    for (uint64_t done = 0; st == EGCAM_OK && done < e->plan.count;) {
        size_t rows = e->plan.count - done < e->batch ? (size_t)(e->plan.count - done) : e->batch;
        if ((st = run_batch(e, done, rows)) != EGCAM_OK)
            break;
        done += rows;
        st = egcam__progress(e->ctx, done, e->plan.count);
    }
    return st;
}

/* Hand the gradient term and A(x) over to a result, and combine them. */
static egcam_status finish(engine *e, egcam_result **out)
{
    egcam__shape a = e->dims.act;
    size_t area = a.h * a.w;
    if (a.c > UINT32_MAX || a.h > UINT32_MAX || a.w > UINT32_MAX)
        return egcam__fail(e->ctx, EGCAM_E_BACKEND, "the layer's activations are too large");
    egcam_result *res = egcam__result_new((uint32_t)a.c, (uint32_t)a.h, (uint32_t)a.w,
                                          (uint32_t)e->in.h, (uint32_t)e->in.w);
    if (!res)
        return egcam__fail(e->ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the result");
    /* The attribution: the term itself for the path methods; for Grad-CAM
     * A(x) (.) G(x), whose sum is the first-order one. */
    double total = 0.0;
    for (size_t j = 0; j < a.c * area; j++)
        total += e->plan.difference ? e->acc[j] : e->acc[j] * e->acts_x[j];
    res->term = e->acc;
    res->acts = e->acts_x;
    e->acc = NULL;
    e->acts_x = NULL;
    res->term_is_attribution = e->plan.difference;
    res->target = e->target;
    res->flags = e->gradient_seen ? 0 : EGCAM_RESULT_ZERO_GRADIENT;
    res->logit = e->logit;
    res->completeness = total;
    egcam_status st = EGCAM_OK;
    if (total - total != 0.0) /* NaN or infinity */
        st = egcam__fail(e->ctx, EGCAM_E_NON_FINITE,
                         "the attribution is not finite: backend '%s' returned gradients "
                         "or activations holding NaN or infinity, or they overflowed",
                         e->be->ops.name);
    if (st == EGCAM_OK)
        st = egcam__combine(e->ctx, res, e->cfg->combiner);
    if (st != EGCAM_OK) {
        egcam_result_free(res);
        return st;
    }
    *out = res;
    return EGCAM_OK;
}

static egcam_status check_arguments(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                                    const egcam_tensor *input, egcam__shape *shape)
{
    if (!be)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain: backend is NULL");
    if (!cfg)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain: cfg is NULL");
    egcam_status st = egcam__check_config(ctx, cfg);
    if (st != EGCAM_OK)
        return st;
    size_t count;
    if ((st = egcam__check_batch(ctx, input, "the input", 1, &count, shape)) != EGCAM_OK)
        return st;
    if (count != 1)
        return egcam__fail(ctx, EGCAM_E_SHAPE_MISMATCH,
                           "the input holds %zu images; egcam_explain takes one", count);
    if (shape->h > UINT32_MAX || shape->w > UINT32_MAX)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "the input is too large");
    return egcam__check_finite(ctx, input->data, egcam__shape_size(*shape), "the input");
}

egcam_status egcam_explain(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                           const egcam_tensor *input, const egcam_refset *refs, egcam_result **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain: out is NULL");
    engine e = {.ctx = ctx, .be = be, .cfg = cfg};
    egcam_status st = check_arguments(ctx, be, cfg, input, &e.in);
    if (st != EGCAM_OK)
        return st;
    e.x = input->data;
    float x_min, x_max;
    egcam__minmax(e.x, egcam__shape_size(e.in), &x_min, &x_max);
    if ((st = egcam__plan_make(ctx, cfg, e.in, x_min, x_max, be, refs, &e.plan)) != EGCAM_OK)
        return st;
    e.batch = e.plan.count < cfg->batch_size ? (size_t)e.plan.count : cfg->batch_size;

    int entered;
    if ((st = egcam__backend_enter(ctx, be, "egcam_explain", &entered)) != EGCAM_OK)
        return st;
    st = run_plan(&e);
    if (st == EGCAM_OK)
        st = finish(&e, out);
    engine_free(&e);
    egcam__backend_leave(be, entered);
    return st;
}
