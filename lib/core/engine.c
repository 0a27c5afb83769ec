/*
 * engine.c - the one gradient engine behind every method.
 *
 * An explanation is: forward the input x once (its activations A(x) make
 * the final map, its logits pick the target); take the plan's gradient
 * points in batches, forwarding each batch for backward and pulling the
 * target's gradient back to the layer; accumulate
 *
 *     acc += weight_n * (A(top_n) - A(ref_n)) (.) G(z_n)
 *
 * and pool acc into channel weights. Grad-CAM is the plan whose single
 * point is x itself, accumulated without a difference. Memory is a batch
 * of inputs and activations plus one accumulator: it does not grow with
 * the number of samples.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

typedef struct engine {
    egcam_ctx           *ctx;
    egcam_backend       *be;
    const egcam_config  *cfg;
    const float         *x;
    egcam__shape         in;
    egcam__dims          dims;
    const egcam_refset  *refs;     /* the caller's set or `own` */
    egcam_refset        *own;      /* built-in references made for this call */
    egcam__plan          plan;
    size_t               batch;
    int32_t              target;
    double               logit;
    float               *acts_x;   /* A(x) */
    float               *seed;     /* batch rows, each the seed over the logits */
    float               *top;      /* batch rows of x + eps (noisy plans) */
    float               *points;   /* batch rows of z */
    float               *acts_top; /* batch rows of A(x + eps) (noisy difference) */
    egcam__sample       *samples;  /* batch */
    double              *acc;      /* the accumulated attribution, K x h x w */
    int                  gradient_seen; /* some gradient entry was not 0 */
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

/* Forward x: keep A(x), choose the target; Grad-CAM also pulls its one
 * gradient back here, so it costs one forward and one backward. */
