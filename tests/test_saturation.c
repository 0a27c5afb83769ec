/*
 * test_saturation.c - the saturation metric of `egcam eval`
 * (tools/egcam/saturation.c) on the analytic backend, whose layer is affine
 * in the input, A(a x) = q + a P m(x), and whose logits are a cubic in A:
 * the cosine and logit curves have closed forms computed here in double
 * precision, independently of the code under test.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytic_backend.h"
#include "saturation.h"

enum { C = 2, H = 4, W = 6, S = 2, K = 3, L = 4, P = 17 };

/* A(a x) of the analytic model, K*h*w, in double. */
static void layer_at(const analytic_model *m, const float *x, double a, double *out)
{
    const double *Pm, *q;
    analytic_params(m, &Pm, &q, NULL, NULL, NULL);
    uint32_t h = H / S, w = W / S;
    for (uint32_t k = 0; k < K; k++)
        for (uint32_t i = 0; i < h; i++)
            for (uint32_t j = 0; j < w; j++) {
                double v = q[k];
                for (uint32_t c = 0; c < C; c++) {
                    double mean = 0;
                    for (uint32_t di = 0; di < S; di++)
                        for (uint32_t dj = 0; dj < S; dj++)
                            mean += x[(c * H + i * S + di) * W + j * S + dj];
                    v += Pm[k * C + c] * a * mean / (S * S);
                }
                out[(k * h + i) * w + j] = v;
            }
}

static double logit_of(const analytic_model *m, const double *A, uint32_t l)
{
    const double *V, *u, *b, *t;
    analytic_params(m, NULL, NULL, &V, &u, &b);
    analytic_params_cubic(m, &t);
    size_t area = (size_t)(H / S) * (W / S);
    double y = b[l];
    for (uint32_t k = 0; k < K; k++) {
        double sum = 0;
        for (size_t p = 0; p < area; p++) {
            y += V[(l * K + k) * area + p] * A[k * area + p];
            sum += A[k * area + p];
        }
        y += 0.5 * u[l * K + k] * sum * sum + t[l * K + k] * sum * sum * sum / 6.0;
    }
    return y;
}

static void test_closed_form(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    egcam_backend *be;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    analytic_model *m = analytic_new(C, H, W, S, K, L, 77);
    assert_non_null(m);
    assert_int_equal(analytic_wrap(ctx, m, &be), EGCAM_OK);
    float x[C * H * W];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)sin(0.7 * (double)i + 1.0);
    egcam_tensor input = {x, {C, H, W, 0}, 3, 0};
    size_t n = (size_t)K * (H / S) * (W / S);
    double target[K * (H / S) * (W / S)], at[K * (H / S) * (W / S)];
    layer_at(m, x, 1.0, target);
    int32_t top = 0;
    for (uint32_t l = 1; l < L; l++)
        top = logit_of(m, target, l) > logit_of(m, target, (uint32_t)top) ? (int32_t)l : top;

    double first[2][P];
    const uint32_t batches[] = {1, 3, 16, 64};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        double cosine[P], logit[P];
        assert_int_equal(cli_saturation(ctx, be, &input, -1, P, batches[b], cosine, logit),
                         EGCAM_OK);
        for (uint32_t j = 0; j < P; j++) {
            double a = (double)j / (P - 1), ab = 0, aa = 0, tt = 0;
            layer_at(m, x, a, at);
            for (size_t i = 0; i < n; i++) {
                ab += at[i] * target[i];
                aa += at[i] * at[i];
                tt += target[i] * target[i];
            }
            assert_true(fabs(cosine[j] - ab / sqrt(aa * tt)) < 1e-5);
            assert_true(fabs(logit[j] - logit_of(m, at, (uint32_t)top)) < 1e-4);
        }
        if (b == 0) {
            memcpy(first[0], cosine, sizeof cosine);
            memcpy(first[1], logit, sizeof logit);
        } else { /* the batch size changes nothing */
            assert_memory_equal(first[0], cosine, sizeof cosine);
            assert_memory_equal(first[1], logit, sizeof logit);
        }
    }
    /* Another class: its logit, the same cosine. */
    double cosine[P], logit[P];
    uint32_t other = (uint32_t)(top + 1) % L;
    assert_int_equal(cli_saturation(ctx, be, &input, (int32_t)other, P, 4, cosine, logit),
                     EGCAM_OK);
    assert_memory_equal(first[0], cosine, sizeof cosine);
    assert_true(fabs(logit[P - 1] - logit_of(m, target, other)) < 1e-4);
    assert_int_equal(cli_saturation(ctx, be, &input, L, P, 4, cosine, logit),
                     EGCAM_E_CLASS_OUT_OF_RANGE);
    assert_int_equal(cli_saturation(ctx, be, &input, -1, 1, 4, cosine, logit),
                     EGCAM_E_INVALID_ARGUMENT);
    egcam_backend_free(be);
    egcam_ctx_free(ctx);
}

static void test_area_and_alpha(void **state)
{
    (void)state;
    const double flat[5] = {1, 1, 1, 1, 1}, ramp[5] = {0, 0.25, 0.5, 0.75, 1};
    const double late[5] = {0, 0.2, 0.5, 0.95, 1};
    assert_true(fabs(cli_saturation_area(flat, 5) - 1.0) < 1e-12);
    assert_true(fabs(cli_saturation_area(ramp, 5) - 0.5) < 1e-12);
    assert_true(fabs(cli_saturation_alpha(ramp, 5, 0.9) - 1.0) < 1e-12);
    assert_true(fabs(cli_saturation_alpha(late, 5, 0.9) - 0.75) < 1e-12);
    assert_true(fabs(cli_saturation_alpha(flat, 5, 0.9)) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_form),
        cmocka_unit_test(test_area_and_alpha),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
