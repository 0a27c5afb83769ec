/*
 * test_maps.c - from channel weights to pictures: the layer map's ReLU, the
 * bilinear upsampling against PyTorch's F.interpolate (align_corners=False,
 * values in upsample_reference.h, made by fixtures/make_upsample_reference.py),
 * and normalisation, including the all-zero map.
 *
 * The backend here returns a fixed one-channel activation map and a gradient
 * of ones, so Grad-CAM's weight is exactly 1 and its layer map is ReLU(map).
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <egcam/egcam.h>
#include <egcam/egcam_backend.h>

#include "upsample_reference.h"

typedef struct fixed_map {
    const float *map;
    unsigned h, w;
    float logit;
    float ones[64 * 64];
} fixed_map;

static egcam_status fixed_forward(void *self, const egcam_tensor *in, uint32_t flags,
                                  egcam_tensor *acts, egcam_tensor *logits, char *err, size_t n)
{
    fixed_map *m = self;
    (void)flags, (void)err, (void)n;
    if (in->shape[0] != 1)
        return EGCAM_E_BACKEND;
    *acts = (egcam_tensor){m->map, {1, 1, m->h, m->w}, 4, 0};
    *logits = (egcam_tensor){&m->logit, {1, 1}, 2, 0};
    return EGCAM_OK;
}

static egcam_status fixed_backward(void *self, const float *seed, egcam_tensor *grad, char *err,
                                   size_t n)
{
    fixed_map *m = self;
    (void)seed, (void)err, (void)n;
    *grad = (egcam_tensor){m->ones, {1, 1, m->h, m->w}, 4, 0};
    return EGCAM_OK;
}

static const egcam_backend_ops fixed_ops = {
    .abi_version = EGCAM_BACKEND_ABI_VERSION,
    .struct_size = sizeof(egcam_backend_ops),
    .name = "fixed",
    .forward = fixed_forward,
    .backward = fixed_backward,
};

/* Grad-CAM of a fixed map on a 1 x H x W input. */
static egcam_result *explain_map(const float *map, unsigned h, unsigned w, unsigned H, unsigned W)
{
    static fixed_map model;
    static float input[64 * 64];
    model.map = map;
    model.h = h;
    model.w = w;
    for (size_t i = 0; i < sizeof model.ones / sizeof model.ones[0]; i++)
        model.ones[i] = 1.0f;
    egcam_ctx *ctx;
    egcam_backend *be;
    egcam_config cfg;
    egcam_result *res = NULL;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_backend_new(ctx, &fixed_ops, &model, &be), EGCAM_OK);
    assert_int_equal(egcam_config_init(&cfg), EGCAM_OK);
    cfg.method = EGCAM_METHOD_GRADCAM;
    egcam_tensor t = {input, {1, H, W}, 3, 0};
    assert_int_equal(egcam_explain(ctx, be, &cfg, &t, NULL, &res), EGCAM_OK);
    egcam_backend_free(be);
    egcam_ctx_free(ctx);
    return res;
}

static void test_layer_map_is_relu(void **state)
{
    (void)state;
    const upsample_case *c = &upsample_cases[0];
    egcam_result *res = explain_map(c->layer, c->h, c->w, c->H, c->W);
    uint32_t count, h, w;
    const float *weights = egcam_result_weights(res, &count);
    assert_int_equal(count, 1);
    assert_true(weights[0] == 1.0f);
    const float *layer = egcam_result_map(res, EGCAM_MAP_LAYER, &h, &w);
    assert_int_equal(h, c->h);
    assert_int_equal(w, c->w);
    for (size_t i = 0; i < h * w; i++)
        assert_true(layer[i] == (c->layer[i] > 0.0f ? c->layer[i] : 0.0f));
    egcam_result_free(res);
}

static void test_upsampling_matches_pytorch(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof upsample_cases / sizeof upsample_cases[0]; k++) {
        const upsample_case *c = &upsample_cases[k];
        egcam_result *res = explain_map(c->layer, c->h, c->w, c->H, c->W);
        uint32_t h, w;
        const float *up = egcam_result_map(res, EGCAM_MAP_INPUT, &h, &w);
        assert_int_equal(h, c->H);
        assert_int_equal(w, c->W);
        for (size_t i = 0; i < h * w; i++)
            if (fabsf(up[i] - c->input[i]) > 1e-6f * (1.0f + fabsf(c->input[i])))
                fail_msg("%s: pixel %zu is %.9g; PyTorch gives %.9g", c->name, i, up[i],
                         c->input[i]);
        egcam_result_free(res);
    }
}

static void test_normalized_map(void **state)
{
    (void)state;
    const upsample_case *c = &upsample_cases[2];
    egcam_result *res = explain_map(c->layer, c->h, c->w, c->H, c->W);
    uint32_t h, w;
    const float *up = egcam_result_map(res, EGCAM_MAP_INPUT, &h, &w);
    const float *norm = egcam_result_map(res, EGCAM_MAP_NORMALIZED, NULL, NULL);
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < h * w; i++) {
        lo = fminf(lo, up[i]);
        hi = fmaxf(hi, up[i]);
    }
    assert_true(hi > lo);
    float seen_lo = INFINITY, seen_hi = -INFINITY;
    for (size_t i = 0; i < h * w; i++) {
        assert_float_equal(norm[i], (up[i] - lo) / (hi - lo), 1e-6);
        seen_lo = fminf(seen_lo, norm[i]);
        seen_hi = fmaxf(seen_hi, norm[i]);
    }
    assert_true(seen_lo == 0.0f);
    assert_float_equal(seen_hi, 1.0f, 1e-7);
    egcam_result_free(res);
}

/* A map the ReLU wipes out stays all zeros after normalising: no NaN. */
static void test_all_zero_map(void **state)
{
    (void)state;
    static const float negative[4] = {-1.0f, -2.0f, -0.5f, -3.0f};
    egcam_result *res = explain_map(negative, 2, 2, 5, 7);
    uint32_t h, w;
    const float *layer = egcam_result_map(res, EGCAM_MAP_LAYER, NULL, NULL);
    const float *norm = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w);
    for (size_t i = 0; i < 4; i++)
        assert_true(layer[i] == 0.0f);
    for (size_t i = 0; i < h * w; i++)
        assert_true(norm[i] == 0.0f);
    egcam_result_free(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_map_is_relu),
        cmocka_unit_test(test_upsampling_matches_pytorch),
        cmocka_unit_test(test_normalized_map),
        cmocka_unit_test(test_all_zero_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
