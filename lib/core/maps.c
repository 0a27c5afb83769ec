/* maps.c - from channel weights to the three maps of a result. */
#include "core.h"

void egcam__normalize(const float *in, float *out, size_t n)
{
    float lo, hi;
    egcam__minmax(in, n, &lo, &hi);
    double range = (double)hi - (double)lo;
    for (size_t i = 0; i < n; i++) /* a constant map has no "where": zeros */
        out[i] = range > 0.0 ? (float)(((double)in[i] - lo) / range) : 0.0f;
}

void egcam__result_maps(egcam_result *res, const float *acts)
{
    size_t area = (size_t)res->lh * res->lw;
    for (size_t p = 0; p < area; p++) {
        double v = 0.0;
        for (size_t k = 0; k < res->channels; k++)
            v += (double)res->weights[k] * acts[k * area + p];
        res->layer_map[p] = v > 0.0 ? (float)v : 0.0f;
    }
    /* The shared resampler without antialiasing is PyTorch's interpolate(
     * mode="bilinear", align_corners=False), even where the input is smaller
     * than the layer. Its scratch (lh x iw) is the normalized map, written
     * only afterwards: filtering each layer row once instead of once per
     * output row, with the same bits, and no allocation that could fail. */
    float *scratch = res->lh <= res->ih ? res->normalized : NULL;
    egcam__resample(res->layer_map, res->lh, res->lw, res->input_map, res->ih, res->iw, 0, scratch);
    egcam__normalize(res->input_map, res->normalized, (size_t)res->ih * res->iw);
}
