/* blur.c - Gaussian blur, the built-in "blurred input" reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Clamp an index into [0, n): edges are replicated. */
static size_t clamp_index(ptrdiff_t i, size_t n)
{
    return i < 0 ? 0 : (size_t)i >= n ? n - 1 : (size_t)i;
}

/* One 1-D pass over `lines` lines of `len` samples each, `stride` apart
 * within a line and `step` apart between lines. */
static void convolve(const float *in, float *out, size_t lines, size_t step, size_t len,
                     size_t stride, const double *kernel, ptrdiff_t radius)
{
    for (size_t l = 0; l < lines; l++) {
        const float *src = in + l * step;
        float *dst = out + l * step;
        for (size_t i = 0; i < len; i++) {
            double sum = 0.0;
            for (ptrdiff_t k = -radius; k <= radius; k++)
                sum += kernel[k + radius] * src[clamp_index((ptrdiff_t)i + k, len) * stride];
            dst[i * stride] = (float)sum;
        }
    }
}

egcam_status egcam__blur(const float *in, float *out, egcam__shape s, double sigma)
{
    size_t n = egcam__shape_size(s);
    if (!(sigma > 1e-3)) { /* narrower than a pixel: the input itself */
        memcpy(out, in, n * sizeof *out);
        return EGCAM_OK;
    }
    ptrdiff_t radius = (ptrdiff_t)ceil(3.0 * sigma);
    double *kernel = egcam__malloc((size_t)(2 * radius + 1) * sizeof *kernel);
    float *tmp = egcam__malloc(n * sizeof *tmp);
    if (!kernel || !tmp) {
        free(kernel);
        free(tmp);
        return EGCAM_E_OUT_OF_MEMORY;
    }
    double total = 0.0;
    for (ptrdiff_t k = -radius; k <= radius; k++)
        total += kernel[k + radius] = exp(-0.5 * (double)(k * k) / (sigma * sigma));
    for (ptrdiff_t k = 0; k <= 2 * radius; k++)
        kernel[k] /= total;
    /* Rows (every row of every channel), then columns. */
    convolve(in, tmp, s.c * s.h, s.w, s.w, 1, kernel, radius);
    for (size_t c = 0; c < s.c; c++)
        convolve(tmp + c * s.h * s.w, out + c * s.h * s.w, s.w, 1, s.h, s.w, kernel, radius);
    free(kernel);
    free(tmp);
    return EGCAM_OK;
}
