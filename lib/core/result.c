/* result.c - the result object, its copies and its getters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

egcam_result *egcam__result_new(uint32_t channels, uint32_t lh, uint32_t lw, uint32_t ih,
                                uint32_t iw)
{
    egcam_result *res = egcam__calloc(1, sizeof *res);
    if (!res)
        return NULL;
    res->channels = channels;
    res->lh = lh;
    res->lw = lw;
    res->ih = ih;
    res->iw = iw;
    res->weights = egcam__malloc((size_t)channels * sizeof *res->weights);
    res->signed_map = egcam__malloc((size_t)lh * lw * sizeof *res->signed_map);
    res->layer_map = egcam__malloc((size_t)lh * lw * sizeof *res->layer_map);
    res->input_map = egcam__malloc((size_t)ih * iw * sizeof *res->input_map);
    res->normalized = egcam__malloc((size_t)ih * iw * sizeof *res->normalized);
    if (!res->weights || !res->signed_map || !res->layer_map || !res->input_map ||
        !res->normalized) {
        egcam_result_free(res);
        return NULL;
    }
    return res;
}

egcam_status egcam__result_set_logits(egcam_result *res, const float *logits, size_t classes)
{
    if (classes > UINT32_MAX)
        return EGCAM_E_INVALID_ARGUMENT;
    res->logits = egcam__alloc_array(classes, sizeof *res->logits);
    res->probabilities = egcam__alloc_array(classes, sizeof *res->probabilities);
    if (!res->logits || !res->probabilities)
        return EGCAM_E_OUT_OF_MEMORY;
    res->classes = (uint32_t)classes;
    memcpy(res->logits, logits, classes * sizeof *logits);
    /* Softmax from the largest logit down, in double: no overflow, and the
     * top class's exp(0) = 1 keeps the sum >= 1. The logits are finite. */
    double top = logits[0], sum = 0.0;
    for (size_t i = 1; i < classes; i++)
        top = logits[i] > top ? logits[i] : top;
    for (size_t i = 0; i < classes; i++)
        sum += exp((double)logits[i] - top);
    for (size_t i = 0; i < classes; i++)
        res->probabilities[i] = (float)(exp((double)logits[i] - top) / sum);
    return EGCAM_OK;
}

egcam_result *egcam__result_copy(const egcam_result *res)
{
    egcam_result *copy = egcam__result_new(res->channels, res->lh, res->lw, res->ih, res->iw);
    if (!copy)
        return NULL;
    size_t size = (size_t)res->channels * res->lh * res->lw;
    copy->term = egcam__alloc_array(size, sizeof *copy->term);
    copy->acts = egcam__alloc_array(size, sizeof *copy->acts);
    if (!copy->term || !copy->acts) {
        egcam_result_free(copy);
        return NULL;
    }
    memcpy(copy->term, res->term, size * sizeof *copy->term);
    memcpy(copy->acts, res->acts, size * sizeof *copy->acts);
    if (res->classes && egcam__result_set_logits(copy, res->logits, res->classes) != EGCAM_OK) {
        egcam_result_free(copy);
        return NULL;
    }
    copy->target = res->target;
    copy->flags = res->flags;
    copy->logit = res->logit;
    copy->completeness = res->completeness;
    copy->term_is_attribution = res->term_is_attribution;
    return copy;
}

void egcam_result_free(egcam_result *res)
{
    if (!res)
        return;
    free(res->term);
    free(res->acts);
    free(res->logits);
    free(res->probabilities);
    free(res->weights);
    free(res->signed_map);
    free(res->layer_map);
    free(res->input_map);
    free(res->normalized);
    free(res);
}

const float *egcam_result_map(const egcam_result *res, uint32_t kind, uint32_t *height,
                              uint32_t *width)
{
    const float *map = NULL;
    uint32_t h = 0, w = 0;
    if (res) {
        switch (kind) {
        case EGCAM_MAP_LAYER: map = res->layer_map, h = res->lh, w = res->lw; break;
        case EGCAM_MAP_INPUT: map = res->input_map, h = res->ih, w = res->iw; break;
        case EGCAM_MAP_NORMALIZED: map = res->normalized, h = res->ih, w = res->iw; break;
        case EGCAM_MAP_SIGNED: map = res->signed_map, h = res->lh, w = res->lw; break;
        default: break;
        }
    }
    if (height)
        *height = h;
    if (width)
        *width = w;
    return map;
}

const float *egcam_result_weights(const egcam_result *res, uint32_t *count)
{
    int has = res && res->has_weights;
    if (count)
        *count = has ? res->channels : 0;
    return has ? res->weights : NULL;
}

uint32_t egcam_result_combiner(const egcam_result *res) { return res ? res->combiner : 0; }

int32_t egcam_result_class(const egcam_result *res) { return res ? res->target : -1; }

uint32_t egcam_result_flags(const egcam_result *res) { return res ? res->flags : 0; }

const float *egcam_result_logits(const egcam_result *res, uint32_t *count)
{
    if (count)
        *count = res ? res->classes : 0;
    return res ? res->logits : NULL;
}

const float *egcam_result_probabilities(const egcam_result *res, uint32_t *count)
{
    if (count)
        *count = res ? res->classes : 0;
    return res ? res->probabilities : NULL;
}

double egcam_result_logit(const egcam_result *res) { return res ? res->logit : 0.0; }

double egcam_result_completeness(const egcam_result *res) { return res ? res->completeness : 0.0; }
