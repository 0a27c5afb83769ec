/* saturation.c - the layer along the straight path from zeros (saturation.h).
 *
 * Internal saturation (Buono et al.): once the layer's activations along
 * the path a x stop changing direction, the gradient there says little,
 * and a path integral gathers its mass early. The cosine of A(a x) with
 * A(x) says how soon that happens; the logit says what the output does
 * meanwhile. */
#include "saturation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double cosine_of(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

egcam_status cli_saturation(egcam_ctx *ctx, egcam_backend *backend, const egcam_tensor *x,
                            int32_t cls, uint32_t points, uint32_t batch, double *cosine,
                            double *logit)
{
    int nd = x->ndim == 4 ? 1 : 0; /* [1, C, H, W] or [C, H, W] */
    uint32_t C = x->shape[nd], H = x->shape[nd + 1], W = x->shape[nd + 2];
    size_t in = (size_t)C * H * W;
    if (points < 2 || batch == 0)
        return egcam_ctx_set_error(ctx, EGCAM_E_INVALID_ARGUMENT,
                                   "saturation: at least 2 points and a batch of 1");
    /* A(x) first: it is what every other point is compared with. */
    egcam_tensor one = {x->data, {1, C, H, W}, 4, 0}, acts, logits;
    egcam_status st = egcam_backend_forward(ctx, backend, &one, 0, &acts, &logits);
    if (st != EGCAM_OK)
        return st;
    size_t n = (size_t)acts.shape[1] * acts.shape[2] * acts.shape[3];
    uint32_t L = logits.shape[1];
    if (cls < 0)
        for (uint32_t j = 0; j < L; j++)
            cls = cls < 0 || logits.data[j] > logits.data[cls] ? (int32_t)j : cls;
    if ((uint32_t)cls >= L)
        return egcam_ctx_set_error(ctx, EGCAM_E_CLASS_OUT_OF_RANGE,
                                   "saturation: the class is not among the model's logits");
    float *target = malloc(n * sizeof *target);
    float *rows = malloc((size_t)batch * in * sizeof *rows);
    if (!target || !rows) {
        free(target);
        free(rows);
        return egcam_ctx_set_error(ctx, EGCAM_E_OUT_OF_MEMORY, "saturation: out of memory");
    }
    memcpy(target, acts.data, n * sizeof *target);
    cosine[points - 1] = cosine_of(target, target, n);
    logit[points - 1] = logits.data[cls];
    for (uint32_t j0 = 0; j0 + 1 < points && st == EGCAM_OK; j0 += batch) {
        uint32_t m = points - 1 - j0 < batch ? points - 1 - j0 : batch;
        for (uint32_t r = 0; r < m; r++) {
            float a = (float)(j0 + r) / (float)(points - 1);
            for (size_t i = 0; i < in; i++)
                rows[r * in + i] = a * x->data[i];
        }
        egcam_tensor t = {rows, {m, C, H, W}, 4, 0};
        st = egcam_backend_forward(ctx, backend, &t, 0, &acts, &logits);
        for (uint32_t r = 0; r < m && st == EGCAM_OK; r++) {
            cosine[j0 + r] = cosine_of(acts.data + r * n, target, n);
            logit[j0 + r] = logits.data[(size_t)r * L + (size_t)cls];
        }
    }
    free(target);
    free(rows);
    return st;
}

double cli_saturation_area(const double *cosine, uint32_t points)
{
    double area = 0;
    for (uint32_t j = 1; j < points; j++)
        area += 0.5 * (cosine[j - 1] + cosine[j]);
    return area / (double)(points - 1);
}

double cli_saturation_alpha(const double *cosine, uint32_t points, double level)
{
    for (uint32_t j = 0; j < points; j++)
        if (cosine[j] >= level)
            return (double)j / (double)(points - 1);
    return 1.0;
}
