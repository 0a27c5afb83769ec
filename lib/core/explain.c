/*
 * explain.c - the entry points of explaining: egcam_explain() for one input
 * and one target, egcam_explain_many() for many of both. They check what
 * the caller gives, claim the backend, and hand the inputs to the engine
 * (engine.c); a failure of one input's own values is that input's, and the
 * call reports the first of them.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* The inputs as one list of images: *count of them, all of shape *shape,
 * their data in (*images)[b] (free() it). */
static egcam_status list_images(egcam_ctx *ctx, const egcam_tensor *inputs, uint32_t input_count,
                                size_t *count, egcam__shape *shape)
{
    *count = 0;
    for (uint32_t i = 0; i < input_count; i++) {
        char what[48];
        snprintf(what, sizeof what, input_count == 1 ? "the input" : "input tensor %u", i);
        size_t n;
        egcam__shape s;
        egcam_status st = egcam__check_batch(ctx, &inputs[i], what, 1, &n, &s);
        if (st != EGCAM_OK)
            return st;
        if (i && (s.c != shape->c || s.h != shape->h || s.w != shape->w))
            return egcam__fail(ctx, EGCAM_E_SHAPE_MISMATCH,
                               "input tensor %u holds images of [%zu,%zu,%zu]; the first holds "
                               "[%zu,%zu,%zu]: the inputs of one call share a shape",
                               i, s.c, s.h, s.w, shape->c, shape->h, shape->w);
        *shape = s;
        if ((*count += n) > UINT32_MAX)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "more than 2^32-1 inputs");
    }
    if (shape->h > UINT32_MAX || shape->w > UINT32_MAX)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "the input is too large");
    return EGCAM_OK;
}

static const float **image_pointers(const egcam_tensor *inputs, uint32_t input_count, size_t count,
                                    egcam__shape shape)
{
    const float **images = egcam__alloc_array(count, sizeof *images);
    if (!images)
        return NULL;
    size_t b = 0, size = egcam__shape_size(shape);
    for (uint32_t i = 0; i < input_count; i++) {
        size_t n = inputs[i].ndim == 3 ? 1 : (size_t)inputs[i].shape[0];
        for (size_t k = 0; k < n; k++)
            images[b++] = inputs[i].data + k * size;
    }
    return images;
}

/* The first failed input's status and message, as the call's. */
static egcam_status report_inputs(egcam_ctx *ctx, size_t count, egcam_status *statuses)
{
    if (statuses)
        for (size_t b = 0; b < count; b++)
            statuses[b] = EGCAM_OK;
    for (size_t i = 0; statuses && i < ctx->input_error_count; i++)
        statuses[ctx->input_errors[i].index] = ctx->input_errors[i].status;
    if (!ctx->input_error_count)
        return EGCAM_OK;
    const struct egcam__input_error *first = &ctx->input_errors[0];
    if (count == 1)
        return egcam_ctx_set_error(ctx, first->status, first->message);
    if (ctx->input_error_count == 1)
        return egcam__fail(ctx, first->status, "input %zu: %s", first->index, first->message);
    return egcam__fail(ctx, first->status, "input %zu: %s (and %zu more inputs failed)",
                       first->index, first->message, ctx->input_error_count - 1);
}

/* The checks and the run, once out's length (count images x targets) is
 * known; statuses are the caller's to fill from what this returns. */
static egcam_status explain_images(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                                   const egcam_tensor *inputs, uint32_t input_count, size_t count,
                                   egcam__shape in, const int32_t *classes, uint32_t targets,
                                   const egcam_refset *refs, egcam_result **out)
{
    if (!be)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain_many: backend is NULL");
    if (!cfg)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain_many: cfg is NULL");
    egcam_status st = egcam__check_config(ctx, cfg);
    if (st != EGCAM_OK)
        return st;
    egcam__targets tg = egcam__targets_of(cfg, classes, targets);
    if ((st = egcam__targets_check(ctx, cfg, &tg)) != EGCAM_OK)
        return st;
    /* The plan's rules but noise do not depend on the input: check them
     * now, before a pass. */
    egcam__plan plan;
    if ((st = egcam__plan_make(ctx, cfg, in, 0.0f, 1.0f, be, refs, &plan)) != EGCAM_OK)
        return st;
    const float **images = image_pointers(inputs, input_count, count, in);
    if (!images)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for %zu inputs", count);
    int entered;
    if ((st = egcam__backend_enter(ctx, be, "egcam_explain_many", &entered)) == EGCAM_OK)
        st = egcam__engine_run(ctx, be, cfg, images, count, in, &tg, refs, plan.count, out);
    egcam__backend_leave(be, entered);
    free(images);
    return st;
}

egcam_status egcam_explain_many(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                                const egcam_tensor *inputs, uint32_t input_count,
                                const int32_t *classes, uint32_t targets, const egcam_refset *refs,
                                egcam_result **out, egcam_status *statuses)
{
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out || !inputs)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain_many: %s is NULL",
                           out ? "inputs" : "out");
    if (!input_count)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "egcam_explain_many: input_count is 0");
    size_t count;
    egcam__shape in = {0};
    egcam_status st = list_images(ctx, inputs, input_count, &count, &in);
    if (st != EGCAM_OK)
        return st;
    size_t results = egcam__count(count, targets ? targets : 1);
    if (!results)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "%zu inputs of %u targets: too many",
                           count, targets);
    /* From here on every entry of out and statuses is set. */
    memset(out, 0, results * sizeof *out);
    st = targets ? explain_images(ctx, be, cfg, inputs, input_count, count, in, classes, targets,
                                  refs, out)
                 : egcam__fail(ctx, EGCAM_E_EMPTY, "egcam_explain_many: targets is 0");
    if (st != EGCAM_OK) { /* a failure of the call: no results, no input's own */
        for (size_t r = 0; r < results; r++) {
            egcam_result_free(out[r]);
            out[r] = NULL;
        }
        ctx->input_error_count = 0;
        for (size_t b = 0; statuses && b < count; b++)
            statuses[b] = st;
        return st;
    }
    return report_inputs(ctx, count, statuses);
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
    if (!be)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain: backend is NULL");
    if (!cfg)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_explain: cfg is NULL");
    egcam_status st = egcam__check_config(ctx, cfg);
    if (st != EGCAM_OK)
        return st;
    size_t count;
    egcam__shape shape;
    if ((st = egcam__check_batch(ctx, input, "the input", 1, &count, &shape)) != EGCAM_OK)
        return st;
    if (count != 1)
        return egcam__fail(ctx, EGCAM_E_SHAPE_MISMATCH,
                           "the input holds %zu images; egcam_explain takes one "
                           "(egcam_explain_many takes several)",
                           count);
    return egcam_explain_many(ctx, be, cfg, input, 1, NULL, 1, refs, out, NULL);
}
