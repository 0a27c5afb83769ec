/* maps.c - from channel weights to the three maps of a result. */
#include "internal.h"

void egcam__upsample_bilinear(const float *in, size_t ih, size_t iw, float *out, size_t oh,
                              size_t ow)
{
    /* Half-pixel centres, as PyTorch's interpolate(mode="bilinear",
     * align_corners=False) and OpenCV's INTER_LINEAR: output pixel d samples
     * the input at (d + 0.5) * in/out - 0.5, clamped at 0 from below. */
    double sy = (double)ih / (double)oh, sx = (double)iw / (double)ow;
    for (size_t y = 0; y < oh; y++) {
        double fy = sy * ((double)y + 0.5) - 0.5;
        fy = fy < 0.0 ? 0.0 : fy;
        size_t y0 = (size_t)fy, y1 = y0 + (y0 + 1 < ih);
        double ly = fy - (double)y0;
        for (size_t x = 0; x < ow; x++) {
            double fx = sx * ((double)x + 0.5) - 0.5;
            fx = fx < 0.0 ? 0.0 : fx;
            size_t x0 = (size_t)fx, x1 = x0 + (x0 + 1 < iw);
            double lx = fx - (double)x0;
            double top = (1.0 - lx) * in[y0 * iw + x0] + lx * in[y0 * iw + x1];
            double bottom = (1.0 - lx) * in[y1 * iw + x0] + lx * in[y1 * iw + x1];
            out[y * ow + x] = (float)((1.0 - ly) * top + ly * bottom);
        }
    }
}

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
    egcam__upsample_bilinear(res->layer_map, res->lh, res->lw, res->input_map, res->ih, res->iw);
    egcam__normalize(res->input_map, res->normalized, (size_t)res->ih * res->iw);
}
