/* maps.c - from a result's layer map to its input-sized maps. */
#include "core.h"

void egcam__normalize(const float *in, float *out, size_t n)
{
    float lo, hi;
    egcam__minmax(in, n, &lo, &hi);
    double range = (double)hi - (double)lo;
    for (size_t i = 0; i < n; i++) /* a constant map has no "where": zeros */
        out[i] = range > 0.0 ? (float)(((double)in[i] - lo) / range) : 0.0f;
}

void egcam__result_resample(egcam_result *res)
{
    /* The shared resampler without antialiasing is PyTorch's interpolate(
     * mode="bilinear", align_corners=False), even where the input is smaller
     * than the layer. Its scratch (lh x iw) is the normalized map, written
     * only afterwards: filtering each layer row once instead of once per
     * output row, with the same bits, and no allocation that could fail. */
    float *scratch = res->lh <= res->ih ? res->normalized : NULL;
    egcam__resample(res->layer_map, res->lh, res->lw, res->input_map, res->ih, res->iw, 0, scratch);
    egcam__normalize(res->input_map, res->normalized, (size_t)res->ih * res->iw);
}