static egcam_status forward_input(engine *e)
{
    egcam__forward_out fw;
    uint32_t flags = e->plan.at_input ? EGCAM_FORWARD_FOR_BACKWARD : 0;
    egcam_status st = egcam__forward(e->ctx, e->be, e->x, 1, e->in, flags, &e->dims, &fw);
    if (st != EGCAM_OK)
        return st;
    size_t act_size = egcam__shape_size(e->dims.act);
    if ((st = egcam__check_finite(e->ctx, fw.logits, e->dims.classes,
                                  "the model's logits for the input")) != EGCAM_OK ||
        (st = egcam__check_finite(e->ctx, fw.acts, act_size,
                                  "the layer's activations for the input")) != EGCAM_OK)
        return st;
    e->acts_x = egcam__alloc_array(act_size, sizeof *e->acts_x);
    e->acc = egcam__calloc(act_size, sizeof *e->acc);
    if (!e->acts_x || !e->acc)
        return egcam__fail(e->ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the activations");
    memcpy(e->acts_x, fw.acts, act_size * sizeof *e->acts_x);
    if ((st = choose_target(e, fw.logits)) != EGCAM_OK || !e->plan.at_input)
        return st;
    const float *grad;
    if ((st = egcam__backward(e->ctx, e->be, e->seed, 1, &e->dims, &grad)) != EGCAM_OK)
        return st;
    e->gradient_seen = any_nonzero(grad, act_size);
    for (size_t i = 0; i < act_size; i++)
        e->acc[i] = grad[i];
    return egcam__progress(e->ctx, 1, 1);
}

/* The references: the caller's, or the built-in ones made now. */
static egcam_status prepare_references(engine *e)
{
    if (!e->refs) {
        egcam_status st =
            egcam__refset_builtin(e->ctx, e->be, e->cfg, e->x, e->in, &e->own);
        if (st != EGCAM_OK)
            return st;
        e->refs = e->own;
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
 * x + eps_i in e->top for noisy plans. */
static void assemble_points(engine *e, size_t rows)
{
    size_t n = egcam__shape_size(e->in);
    for (size_t i = 0; i < rows; i++) {
        egcam__sample *s = &e->samples[i];
        const float *ref = e->refs->inputs + (size_t)s->ref * n;
        const float *top = e->x;
        if (e->plan.noisy) {
            float *noisy = e->top + i * n;
            for (size_t j = 0; j < n; j++)
                noisy[j] = (float)((double)e->x[j] + e->plan.sigma * egcam__rng_normal(&s->noise));
            top = noisy;
        }
        float *z = e->points + i * n;
        for (size_t j = 0; j < n; j++)
            z[j] = (float)((double)ref[j] + s->alpha * ((double)top[j] - (double)ref[j]));
    }
}

/* acc += weight_i * (A(top_i) - A(ref_i)) (.) G(z_i), in sample order, so
 * the sum does not depend on the batch size. */
static void accumulate(engine *e, size_t rows, const float *grad)
{
    size_t act_size = egcam__shape_size(e->dims.act);
    if (!e->gradient_seen)
        e->gradient_seen = any_nonzero(grad, rows * act_size);
    for (size_t i = 0; i < rows; i++) {
        const egcam__sample *s = &e->samples[i];
        const float *a_top = e->plan.noisy_diff ? e->acts_top + i * act_size : e->acts_x;
        const float *a_ref = e->refs->acts + (size_t)s->ref * act_size;
        const float *g = grad + i * act_size;
        for (size_t j = 0; j < act_size; j++)
            e->acc[j] += s->weight * ((double)a_top[j] - (double)a_ref[j]) * (double)g[j];
    }
}

static egcam_status run_plan(engine *e)
{
    size_t act_size = egcam__shape_size(e->dims.act);
    egcam_status st = alloc_batch(e);
    for (uint64_t done = 0; st == EGCAM_OK && done < e->plan.count;) {
        size_t rows = e->plan.count - done < e->batch ? (size_t)(e->plan.count - done) : e->batch;
        for (size_t i = 0; i < rows; i++)
            egcam__plan_sample(&e->plan, done + i, &e->samples[i]);
        assemble_points(e, rows);
        egcam__forward_out fw;
        if (e->plan.noisy_diff) { /* A(x + eps): activations only */
            st = egcam__forward(e->ctx, e->be, e->top, rows, e->in, 0, &e->dims, &fw);
            if (st != EGCAM_OK)
                break;
            memcpy(e->acts_top, fw.acts, rows * act_size * sizeof *e->acts_top);
        }
        const float *grad;
        st = egcam__forward(e->ctx, e->be, e->points, rows, e->in, EGCAM_FORWARD_FOR_BACKWARD,
                            &e->dims, &fw);
        if (st == EGCAM_OK)
            st = egcam__backward(e->ctx, e->be, e->seed, rows, &e->dims, &grad);
        if (st != EGCAM_OK)
            break;
        accumulate(e, rows, grad);
        done += rows;
        st = egcam__progress(e->ctx, done, e->plan.count);
    }
    return st;
}

/* Pool acc into channel weights and make the maps. */
static egcam_status finish(engine *e, egcam_result **out)
{
    egcam__shape a = e->dims.act;
    size_t area = a.h * a.w;
    if (a.c > UINT32_MAX || a.h > UINT32_MAX || a.w > UINT32_MAX)
        return egcam__fail(e->ctx, EGCAM_E_BACKEND, "the layer's activations are too large");
    egcam_result *res =
        egcam__result_new((uint32_t)a.c, (uint32_t)a.h, (uint32_t)a.w, (uint32_t)e->in.h,
                          (uint32_t)e->in.w);
    if (!res)
        return egcam__fail(e->ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the result");
    double total = 0.0;
    for (size_t k = 0; k < a.c; k++) {
        double sum = 0.0;
        for (size_t p = 0; p < area; p++) {
            size_t j = k * area + p;
            sum += e->acc[j];
            /* Grad-CAM's acc is the gradient alone: its completeness is the
             * first-order sum A(x) (.) G(x). */
            total += e->plan.at_input ? e->acc[j] * e->acts_x[j] : e->acc[j];
        }
        res->weights[k] = (float)(sum / (double)area);
    }
    res->target = e->target;
    res->flags = e->gradient_seen ? 0 : EGCAM_RESULT_ZERO_GRADIENT;
    res->logit = e->logit;
    res->completeness = total;
    int finite = total - total == 0.0; /* false for NaN and infinities */
    for (size_t k = 0; k < a.c; k++)
        finite = finite && res->weights[k] - res->weights[k] == 0.0f;
    if (!finite) {
        egcam_result_free(res);
        return egcam__fail(e->ctx, EGCAM_E_NON_FINITE,
                           "the attribution is not finite: backend '%s' returned gradients "
                           "or activations holding NaN or infinity, or they overflowed",
                           e->be->ops.name);
    }
    egcam__result_maps(res, e->acts_x);
    /* Finite weights times finite activations can still overflow a float. */
    for (size_t p = 0; p < area; p++)
        if (res->layer_map[p] - res->layer_map[p] != 0.0f) {
            egcam_result_free(res);
            return egcam__fail(e->ctx, EGCAM_E_NON_FINITE,
                               "the map overflows: channel weights times activations exceed "
                               "the range of float");
        }
    *out = res;
    return EGCAM_OK;
}

static egcam_status check_arguments(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                                    const egcam_tensor *input, const egcam_refset *refs,
                                    egcam__shape *shape)
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
    if ((st = egcam__check_finite(ctx, input->data, egcam__shape_size(*shape), "the input")) !=
        EGCAM_OK)
        return st;
    if (refs && cfg->method != EGCAM_METHOD_GRADCAM) {
        if (refs->backend != be)
            return egcam__fail(ctx, EGCAM_E_MISUSE,
                               "the reference set was made on another backend");
        if (refs->input.c != shape->c || refs->input.h != shape->h || refs->input.w != shape->w)
            return egcam__fail(ctx, EGCAM_E_SHAPE_MISMATCH,
                               "the references are [%zu,%zu,%zu]; the input is [%zu,%zu,%zu]",
                               refs->input.c, refs->input.h, refs->input.w, shape->c, shape->h,
                               shape->w);
        if (cfg->references != EGCAM_REFERENCES_ZEROS)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                               "both a reference set and config.references = %u were given; "
                               "leave config.references at its default with a set",
                               cfg->references);
    }
    return EGCAM_OK;
}

egcam_status egcam_explain(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                           const egcam_tensor *input, const egcam_refset *refs,
                           egcam_result **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain: out is NULL");
    engine e = {.ctx = ctx, .be = be, .cfg = cfg};
    egcam_status st = check_arguments(ctx, be, cfg, input, refs, &e.in);
    if (st != EGCAM_OK)
        return st;
    e.x = input->data;
    e.refs = cfg->method == EGCAM_METHOD_GRADCAM ? NULL : refs;

    float x_min, x_max;
    egcam__minmax(e.x, egcam__shape_size(e.in), &x_min, &x_max);
    /* The plan's reference count is known before any forward pass. */
    uint32_t ref_count = 1;
    if (refs && cfg->method != EGCAM_METHOD_GRADCAM)
        ref_count = egcam_refset_count(refs);
    else if (cfg->references == EGCAM_REFERENCES_UNIFORM && cfg->method == EGCAM_METHOD_EXPECTED)
        ref_count = cfg->reference_count;
    if ((st = egcam__plan_make(ctx, cfg, x_min, x_max, ref_count, &e.plan)) != EGCAM_OK)
        return st;
    e.batch = e.plan.count < cfg->batch_size ? (size_t)e.plan.count : cfg->batch_size;

    int entered;
    if ((st = egcam__backend_enter(ctx, be, "egcam_explain", &entered)) != EGCAM_OK)
        return st;
    st = forward_input(&e);
    if (st == EGCAM_OK && !e.plan.at_input) {
        st = prepare_references(&e);
        if (st == EGCAM_OK)
            st = run_plan(&e);
    }
    if (st == EGCAM_OK)
        st = finish(&e, out);
    engine_free(&e);
    egcam__backend_leave(be, entered);
    return st;
}
