/*
 * engine.c - the one gradient engine behind every method.
 *
 * An explanation runs a plan (plan.c) for each input: take the plan's
 * gradient points, forward them for backward, pull each target's gradient
 * back to the layer, and accumulate per (input, target) the gradient term
 *
 *     R += weight_n * (A(top_n) - A(ref_n)) (.) G(z_n)    (path methods)
 *     R += weight_n * G(z_n)                               (Grad-CAM)
 *
 * then combine R into maps (combine.c). A(x) makes the final map and the
 * logits of x pick the targets: they come from a forward of x of their own,
 * or, when the plan's point is x itself (Grad-CAM), from that point's
 * forward, so that Grad-CAM costs one forward and one backward.
 *
 * The points of all inputs form one stream of rows, cut into backend
 * batches of batch_size rows: a batch may hold the last points of one input
 * and the first of the next, so Grad-CAM on 64 inputs is 4 forwards at
 * batch 16. Every target of a batch shares its forward (several backwards
 * per forward on a version-2 backend that retains, a forward again per
 * target on others): targets differ only in the seed and the accumulator.
 * Each accumulator adds its input's samples in sample order, so neither the
 * batch size, nor the other inputs, nor the other targets change its sum.
 *
 * Memory is a batch of rows plus, per input in flight, A(x), its references
 * and one accumulator per target. Inputs enter the stream when their rows
 * are needed and leave, as results, once their last row is in, so at most
 * batch_size + 1 are in flight however many the call holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* One input in flight. */
typedef struct job {
    size_t index; /* in the call */
    const float *x;
    egcam__plan plan;
    const egcam_refset *refs; /* the plan's set, or `own` */
    egcam_refset *own;        /* built-in references made for this input */
    float *acts_x;            /* A(x) */
    float *logits_x;          /* the logits of x */
    float *seeds;             /* targets x classes */
    egcam__choice *choices;   /* targets */
    double *acc;              /* targets x K x h x w: the gradient terms R */
    int *gradient_seen;       /* targets: some gradient entry was not 0 */
    int chosen;               /* x's forward taken, targets chosen */
    uint64_t scheduled;       /* samples given rows */
    uint64_t done;            /* samples accumulated (or passed over, once failed) */
    egcam_status status;      /* this input's own failure */
} job;

