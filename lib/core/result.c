/* result.c - the result object and its getters. */
#include <stdlib.h>

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
    res->layer_map = egcam__malloc((size_t)lh * lw * sizeof *res->layer_map);
    res->input_map = egcam__malloc((size_t)ih * iw * sizeof *res->input_map);
    res->normalized = egcam__malloc((size_t)ih * iw * sizeof *res->normalized);
    if (!res->weights || !res->layer_map || !res->input_map || !res->normalized) {
        egcam_result_free(res);
        return NULL;
    }
    return res;
}

void egcam_result_free(egcam_result *res)
{
    if (!res)
        return;
    free(res->weights);
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
    if (count)
        *count = res ? res->channels : 0;
    return res ? res->weights : NULL;
}

int32_t egcam_result_class(const egcam_result *res) { return res ? res->target : -1; }

uint32_t egcam_result_flags(const egcam_result *res) { return res ? res->flags : 0; }

double egcam_result_logit(const egcam_result *res) { return res ? res->logit : 0.0; }

double egcam_result_completeness(const egcam_result *res) { return res ? res->completeness : 0.0; }
