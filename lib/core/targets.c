/*
 * targets.c - what an explanation explains in each input: a seed vector
 * over the logits per target. A target is a class, the class of a rank
 * among the input's logits (EGCAM_TARGET_RANK), or the caller's seed vector
 * (config.target_weights); the class ones are one-hot seeds. Ranks need the
 * input's logits, so targets are chosen once the input has been forwarded.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

egcam__targets egcam__targets_of(const egcam_config *cfg, const int32_t *classes, uint32_t count)
{
    egcam__targets t = {.count = count, .classes = classes};
    if (!classes && cfg->target_weights) {
        t.weights = cfg->target_weights;
        t.weights_count = cfg->target_weights_count;
    }
    t.first = cfg->target_class;
    return t;
}

egcam_status egcam__targets_check(egcam_ctx *ctx, const egcam_config *cfg, const egcam__targets *t)
{
    if (!t->count)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "no targets: the count of targets is 0");
    if (t->classes && (cfg->target_weights || cfg->target_class != -1))
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "both classes for each input and config.%s were given; leave the "
                           "config's target at its default with classes",
                           cfg->target_weights ? "target_weights" : "target_class");
    if (!t->classes && !t->weights && t->first >= 0 && t->count != 1)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "%u targets asked of config.target_class %d, which names one class; "
                           "give classes for each input, or a rank (EGCAM_TARGET_RANK) to "
                           "explain the top %u",
                           t->count, t->first, t->count);
    if (t->weights && t->weights_count % t->count)
        return egcam__fail(ctx, EGCAM_E_SHAPE_MISMATCH,
                           "config.target_weights has %u entries, not a multiple of the %u "
                           "targets asked",
                           t->weights_count, t->count);
    return EGCAM_OK;
}

/* The class of rank r among n logits: the (r+1)-th largest, ties going to
 * the lower index, so that rank 0 is the first maximum. */
typedef struct ranked {
    float value;
    uint32_t index;
} ranked;

static int by_rank(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static size_t top_class(const float *logits, size_t n)
{
    size_t top = 0;
    for (size_t j = 1; j < n; j++)
        top = logits[j] > logits[top] ? j : top;
    return top;
}

egcam_status egcam__class_of_rank(egcam_ctx *ctx, const float *logits, size_t classes,
                                  uint64_t rank, int32_t *out)
{
    if (rank >= classes || classes > INT32_MAX)
        return egcam__fail(ctx, EGCAM_E_CLASS_OUT_OF_RANGE,
                           "target rank %llu (EGCAM_TARGET_RANK(%llu), the class of logit "
                           "number %llu from the top) is not among the model's %zu logits",
                           (unsigned long long)rank, (unsigned long long)rank,
                           (unsigned long long)rank + 1, classes);
    if (rank == 0) {
        *out = (int32_t)top_class(logits, classes);
        return EGCAM_OK;
    }
    ranked *order = egcam__alloc_array(classes, sizeof *order);
    if (!order)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for ranks");
    for (size_t j = 0; j < classes; j++)
        order[j] = (ranked){logits[j], (uint32_t)j};
    qsort(order, classes, sizeof *order, by_rank);
    *out = (int32_t)order[rank].index;
    free(order);
    return EGCAM_OK;
}

/* The token of target t of input b: a class index, or -1 - rank. */
static int32_t token_of(const egcam__targets *t, size_t b, uint32_t i)
{
    if (t->classes)
        return t->classes[b * t->count + i];
    /* From the config: its class (one target), or the ranks from its own on. */
    int64_t token = t->first >= 0 ? t->first : (int64_t)t->first - i;
    return token < INT32_MIN ? INT32_MIN : (int32_t)token;
}

egcam_status egcam__targets_choose(egcam_ctx *ctx, const egcam__targets *t, size_t b,
                                   const float *logits, size_t classes, float *seeds,
                                   egcam__choice *choices)
{
    if (t->weights && t->weights_count != egcam__count(t->count, classes))
        return egcam__fail(ctx, EGCAM_E_SHAPE_MISMATCH,
                           "config.target_weights has %u entries; %u target%s of a model with "
                           "%zu logits take %zu",
                           t->weights_count, t->count, t->count == 1 ? "" : "s", classes,
                           egcam__count(t->count, classes));
    for (uint32_t i = 0; i < t->count; i++) {
        float *seed = seeds + (size_t)i * classes;
        if (t->weights) {
            memcpy(seed, t->weights + (size_t)i * classes, classes * sizeof *seed);
            choices[i].cls = -1;
        } else {
            int32_t token = token_of(t, b, i), cls = token;
            if (token >= 0 && (size_t)token >= classes)
                return t->classes
                           ? egcam__fail(ctx, EGCAM_E_CLASS_OUT_OF_RANGE,
                                         "target class %d is not among the model's %zu logits "
                                         "(0 to %zu)",
                                         token, classes, classes - 1)
                           : egcam__fail(ctx, EGCAM_E_CLASS_OUT_OF_RANGE,
                                         "config.target_class is %d; the model has %zu logits "
                                         "(0 to %zu)",
                                         token, classes, classes - 1);
            /* rank -1 - token, without overflow for INT32_MIN */
            egcam_status st;
            if (token < 0 &&
                (st = egcam__class_of_rank(ctx, logits, classes, (uint64_t)(-(int64_t)token - 1),
                                           &cls)) != EGCAM_OK)
                return st;
            memset(seed, 0, classes * sizeof *seed);
            seed[cls] = 1.0f;
            choices[i].cls = cls;
        }
        double v = 0.0;
        for (size_t j = 0; j < classes; j++)
            v += (double)seed[j] * logits[j];
        choices[i].value = v;
    }
    return EGCAM_OK;
}