typedef struct engine {
    egcam_ctx *ctx;
    egcam_backend *be;
    const egcam_config *cfg;
    const egcam_refset *refs;   /* the caller's set, or NULL */
    const float *const *images; /* count inputs of shape `in` */
    size_t count;
    egcam__shape in;
    egcam__dims dims;
    egcam__targets targets;
    size_t batch;
    int retains; /* the backend takes several backwards per forward */
    /* Inputs in flight, oldest first: a ring of `cap` jobs. */
    job *ring;
    size_t cap, first, active, next_input;
    /* The rows of one batch. */
    job **row_job;
    egcam__sample *samples;
    size_t *row_top; /* for a noisy row, its row in top and acts_top */
    float *points;   /* z */
    float *top;      /* x + eps, the noisy rows only, packed */
    float *acts_top; /* A(x + eps) of those rows (noisy difference) */
    float *seed;     /* rows x classes: one target's seeds */
    egcam_result **out;
    uint64_t samples_each; /* rows of one input */
    uint64_t rows_done, rows_total;
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

/* A failure of one input's own values (NaN, a class the model lacks) stops
 * that input only; any other (the backend, memory, the caller's arguments)
 * stops the call. */
static int input_failure(egcam_status st)
{
    return st == EGCAM_E_NON_FINITE || st == EGCAM_E_CLASS_OUT_OF_RANGE;
}

/* Keep st as j's own failure and go on (EGCAM_OK), or pass a failure of
 * the call on. */
static egcam_status fail_input(engine *e, job *j, egcam_status st)
{
    if (st == EGCAM_OK || !input_failure(st))
        return st;
    j->status = st;
    e->rows_done += e->samples_each - j->scheduled; /* its rows to come: done, for progress */
    return egcam__ctx_input_failed(e->ctx, j->index, st);
}

static void job_free(job *j)
{
    egcam_refset_free(j->own);
    free(j->acts_x);
    free(j->logits_x);
    free(j->seeds);
    free(j->choices);
    free(j->acc);
    free(j->gradient_seen);
    memset(j, 0, sizeof *j);
}

static job *in_flight(engine *e, size_t i) { return &e->ring[(e->first + i) % e->cap]; }

static void engine_free(engine *e)
{
    for (size_t i = 0; i < e->active; i++)
        job_free(in_flight(e, i));
    free(e->ring);
    free(e->row_job);
    free(e->samples);
    free(e->row_top);
    free(e->points);
    free(e->top);
    free(e->acts_top);
    free(e->seed);
}

/* What x's forward gives, from whichever forward made it: A(x) kept, the
 * accumulators made, the targets chosen. */
static egcam_status take_input(engine *e, job *j, const float *acts, const float *logits)
{
    size_t act_size = egcam__shape_size(e->dims.act), classes = e->dims.classes;
    size_t count = e->targets.count;
    egcam_status st;
    if ((st = egcam__check_finite(e->ctx, logits, classes, "the model's logits for the input")) !=
            EGCAM_OK ||
        (st = egcam__check_finite(e->ctx, acts, act_size,
                                  "the layer's activations for the input")) != EGCAM_OK)
        return st;
    j->acts_x = egcam__alloc_array(act_size, sizeof *j->acts_x);
    j->logits_x = egcam__alloc_array(classes, sizeof *j->logits_x);
    j->seeds = egcam__alloc_array(egcam__count(count, classes), sizeof *j->seeds);
    size_t acc_size = egcam__count(count, act_size);
    j->acc = acc_size ? egcam__calloc(acc_size, sizeof *j->acc) : NULL;
    if (!j->acts_x || !j->logits_x || !j->seeds || !j->acc)
        return egcam__fail(e->ctx, EGCAM_E_OUT_OF_MEMORY,
                           "out of memory for the activations and %zu accumulators", count);
    memcpy(j->acts_x, acts, act_size * sizeof *j->acts_x);
    memcpy(j->logits_x, logits, classes * sizeof *j->logits_x);
    if ((st = egcam__targets_choose(e->ctx, &e->targets, j->index, logits, classes, j->seeds,
                                    j->choices)) != EGCAM_OK)
        return st;
    j->chosen = 1;
    return EGCAM_OK;
}

/* The references: none, the caller's, or the built-in ones made now. */
static egcam_status prepare_references(engine *e, job *j)
{
    if (j->plan.references == EGCAM__REFS_NONE)
        return EGCAM_OK;
    if (j->plan.references == EGCAM__REFS_BUILTIN) {
        egcam_status st = egcam__refset_builtin(e->ctx, e->be, e->cfg, j->x, e->in, &j->own);
        if (st != EGCAM_OK)
            return st;
        j->refs = j->own;
    } else {
        j->refs = j->plan.refs;
    }
    const egcam__dims *d = &j->refs->dims;
    if (d->act.c != e->dims.act.c || d->act.h != e->dims.act.h || d->act.w != e->dims.act.w)
        return egcam__fail(e->ctx, EGCAM_E_BACKEND,
                           "backend '%s' gave the references activations [%zu,%zu,%zu] and the "
                           "input [%zu,%zu,%zu]",
                           e->be->ops.name, d->act.c, d->act.h, d->act.w, e->dims.act.c,
                           e->dims.act.h, e->dims.act.w);
    if (d->classes && d->classes != e->dims.classes) /* 0: the set's forwards had no logits */
        return egcam__fail(e->ctx, EGCAM_E_BACKEND,
                           "backend '%s' gave the references %zu logits and the input %zu "
                           "(activations [%zu,%zu,%zu] for both)",
                           e->be->ops.name, d->classes, e->dims.classes, d->act.c, d->act.h,
                           d->act.w);
    return EGCAM_OK;
}

/* Bring input b into flight: its plan, and unless its one point is x
 * itself, x's own forward and its references. A failure of the input is
 * kept in j->status, and EGCAM_OK returned. */
static egcam_status start_job(engine *e, job *j, size_t b)
{
    j->index = b;
    j->x = e->images[b];
    size_t n = egcam__shape_size(e->in);
    j->choices = egcam__calloc(e->targets.count, sizeof *j->choices);
    j->gradient_seen = egcam__calloc(e->targets.count, sizeof *j->gradient_seen);
    if (!j->choices || !j->gradient_seen)
        return egcam__fail(e->ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for %u targets",
                           e->targets.count);
    egcam_status st = egcam__check_finite(e->ctx, j->x, n, "the input");
    if (st != EGCAM_OK)
        return fail_input(e, j, st);
    float x_min, x_max;
    egcam__minmax(j->x, n, &x_min, &x_max);
    if ((st = egcam__plan_make(e->ctx, e->cfg, e->in, x_min, x_max, e->be, e->refs, &j->plan)) !=
        EGCAM_OK)
        return st;
    if (j->plan.point_at_input)
        return EGCAM_OK; /* x's forward is its point's */
    egcam__forward_out fw;
    if ((st = egcam__forward(e->ctx, e->be, j->x, 1, e->in, 0, &e->dims, &fw)) != EGCAM_OK)
        return st;
    if ((st = take_input(e, j, fw.acts, fw.logits)) != EGCAM_OK)
        return fail_input(e, j, st);
    return fail_input(e, j, prepare_references(e, j));
}

/* The buffers of a batch's rows that the input's shape sizes. */
static egcam_status alloc_rows(engine *e)
{
    size_t in_size = egcam__shape_size(e->in);
    int noisy = e->cfg->method == EGCAM_METHOD_EXPECTED && e->cfg->noise_level > 0.0f;
    e->points = egcam__alloc_array(egcam__count(e->batch, in_size), sizeof *e->points);
    e->row_job = egcam__alloc_array(e->batch, sizeof *e->row_job);
    e->samples = egcam__alloc_array(e->batch, sizeof *e->samples);
    e->row_top = egcam__alloc_array(e->batch, sizeof *e->row_top);
    if (noisy)
        e->top = egcam__alloc_array(egcam__count(e->batch, in_size), sizeof *e->top);
    if (!e->points || !e->row_job || !e->samples || !e->row_top || (noisy && !e->top))
        return egcam__fail(
            e->ctx, EGCAM_E_OUT_OF_MEMORY,
            "out of memory for a batch of %zu inputs; try a smaller config.batch_size", e->batch);
    return EGCAM_OK;
}

/* *buf, rows x `per_row` floats, made the first time the layer's shape
 * (known after a first forward) sizes it. */
static egcam_status alloc_layer_rows(engine *e, float **buf, size_t per_row)
{
    if (!*buf && !(*buf = egcam__alloc_array(egcam__count(e->batch, per_row), sizeof **buf)))
        return egcam__fail(
            e->ctx, EGCAM_E_OUT_OF_MEMORY,
            "out of memory for a batch of %zu inputs; try a smaller config.batch_size", e->batch);
    return EGCAM_OK;
}

/* The rows of the next batch, from the inputs in flight and, when they run
 * out, from inputs brought into flight. Returns the rows in *rows (0: the
 * call is done). Inputs that fail as they start give no rows. */
static egcam_status fill_batch(engine *e, size_t *rows)
{
    size_t r = 0;
    while (r < e->batch) {
        job *cur = e->active ? in_flight(e, e->active - 1) : NULL;
        if (!cur || cur->status != EGCAM_OK || cur->scheduled == cur->plan.count) {
            if (e->next_input == e->count || e->active == e->cap)
                break;
            job *j = in_flight(e, e->active++);
            egcam_status st = start_job(e, j, e->next_input++);
            if (st != EGCAM_OK)
                return st;
            continue;
        }
        for (; r < e->batch && cur->scheduled < cur->plan.count; r++) {
            e->row_job[r] = cur;
            egcam__plan_sample(&cur->plan, cur->scheduled++, &e->samples[r]);
        }
    }
    *rows = r;
    return EGCAM_OK;
}

/* Fill rows of z_i = ref_i + alpha_i (top_i - ref_i), with top_i = x, or
 * x + eps_i (packed in e->top) for noisy plans; z = x when the point is
 * the input. Returns the count of noisy rows. */
static size_t assemble_points(engine *e, size_t rows)
{
    size_t n = egcam__shape_size(e->in), noisy_rows = 0;
    for (size_t i = 0; i < rows; i++) {
        const job *j = e->row_job[i];
        egcam__sample *s = &e->samples[i];
        float *z = e->points + i * n;
        if (j->plan.point_at_input) {
            memcpy(z, j->x, n * sizeof *z);
            continue;
        }
        const float *ref = j->refs->inputs + (size_t)s->ref * n;
        const float *top = j->x;
        if (j->plan.noisy) {
            e->row_top[i] = noisy_rows;
            float *noisy = e->top + noisy_rows++ * n;
            double sigma = s->noise_sign * j->plan.sigma; /* -sigma: an antithetic pair's second */
            for (size_t k = 0; k < n; k++)
                noisy[k] = (float)((double)j->x[k] + sigma * egcam__rng_normal(&s->noise));
            top = noisy;
        }
        for (size_t k = 0; k < n; k++)
            z[k] = (float)((double)ref[k] + s->alpha * ((double)top[k] - (double)ref[k]));
    }
    return noisy_rows;
}

/* R_t += weight_i * (A(top_i) - A(ref_i)) (.) G_t(z_i), or weight_i * G_t(z_i),
 * for each row i of an input that has not failed, in sample order. */
static void accumulate(engine *e, size_t rows, uint32_t t, const float *grad)
{
    size_t act_size = egcam__shape_size(e->dims.act);
    for (size_t i = 0; i < rows; i++) {
        job *j = e->row_job[i];
        if (j->status != EGCAM_OK)
            continue;
        const egcam__sample *s = &e->samples[i];
        const float *g = grad + i * act_size;
        double *acc = j->acc + t * act_size;
        if (!j->gradient_seen[t])
            j->gradient_seen[t] = any_nonzero(g, act_size);
        if (!j->plan.difference) {
            for (size_t k = 0; k < act_size; k++)
                acc[k] += s->weight * (double)g[k];
            continue;
        }
        const float *a_top =
            j->plan.noisy_diff ? e->acts_top + e->row_top[i] * act_size : j->acts_x;
        const float *a_ref = j->refs->acts + (size_t)s->ref * act_size;
        for (size_t k = 0; k < act_size; k++)
            acc[k] += s->weight * ((double)a_top[k] - (double)a_ref[k]) * (double)g[k];
    }
}

/* Target t's seeds for the rows: their input's, or zeros for an input that
 * failed. */
static void fill_seeds(engine *e, size_t rows, uint32_t t)
{
    size_t classes = e->dims.classes;
    for (size_t i = 0; i < rows; i++) {
        const job *j = e->row_job[i];
        float *row = e->seed + i * classes;
        if (j->status == EGCAM_OK && j->chosen)
            memcpy(row, j->seeds + (size_t)t * classes, classes * sizeof *row);
        else
            memset(row, 0, classes * sizeof *row);
    }
}

/* One batch: its points forwarded (and A(x + eps) first, for a noisy
 * difference), each target's gradients pulled back and accumulated. A
 * point at the input also gives x's activations and logits, before the
 * backward needs the targets. */
static egcam_status run_batch(engine *e, size_t rows)
{
    size_t act_size = egcam__shape_size(e->dims.act);
    size_t noisy_rows = assemble_points(e, rows);
    egcam__forward_out fw;
    egcam_status st;
    /* A(x + eps), activations only: the noisy rows' difference, unless clean */
    if (noisy_rows && !(e->cfg->flags & EGCAM_FLAG_CLEAN_DIFFERENCE)) {
        if ((st = egcam__forward(e->ctx, e->be, e->top, noisy_rows, e->in,
                                 egcam__activations_only(e->be), &e->dims, &fw)) != EGCAM_OK ||
            (st = alloc_layer_rows(e, &e->acts_top, act_size)) != EGCAM_OK)
            return st;
        memcpy(e->acts_top, fw.acts, noisy_rows * act_size * sizeof *e->acts_top);
    }
    uint32_t targets = e->targets.count;
    for (uint32_t t = 0; t < targets; t++) {
        if (t == 0 || !e->retains) { /* a version-1 backend: a forward per backward */
            if ((st = egcam__forward(e->ctx, e->be, e->points, rows, e->in,
                                     EGCAM_FORWARD_FOR_BACKWARD, &e->dims, &fw)) != EGCAM_OK)
                return st;
            if ((st = alloc_layer_rows(e, &e->seed, e->dims.classes)) != EGCAM_OK)
                return st;
            act_size = egcam__shape_size(e->dims.act); /* known now, if not before */
        }
        for (size_t i = 0; t == 0 && i < rows; i++) {
            job *j = e->row_job[i];
            if (j->plan.point_at_input && !j->chosen && j->status == EGCAM_OK &&
                (st = fail_input(e, j,
                                 take_input(e, j, fw.acts + i * act_size,
                                            fw.logits + i * e->dims.classes))) != EGCAM_OK)
                return st;
        }
        fill_seeds(e, rows, t);
        uint32_t flags = e->retains && t + 1 < targets ? EGCAM_BACKWARD_RETAIN : 0;
        const float *grad;
        if ((st = egcam__backward(e->ctx, e->be, e->seed, rows, flags, &e->dims, &grad)) !=
            EGCAM_OK)
            return st;
        accumulate(e, rows, t, grad);
    }
    for (size_t i = 0; i < rows; i++)
        e->row_job[i]->done++;
    e->rows_done += rows;
    return egcam__progress(e->ctx, e->rows_done, e->rows_total);
}

/* Input j's results, one per target, in e->out; or its failure kept. */
static egcam_status finish_job(engine *e, job *j)
{
    if (j->status != EGCAM_OK)
        return EGCAM_OK;
    egcam__shape a = e->dims.act;
    size_t act_size = egcam__shape_size(a);
    if (a.c > UINT32_MAX || a.h > UINT32_MAX || a.w > UINT32_MAX)
        return egcam__fail(e->ctx, EGCAM_E_BACKEND, "the layer's activations are too large");
    uint32_t targets = e->targets.count;
    egcam_result **out = e->out + j->index * targets;
    egcam_status st = EGCAM_OK;
    for (uint32_t t = 0; t < targets && st == EGCAM_OK; t++) {
        egcam_result *res = egcam__result_new((uint32_t)a.c, (uint32_t)a.h, (uint32_t)a.w,
                                              (uint32_t)e->in.h, (uint32_t)e->in.w);
        if (res) {
            res->term = egcam__alloc_array(act_size, sizeof *res->term);
            res->acts = egcam__alloc_array(act_size, sizeof *res->acts);
        }
        if (!res || !res->term || !res->acts ||
            egcam__result_set_logits(res, j->logits_x, e->dims.classes) != EGCAM_OK) {
            egcam_result_free(res);
            st = egcam__fail(e->ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the result");
            break;
        }
        out[t] = res;
        const double *acc = j->acc + t * act_size;
        memcpy(res->term, acc, act_size * sizeof *res->term);
        memcpy(res->acts, j->acts_x, act_size * sizeof *res->acts);
        /* The attribution: the term itself for the path methods; for
         * Grad-CAM A(x) (.) G(x), whose sum is the first-order one. */
        double total = 0.0;
        for (size_t k = 0; k < act_size; k++)
            total += j->plan.difference ? acc[k] : acc[k] * j->acts_x[k];
        res->term_is_attribution = j->plan.difference;
        res->target = j->choices[t].cls;
        res->logit = j->choices[t].value;
        res->flags = j->gradient_seen[t] ? 0 : EGCAM_RESULT_ZERO_GRADIENT;
        res->completeness = total;
        if (total - total != 0.0) /* NaN or infinity */
            st = egcam__fail(e->ctx, EGCAM_E_NON_FINITE,
                             "the attribution is not finite: backend '%s' returned gradients "
                             "or activations holding NaN or infinity, or they overflowed",
                             e->be->ops.name);
        if (st == EGCAM_OK)
            st = egcam__combine(e->ctx, res, e->cfg->combiner);
    }
    if (st != EGCAM_OK) { /* the input fails as a whole */
        for (uint32_t t = 0; t < targets; t++) {
            egcam_result_free(out[t]);
            out[t] = NULL;
        }
        st = fail_input(e, j, st);
    }
    return st;
}

/* Hand over the results of the inputs whose rows are all in. */
static egcam_status finish_done(engine *e)
{
    while (e->active) {
        job *j = in_flight(e, 0);
        if (j->status == EGCAM_OK && j->done < j->plan.count)
            break;
        egcam_status st = finish_job(e, j);
        job_free(j);
        e->first = (e->first + 1) % e->cap;
        e->active--;
        if (st != EGCAM_OK)
            return st;
    }
    return EGCAM_OK;
}

egcam_status egcam__engine_run(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                               const float *const *images, size_t count, egcam__shape in,
                               const egcam__targets *targets, const egcam_refset *refs,
                               uint64_t samples_each, egcam_result **out)
{
    engine e = {.ctx = ctx,
                .be = be,
                .cfg = cfg,
                .refs = refs,
                .images = images,
                .count = count,
                .in = in,
                .targets = *targets,
                .out = out};
    e.samples_each = samples_each;
    e.rows_total = samples_each * count;
    e.batch = e.rows_total < cfg->batch_size ? (size_t)e.rows_total : cfg->batch_size;
    e.retains = egcam__backend_retains(be) && targets->count > 1;
    /* Every input in flight but the newest has rows in the batch. */
    e.cap = e.batch + 1;
    e.ring = egcam__calloc(e.cap, sizeof *e.ring);
    egcam_status st =
        e.ring ? alloc_rows(&e) : egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory");
    while (st == EGCAM_OK && (e.active || e.next_input < e.count)) {
        size_t rows;
        if ((st = fill_batch(&e, &rows)) != EGCAM_OK)
            break;
        if (rows && (st = run_batch(&e, rows)) != EGCAM_OK)
            break;
        st = finish_done(&e);
    }
    engine_free(&e);
    return st;
}
