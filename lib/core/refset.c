/*
 * refset.c - reference sets: reference inputs with their activations.
 * A(x') depends only on the backend and the reference, so a caller's set is
 * forwarded once and reused by every explanation; the built-in references
 * that depend on the input are made per explanation by the same code.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

void egcam_refset_free(egcam_refset *set)
{
    if (!set)
        return;
    free(set->inputs);
    free(set->acts);
    free(set);
}

uint32_t egcam_refset_count(const egcam_refset *set) { return set ? (uint32_t)set->count : 0; }

egcam_status egcam__refset_fill(egcam_ctx *ctx, egcam_backend *be, egcam_refset *set, size_t batch,
                                uint64_t progress_total)
{
    size_t in_size = egcam__shape_size(set->input);
    for (size_t done = 0; done < set->count;) {
        size_t rows = set->count - done < batch ? set->count - done : batch;
        egcam__forward_out fw;
        egcam_status st = egcam__forward(ctx, be, set->inputs + done * in_size, rows, set->input,
                                         egcam__activations_only(be), &set->dims, &fw);
        if (st != EGCAM_OK)
            return st;
        size_t act_size = egcam__shape_size(set->dims.act);
        size_t total = egcam__count(set->count, act_size);
        if (!set->acts && (!total || !(set->acts = egcam__malloc(total * sizeof *set->acts))))
            return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY,
                               "out of memory for the activations of %zu references", set->count);
        memcpy(set->acts + done * act_size, fw.acts, rows * act_size * sizeof *fw.acts);
        done += rows;
        if (progress_total && (st = egcam__progress(ctx, done, progress_total)) != EGCAM_OK)
            return st;
    }
    return egcam__check_finite(ctx, set->acts, set->count * egcam__shape_size(set->dims.act),
                               "the activations of the references");
}

/* A set of `count` references of shape s, inputs allocated, not filled. */
static egcam_status refset_alloc(egcam_ctx *ctx, const egcam_backend *be, size_t count,
                                 egcam__shape s, egcam_refset **out)
{
    size_t total = egcam__count(count, egcam__shape_size(s));
    egcam_refset *set = total ? egcam__calloc(1, sizeof *set) : NULL;
    if (set)
        set->inputs = egcam__malloc(total * sizeof *set->inputs);
    if (!set || !set->inputs) {
        egcam_refset_free(set);
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for %zu references", count);
    }
    set->backend = be;
    set->input = s;
    set->count = count;
    *out = set;
    return EGCAM_OK;
}

egcam_status egcam_refset_new(egcam_ctx *ctx, egcam_backend *be, const egcam_tensor *refs,
                              uint32_t batch_size, egcam_refset **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_refset_new: out is NULL");
    if (!be)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_refset_new: backend is NULL");
    size_t count;
    egcam__shape s;
    egcam_status st = egcam__check_batch(ctx, refs, "the references", 0, &count, &s);
    if (st != EGCAM_OK)
        return st;
    if (count > UINT32_MAX)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "more than 2^32-1 references");
    if ((st = egcam__check_finite(ctx, refs->data, count * egcam__shape_size(s),
                                  "the references")) != EGCAM_OK)
        return st;
    egcam_refset *set;
    if ((st = refset_alloc(ctx, be, count, s, &set)) != EGCAM_OK)
        return st;
    memcpy(set->inputs, refs->data, count * egcam__shape_size(s) * sizeof *set->inputs);
    int entered;
    if ((st = egcam__backend_enter(ctx, be, "egcam_refset_new", &entered)) == EGCAM_OK)
        st = egcam__refset_fill(ctx, be, set, batch_size ? batch_size : 16, count);
    egcam__backend_leave(be, entered);
    if (st != EGCAM_OK) {
        egcam_refset_free(set);
        return st;
    }
    *out = set;
    return EGCAM_OK;
}

egcam_status egcam__refset_builtin(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                                   const float *x, egcam__shape s, egcam_refset **out)
{
    size_t n = egcam__shape_size(s);
    size_t count = 1;
    if (cfg->references == EGCAM_REFERENCES_UNIFORM) /* Expected only: see config.c */
        count = cfg->reference_count;
    egcam_refset *set;
    egcam_status st = refset_alloc(ctx, be, count, s, &set);
    if (st != EGCAM_OK)
        return st;
    if (cfg->references == EGCAM_REFERENCES_ZEROS) {
        memset(set->inputs, 0, n * sizeof *set->inputs);
    } else if (cfg->references == EGCAM_REFERENCES_BLUR) {
        size_t side = s.h < s.w ? s.h : s.w, longest = s.h > s.w ? s.h : s.w;
        double sigma = cfg->blur_sigma > 0.0f ? (double)cfg->blur_sigma : 0.1 * (double)side;
        /* Wider than twice the image, a blur is all but flat: cap it there,
         * which bounds the kernel and the time it takes. */
        if (sigma > 2.0 * (double)longest)
            sigma = 2.0 * (double)longest;
        if (egcam__blur(x, set->inputs, s, sigma) != EGCAM_OK)
            st = egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the blur");
    } else { /* uniform noise over the input's range, one stream per reference */
        float lo, hi;
        egcam__minmax(x, n, &lo, &hi);
        for (size_t r = 0; r < count; r++) {
            egcam__rng rng;
            egcam__rng_init(&rng, cfg->seed, EGCAM__STREAM_REFERENCE, r);
            for (size_t i = 0; i < n; i++)
                set->inputs[r * n + i] =
                    (float)((double)lo + ((double)hi - lo) * egcam__rng_uniform(&rng));
        }
    }
    if (st == EGCAM_OK)
        st = egcam__refset_fill(ctx, be, set, cfg->batch_size, 0);
    if (st != EGCAM_OK) {
        egcam_refset_free(set);
        return st;
    }
    *out = set;
    return EGCAM_OK;
}
