/*
 * test_pictures.c - images to inputs and maps to pictures: preprocessing
 * against torchvision (resize with antialias, to-tensor scaling, normalize;
 * values in picture_reference.h, made by fixtures/make_picture_reference.py),
 * colour maps against matplotlib, the overlay's blend arithmetic, the
 * panel's layout and captions, and bad inputs getting their own statuses.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

#include "picture_reference.h"

/* A failed call: its status, a message in ctx, and no output. */
#define assert_failed(ctx, call, status, out)                                                      \
  do {                                                                                             \
    assert_int_equal((call), (status));                                                            \
    assert_true(egcam_ctx_last_error(ctx)[0] != '\0');                                             \
    assert_null(out);                                                                              \
  } while (0)

static egcam_image image_of(const unsigned char *px, unsigned w, unsigned h, unsigned c)
{
    return (egcam_image){(uint8_t *)px, w, h, c, 0};
}

/* ---- preprocessing ------------------------------------------------------ */

static void test_preprocess_matches_torchvision(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    for (size_t k = 0; k < sizeof picture_cases / sizeof picture_cases[0]; k++) {
        const picture_case *c = &picture_cases[k];
        egcam_image img = image_of(c->src, c->src_w, c->src_h, c->src_c);
        egcam_preprocess p;
        if (c->imagenet) {
            assert_int_equal(egcam_preprocess_init_imagenet(&p), EGCAM_OK);
        } else {
            assert_int_equal(egcam_preprocess_init(&p), EGCAM_OK);
            p.channels = c->channels;
            memcpy(p.mean, c->mean, sizeof p.mean);
            memcpy(p.std, c->std, sizeof p.std);
        }
        p.width = c->width;
        p.height = c->height;
        p.resize = c->resize;
        egcam_tensor *t = NULL;
        assert_int_equal(egcam_preprocess_image(ctx, &img, &p, &t), EGCAM_OK);
        assert_int_equal(t->ndim, 3);
        assert_int_equal(t->shape[0], c->ref_c);
        assert_int_equal(t->shape[1], c->ref_h);
        assert_int_equal(t->shape[2], c->ref_w);
        for (size_t i = 0; i < (size_t)c->ref_c * c->ref_h * c->ref_w; i++)
            if (fabsf(t->data[i] - c->ref[i]) > 1e-5f * (1.0f + fabsf(c->ref[i])))
                fail_msg("%s: element %zu is %.9g; torchvision gives %.9g", c->name, i, t->data[i],
                         c->ref[i]);
        egcam_tensor_free(t);
    }
    egcam_ctx_free(ctx);
}

/* The ImageNet preset with resize 256 and a centre crop of 224 is
 * torchvision's evaluation transform, as users run it on a PIL image:
 * within 1/255 of the pixel range (PIL's resized pixels are bytes). The
 * source is make_picture_reference.py's formula; its crop starts at column
 * 58 (58.5 rounded half to even). */
static void test_imagenet_evaluation_transform(void **state)
{
    (void)state;
    static unsigned char px[EVAL_H * EVAL_W * 3];
    for (int64_t y = 0; y < EVAL_H; y++)
        for (int64_t x = 0; x < EVAL_W; x++)
            for (int64_t k = 0; k < 3; k++)
                px[(y * EVAL_W + x) * 3 + k] =
                    (unsigned char)((37 * y + 91 * x + 53 * k + 11 * x * y + EVAL_SEED) % 256);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image img = image_of(px, EVAL_W, EVAL_H, 3);
    egcam_preprocess p;
    assert_int_equal(egcam_preprocess_init_imagenet(&p), EGCAM_OK);
    p.resize = 256;
    p.width = p.height = 224;
    egcam_tensor *t = NULL;
    assert_int_equal(egcam_preprocess_image(ctx, &img, &p, &t), EGCAM_OK);
    assert_int_equal(t->shape[0], 3);
    assert_int_equal(t->shape[1], 224);
    assert_int_equal(t->shape[2], 224);
    double worst = 0; /* in steps of 1/255 of the pixel range */
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < EVAL_COUNT; i++)
            for (int j = 0; j < EVAL_COUNT; j++) {
                float ours = t->data[((size_t)c * 224 + eval_at[i]) * 224 + eval_at[j]];
                float ref = eval_ref[((size_t)c * EVAL_COUNT + i) * EVAL_COUNT + j];
                double steps = fabs((double)ours - ref) * p.std[c] * 255.0;
                worst = steps > worst ? steps : worst;
                if (steps > 1.0 + 1e-3)
                    fail_msg("channel %d, (%u, %u): %.6g against torchvision's %.6g, %.3f steps "
                             "of 1/255",
                             c, eval_at[i], eval_at[j], ours, ref, steps);
            }
    printf("# ImageNet evaluation transform: within %.3f of 1/255 of torchvision's\n", worst);
    egcam_tensor_free(t);

    /* Without the resize, the same fields stretch: not torchvision's. */
    p.resize = 0;
    assert_int_equal(egcam_preprocess_image(ctx, &img, &p, &t), EGCAM_OK);
    double off = 0;
    for (int i = 0; i < EVAL_COUNT; i++)
        off = fmax(off, fabs((double)t->data[(size_t)eval_at[i] * 224 + eval_at[i]] -
                             eval_ref[(size_t)i * EVAL_COUNT + i]));
    assert_true(off * p.std[0] * 255.0 > 2.0);
    egcam_tensor_free(t);
    egcam_ctx_free(ctx);
}

/* Resizing's own bad values: a resize past 65535, one whose longer side
 * makes the image too large. */
static void test_resize_bad_values(void **state)
{
    (void)state;
    static const unsigned char px[1 * 400 * 1] = {0};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image img = image_of(px, 400, 1, 1);
    egcam_preprocess p;
    assert_int_equal(egcam_preprocess_init(&p), EGCAM_OK);
    egcam_tensor *t = NULL;
    p.resize = 65536;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &p, &t), EGCAM_E_INVALID_ARGUMENT, t);
    assert_non_null(strstr(egcam_ctx_last_error(ctx), "resize"));
    p.resize = 65535; /* 65535 x 26214000 */
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &p, &t), EGCAM_E_INVALID_ARGUMENT, t);
    assert_non_null(strstr(egcam_ctx_last_error(ctx), "too large"));
    p.width = p.height = 8; /* a crop of it does not make it smaller first */
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &p, &t), EGCAM_E_INVALID_ARGUMENT, t);
    p.resize = 2; /* 2 x 800, its centre 8 x 8: rows padded with zeros */
    assert_int_equal(egcam_preprocess_image(ctx, &img, &p, &t), EGCAM_OK);
    assert_int_equal(t->shape[1], 8);
    egcam_tensor_free(t);
    egcam_ctx_free(ctx);
}

static void test_preprocess_init(void **state)
{
    (void)state;
    egcam_preprocess p;
    memset(&p, 0xab, sizeof p);
    assert_int_equal(egcam_preprocess_init(&p), EGCAM_OK);
    assert_int_equal(p.struct_size, sizeof p);
    assert_int_equal(p.width, 0);
    assert_int_equal(p.height, 0);
    assert_int_equal(p.channels, 0);
    assert_int_equal(p.resize, 0);
    for (int c = 0; c < 3; c++) {
        assert_true(p.mean[c] == 0.0f);
        assert_true(p.std[c] == 1.0f);
    }
    assert_int_equal(egcam_preprocess_init_imagenet(&p), EGCAM_OK);
    assert_int_equal(p.channels, 3);
    assert_true(p.mean[0] == 0.485f && p.mean[1] == 0.456f && p.mean[2] == 0.406f);
    assert_true(p.std[0] == 0.229f && p.std[1] == 0.224f && p.std[2] == 0.225f);
    assert_int_equal(egcam_preprocess_init_sized(NULL, sizeof p), EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_preprocess_init_sized(&p, sizeof p - 1), EGCAM_E_STRUCT_SIZE);
    assert_int_equal(egcam_preprocess_init_imagenet_sized(&p, 4), EGCAM_E_STRUCT_SIZE);
}

static void test_preprocess_bad_inputs(void **state)
{
    (void)state;
    static const unsigned char px[4 * 3 * 4] = {0};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image img = image_of(px, 3, 4, 3), bad;
    egcam_preprocess p, q;
    assert_int_equal(egcam_preprocess_init(&p), EGCAM_OK);
    egcam_tensor *t = NULL;

    t = (egcam_tensor *)&p; /* a NULL ctx still clears the output */
    assert_int_equal(egcam_preprocess_image(NULL, &img, &p, &t), EGCAM_E_NULL_ARGUMENT);
    assert_null(t);
    assert_int_equal(egcam_preprocess_image(ctx, &img, &p, NULL), EGCAM_E_NULL_ARGUMENT);
    assert_failed(ctx, egcam_preprocess_image(ctx, NULL, &p, &t), EGCAM_E_NULL_ARGUMENT, t);
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, NULL, &t), EGCAM_E_NULL_ARGUMENT, t);
    bad = img, bad.pixels = NULL;
    assert_failed(ctx, egcam_preprocess_image(ctx, &bad, &p, &t), EGCAM_E_NULL_ARGUMENT, t);
    bad = img, bad.width = 0;
    assert_failed(ctx, egcam_preprocess_image(ctx, &bad, &p, &t), EGCAM_E_EMPTY, t);
    bad = img, bad.height = 0;
    assert_failed(ctx, egcam_preprocess_image(ctx, &bad, &p, &t), EGCAM_E_EMPTY, t);
    bad = img, bad.channels = 2;
    assert_failed(ctx, egcam_preprocess_image(ctx, &bad, &p, &t), EGCAM_E_INVALID_ARGUMENT, t);
    bad = img, bad.reserved = 1;
    assert_failed(ctx, egcam_preprocess_image(ctx, &bad, &p, &t), EGCAM_E_STRUCT_SIZE, t);

    q = p, q.struct_size = 0;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_STRUCT_SIZE, t);
    q = p, q.struct_size = sizeof q - 8;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_STRUCT_SIZE, t);
    q = p, q.reserved[0] = 1;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_STRUCT_SIZE, t);
    q = p, q.reserved[31] = 1;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_STRUCT_SIZE, t);
    q = p, q.channels = 2;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_INVALID_ARGUMENT, t);
    q = p, q.channels = 4;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_INVALID_ARGUMENT, t);
    q = p, q.std[1] = 0.0f;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_INVALID_ARGUMENT, t);
    q = p, q.std[2] = -1.0f;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_INVALID_ARGUMENT, t);
    q = p, q.mean[0] = NAN;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_NON_FINITE, t);
    q = p, q.std[0] = INFINITY;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_NON_FINITE, t);
    q = p, q.std[1] = NAN;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_NON_FINITE, t);
    q = p, q.width = 1u << 16, q.height = 1u << 16;
    assert_failed(ctx, egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_E_INVALID_ARGUMENT, t);

    /* A gray output uses only the first mean and std. */
    q = p, q.channels = 1, q.std[1] = 0.0f, q.mean[2] = NAN;
    assert_int_equal(egcam_preprocess_image(ctx, &img, &q, &t), EGCAM_OK);
    assert_string_equal(egcam_ctx_last_error(ctx), "");
    assert_int_equal(t->shape[0], 1);
    egcam_tensor_free(t);
    egcam_ctx_free(ctx);
}

/* ---- colour maps -------------------------------------------------------- */

static void test_colormap_matches_matplotlib(void **state)
{
    (void)state;
    size_t nv = sizeof colormap_values / sizeof colormap_values[0];
    for (size_t k = 0; k < sizeof colormap_cases / sizeof colormap_cases[0]; k++) {
        const colormap_case *c = &colormap_cases[k];
        uint32_t id = egcam_colormap_by_name(c->name);
        assert_true(id != 0);
        for (size_t i = 0; i < nv; i++) {
            uint8_t rgb[3];
            assert_int_equal(egcam_colormap(id, colormap_values[i], rgb), EGCAM_OK);
            if (memcmp(rgb, c->rgb[i], 3) != 0)
                fail_msg("%s(%.9g) is (%u, %u, %u); matplotlib gives (%u, %u, %u)", c->name,
                         (double)colormap_values[i], rgb[0], rgb[1], rgb[2], c->rgb[i][0],
                         c->rgb[i][1], c->rgb[i][2]);
        }
        uint8_t nan_rgb[3], zero_rgb[3]; /* NaN paints as 0 */
        assert_int_equal(egcam_colormap(id, NAN, nan_rgb), EGCAM_OK);
        assert_int_equal(egcam_colormap(id, 0.0f, zero_rgb), EGCAM_OK);
        assert_memory_equal(nan_rgb, zero_rgb, 3);
    }
}

static void test_colormap_names_and_errors(void **state)
{
    (void)state;
    assert_int_equal(egcam_colormap_by_name("turbo"), EGCAM_COLORMAP_TURBO);
    assert_int_equal(egcam_colormap_by_name("jet"), EGCAM_COLORMAP_JET);
    assert_int_equal(egcam_colormap_by_name("viridis"), EGCAM_COLORMAP_VIRIDIS);
    assert_int_equal(egcam_colormap_by_name("inferno"), EGCAM_COLORMAP_INFERNO);
    assert_int_equal(egcam_colormap_by_name("parula"), 0);
    assert_int_equal(egcam_colormap_by_name(""), 0);
    assert_int_equal(egcam_colormap_by_name(NULL), 0);
    uint8_t rgb[3];
    assert_int_equal(egcam_colormap(0, 0.5f, rgb), EGCAM_E_INVALID_ARGUMENT);
    assert_int_equal(egcam_colormap(5, 0.5f, rgb), EGCAM_E_INVALID_ARGUMENT);
    assert_int_equal(egcam_colormap(EGCAM_COLORMAP_JET, 0.5f, NULL), EGCAM_E_NULL_ARGUMENT);
}

/* ---- overlay ------------------------------------------------------------ */

static void colour(uint32_t map, float v, uint8_t rgb[3])
{
    assert_int_equal(egcam_colormap(map, v, rgb), EGCAM_OK);
}

static uint8_t blend(uint8_t pixel, uint8_t col, float opacity)
{
    double v = (1.0 - opacity) * pixel + (double)opacity * col;
    return (uint8_t)floor(v + 0.5);
}

static void test_overlay_blend(void **state)
{
    (void)state;
    static const unsigned char rgb[2 * 3 * 3] = {100, 0, 255, 10, 20,  30,  255, 255, 255,
                                                 0,   0, 0,   77, 128, 201, 3,   250, 17};
    static const float map[6] = {0.0f, 1.0f, 0.5f, 0.3f, 0.75f, 0.1f};
    static const float opacities[] = {0.0f, 0.25f, 0.5f, 0.6f, 1.0f};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image img = image_of(rgb, 3, 2, 3);
    for (size_t k = 0; k < sizeof opacities / sizeof opacities[0]; k++) {
        egcam_image *out = NULL;
        assert_int_equal(
            egcam_render_overlay(ctx, &img, map, 2, 3, EGCAM_COLORMAP_VIRIDIS, opacities[k], &out),
            EGCAM_OK);
        assert_int_equal(out->width, 3);
        assert_int_equal(out->height, 2);
        assert_int_equal(out->channels, 3);
        for (size_t i = 0; i < 6; i++) {
            uint8_t col[3];
            colour(EGCAM_COLORMAP_VIRIDIS, map[i], col);
            for (size_t c = 0; c < 3; c++)
                assert_int_equal(out->pixels[i * 3 + c],
                                 blend(rgb[i * 3 + c], col[c], opacities[k]));
        }
        if (opacities[k] == 0.5f) { /* by hand: viridis(0) = (68, 1, 84) over (100, 0, 255) */
            assert_int_equal(out->pixels[0], 84);
            assert_int_equal(out->pixels[1], 1);   /* 0.5 rounds up */
            assert_int_equal(out->pixels[2], 170); /* 169.5 */
        }
        egcam_image_free(out);
    }
    egcam_ctx_free(ctx);
}

/* Gray shows as RGB; RGBA's alpha is ignored. */
static void test_overlay_gray_and_rgba(void **state)
{
    (void)state;
    static const unsigned char gray[4] = {0, 90, 180, 255};
    unsigned char rgb[12], rgba[16];
    for (size_t i = 0; i < 4; i++)
        for (size_t c = 0; c < 4; c++) {
            if (c < 3)
                rgb[i * 3 + c] = gray[i];
            rgba[i * 4 + c] = c < 3 ? gray[i] : (unsigned char)(37 * i);
        }
    static const float map[4] = {0.2f, 0.4f, 0.6f, 0.8f};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image g = image_of(gray, 2, 2, 1), c3 = image_of(rgb, 2, 2, 3),
                c4 = image_of(rgba, 2, 2, 4);
    egcam_image *og = NULL, *o3 = NULL, *o4 = NULL;
    assert_int_equal(egcam_render_overlay(ctx, &g, map, 2, 2, EGCAM_COLORMAP_TURBO, 0.4f, &og),
                     EGCAM_OK);
    assert_int_equal(egcam_render_overlay(ctx, &c3, map, 2, 2, EGCAM_COLORMAP_TURBO, 0.4f, &o3),
                     EGCAM_OK);
    assert_int_equal(egcam_render_overlay(ctx, &c4, map, 2, 2, EGCAM_COLORMAP_TURBO, 0.4f, &o4),
                     EGCAM_OK);
    assert_int_equal(og->channels, 3);
    assert_int_equal(o4->channels, 3);
    assert_memory_equal(og->pixels, o3->pixels, 12);
    assert_memory_equal(o4->pixels, o3->pixels, 12);
    egcam_image_free(og);
    egcam_image_free(o3);
    egcam_image_free(o4);
    egcam_ctx_free(ctx);
}

/* A map of another size is resized bilinearly, half-pixel centres: 1x2
 * [0, 1] over a 1x4 image samples it at -0.25 (clamped), 0.25, 0.75, 1.25
 * (clamped), i.e. 0, 0.25, 0.75, 1. */
static void test_overlay_resizes_map(void **state)
{
    (void)state;
    static const unsigned char px[4 * 3] = {0};
    static const float map[2] = {0.0f, 1.0f};
    static const float expect[4] = {0.0f, 0.25f, 0.75f, 1.0f};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image img = image_of(px, 4, 1, 3);
    egcam_image *out = NULL;
    assert_int_equal(egcam_render_overlay(ctx, &img, map, 1, 2, EGCAM_COLORMAP_JET, 1.0f, &out),
                     EGCAM_OK);
    for (size_t i = 0; i < 4; i++) {
        uint8_t col[3];
        colour(EGCAM_COLORMAP_JET, expect[i], col);
        assert_memory_equal(out->pixels + i * 3, col, 3);
    }
    egcam_image_free(out);
    egcam_ctx_free(ctx);
}

static void test_overlay_bad_inputs(void **state)
{
    (void)state;
    static const unsigned char px[2 * 2 * 3] = {0};
    static const float map[4] = {0.0f, 0.5f, 1.0f, 0.25f};
    static const float nan_map[4] = {0.0f, NAN, 1.0f, 0.25f};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image img = image_of(px, 2, 2, 3), bad;
    egcam_image *out = NULL;
    const uint32_t T = EGCAM_COLORMAP_TURBO;

    out = &img; /* a NULL ctx still clears the output */
    assert_int_equal(egcam_render_overlay(NULL, &img, map, 2, 2, T, 0.5f, &out),
                     EGCAM_E_NULL_ARGUMENT);
    assert_null(out);
    assert_int_equal(egcam_render_overlay(ctx, &img, map, 2, 2, T, 0.5f, NULL),
                     EGCAM_E_NULL_ARGUMENT);
    assert_failed(ctx, egcam_render_overlay(ctx, NULL, map, 2, 2, T, 0.5f, &out),
                  EGCAM_E_NULL_ARGUMENT, out);
    assert_failed(ctx, egcam_render_overlay(ctx, &img, NULL, 2, 2, T, 0.5f, &out),
                  EGCAM_E_NULL_ARGUMENT, out);
    assert_failed(ctx, egcam_render_overlay(ctx, &img, map, 0, 2, T, 0.5f, &out), EGCAM_E_EMPTY,
                  out);
    assert_failed(ctx, egcam_render_overlay(ctx, &img, map, 2, 0, T, 0.5f, &out), EGCAM_E_EMPTY,
                  out);
    bad = img, bad.width = 0;
    assert_failed(ctx, egcam_render_overlay(ctx, &bad, map, 2, 2, T, 0.5f, &out), EGCAM_E_EMPTY,
                  out);
    bad = img, bad.channels = 5;
    assert_failed(ctx, egcam_render_overlay(ctx, &bad, map, 2, 2, T, 0.5f, &out),
                  EGCAM_E_INVALID_ARGUMENT, out);
    assert_failed(ctx, egcam_render_overlay(ctx, &img, map, 2, 2, 0, 0.5f, &out),
                  EGCAM_E_INVALID_ARGUMENT, out);
    assert_failed(ctx, egcam_render_overlay(ctx, &img, map, 2, 2, 77, 0.5f, &out),
                  EGCAM_E_INVALID_ARGUMENT, out);
    assert_failed(ctx, egcam_render_overlay(ctx, &img, map, 2, 2, T, -0.01f, &out),
                  EGCAM_E_INVALID_ARGUMENT, out);
    assert_failed(ctx, egcam_render_overlay(ctx, &img, map, 2, 2, T, 1.01f, &out),
                  EGCAM_E_INVALID_ARGUMENT, out);
    assert_failed(ctx, egcam_render_overlay(ctx, &img, map, 2, 2, T, NAN, &out), EGCAM_E_NON_FINITE,
                  out);
    assert_failed(ctx, egcam_render_overlay(ctx, &img, map, 2, 2, T, INFINITY, &out),
                  EGCAM_E_NON_FINITE, out);
    assert_failed(ctx, egcam_render_overlay(ctx, &img, nan_map, 2, 2, T, 0.5f, &out),
                  EGCAM_E_NON_FINITE, out);
    egcam_ctx_free(ctx);
}

/* ---- panel -------------------------------------------------------------- */

/* A w x h image of one colour, owned by the test. */
static egcam_image solid(unsigned w, unsigned h, unsigned channels, unsigned char v0,
                         unsigned char v1, unsigned char v2)
{
    unsigned char *px = malloc((size_t)w * h * channels);
    assert_non_null(px);
    const unsigned char v[4] = {v0, v1, v2, 255};
    for (size_t i = 0; i < (size_t)w * h * channels; i++)
        px[i] = v[i % channels];
    return image_of(px, w, h, channels);
}

typedef struct box {
    long x0, y0, x1, y1; /* inclusive; x0 > x1 when empty */
} box;

/* Where the panel has exactly the colour rgb. */
static box find(const egcam_image *p, const unsigned char rgb[3])
{
    box b = {(long)p->width, (long)p->height, -1, -1};
    for (long y = 0; y < (long)p->height; y++)
        for (long x = 0; x < (long)p->width; x++)
            if (memcmp(p->pixels + ((size_t)y * p->width + (size_t)x) * 3, rgb, 3) == 0) {
                b.x0 = x < b.x0 ? x : b.x0;
                b.y0 = y < b.y0 ? y : b.y0;
                b.x1 = x > b.x1 ? x : b.x1;
                b.y1 = y > b.y1 ? y : b.y1;
            }
    return b;
}

/* Dark (text) pixels in rows [y0, y1) and columns [x0, x1). */
static size_t dark(const egcam_image *p, long x0, long x1, long y0, long y1)
{
    size_t n = 0;
    for (long y = y0 < 0 ? 0 : y0; y < y1 && y < (long)p->height; y++)
        for (long x = x0 < 0 ? 0 : x0; x < x1 && x < (long)p->width; x++) {
            const uint8_t *q = p->pixels + ((size_t)y * p->width + (size_t)x) * 3;
            n += q[0] < 64 && q[1] < 64 && q[2] < 64;
        }
    return n;
}

static void test_panel_layout_and_captions(void **state)
{
    (void)state;
    static const unsigned char green[3] = {0, 200, 0}, gray[3] = {160, 160, 160};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image a = solid(28, 28, 3, 0, 200, 0), b = solid(56, 28, 1, 160, 0, 0);
    egcam_panel_tile tiles[2] = {{&a, "Grad-CAM", NULL}, {&b, NULL, NULL}};
    egcam_image *p = NULL;

    /* 28 px tiles show at 5 x 28 = 140; text 6x10 at scale 1, margins of 4:
     * 4 + 140 + 4 + 280 + 4 wide, 4 + 140 + 4 + 10 + 4 high. */
    assert_int_equal(egcam_render_panel(ctx, tiles, 2, NULL, &p), EGCAM_OK);
    assert_int_equal(p->channels, 3);
    assert_int_equal(p->width, 432);
    assert_int_equal(p->height, 162);
    assert_true(p->height >= 128);
    box ga = find(p, green), gb = find(p, gray);
    assert_int_equal(ga.x1 - ga.x0 + 1, 140);
    assert_int_equal(ga.y1 - ga.y0 + 1, 140);
    assert_int_equal(gb.x1 - gb.x0 + 1, 280); /* aspect kept, gray shown as RGB */
    assert_int_equal(gb.y1 - gb.y0 + 1, 140);
    assert_int_equal(ga.y0, gb.y0);
    assert_true(ga.x1 < gb.x0);
    assert_int_equal(p->pixels[0], 255); /* white background */
    /* The caption under the first tile, nothing under the second, no title. */
    assert_true(dark(p, ga.x0, ga.x1 + 1, ga.y1 + 1, p->height) > 20);
    assert_int_equal(dark(p, gb.x0, gb.x1 + 1, gb.y1 + 1, p->height), 0);
    assert_int_equal(dark(p, 0, p->width, 0, ga.y0), 0);
    egcam_image_free(p);

    /* A title adds a line of text above the tiles. */
    assert_int_equal(egcam_render_panel(ctx, tiles, 2, "Title", &p), EGCAM_OK);
    assert_int_equal(p->height, 162 + 14);
    ga = find(p, green);
    assert_true(dark(p, 0, p->width, 0, ga.y0) > 20);
    assert_true(dark(p, ga.x0, ga.x1 + 1, ga.y1 + 1, p->height) > 20);
    egcam_image_free(p);

    /* Without any caption there is no caption band. */
    tiles[0].caption = NULL;
    assert_int_equal(egcam_render_panel(ctx, tiles, 2, NULL, &p), EGCAM_OK);
    assert_int_equal(p->height, 148);
    assert_int_equal(dark(p, 0, p->width, 0, p->height), 0);
    egcam_image_free(p);

    /* A caption wider than its tile widens the column: 40 chars x 6 px. */
    tiles[0].caption = "a caption longer than the tile it is for";
    assert_int_equal(egcam_render_panel(ctx, tiles, 1, NULL, &p), EGCAM_OK);
    assert_int_equal(p->width, 4 + 240 + 4);
    ga = find(p, green);
    assert_int_equal(ga.x0, 4 + 50); /* the tile is centred in its column */
    egcam_image_free(p);

    free(a.pixels);
    free(b.pixels);
    egcam_ctx_free(ctx);
}

/* Large tiles keep their size and get larger text: 300 px, scale 2. */
static void test_panel_large_tiles(void **state)
{
    (void)state;
    static const unsigned char blue[3] = {30, 60, 220};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image a = solid(200, 300, 4, 30, 60, 220); /* RGBA: alpha ignored */
    egcam_panel_tile tile = {&a, "map", NULL};
    egcam_image *p = NULL;
    assert_int_equal(egcam_render_panel(ctx, &tile, 1, NULL, &p), EGCAM_OK);
    assert_int_equal(p->width, 8 + 200 + 8);
    assert_int_equal(p->height, 8 + 300 + 8 + 20 + 8);
    box bb = find(p, blue);
    assert_int_equal(bb.x1 - bb.x0 + 1, 200);
    assert_int_equal(bb.y1 - bb.y0 + 1, 300);
    assert_true(dark(p, 0, p->width, bb.y1 + 1, p->height) > 40);
    egcam_image_free(p);
    free(a.pixels);
    egcam_ctx_free(ctx);
}

static void test_panel_bad_inputs(void **state)
{
    (void)state;
    static const unsigned char px[3 * 3 * 3] = {0};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image img = image_of(px, 3, 3, 3), bad = img;
    egcam_panel_tile tiles[2] = {{&img, "a", NULL}, {NULL, "b", NULL}};
    egcam_image *out = NULL;

    out = &img; /* a NULL ctx still clears the output */
    assert_int_equal(egcam_render_panel(NULL, tiles, 1, NULL, &out), EGCAM_E_NULL_ARGUMENT);
    assert_null(out);
    assert_int_equal(egcam_render_panel(ctx, tiles, 1, NULL, NULL), EGCAM_E_NULL_ARGUMENT);
    assert_failed(ctx, egcam_render_panel(ctx, NULL, 1, NULL, &out), EGCAM_E_NULL_ARGUMENT, out);
    assert_failed(ctx, egcam_render_panel(ctx, tiles, 0, NULL, &out), EGCAM_E_EMPTY, out);
    assert_failed(ctx, egcam_render_panel(ctx, tiles, 2, NULL, &out), EGCAM_E_NULL_ARGUMENT, out);
    assert_non_null(strstr(egcam_ctx_last_error(ctx), "tile 1"));
    tiles[1].image = &img;
    tiles[1].reserved = &img; /* a field this library does not know */
    assert_failed(ctx, egcam_render_panel(ctx, tiles, 2, NULL, &out), EGCAM_E_STRUCT_SIZE, out);
    tiles[1].reserved = NULL;
    tiles[1].image = &bad;
    bad.height = 0;
    assert_failed(ctx, egcam_render_panel(ctx, tiles, 2, NULL, &out), EGCAM_E_EMPTY, out);
    bad.height = 3, bad.channels = 0;
    assert_failed(ctx, egcam_render_panel(ctx, tiles, 2, NULL, &out), EGCAM_E_INVALID_ARGUMENT,
                  out);
    egcam_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preprocess_matches_torchvision),
        cmocka_unit_test(test_imagenet_evaluation_transform),
        cmocka_unit_test(test_resize_bad_values),
        cmocka_unit_test(test_preprocess_init),
        cmocka_unit_test(test_preprocess_bad_inputs),
        cmocka_unit_test(test_colormap_matches_matplotlib),
        cmocka_unit_test(test_colormap_names_and_errors),
        cmocka_unit_test(test_overlay_blend),
        cmocka_unit_test(test_overlay_gray_and_rgba),
        cmocka_unit_test(test_overlay_resizes_map),
        cmocka_unit_test(test_overlay_bad_inputs),
        cmocka_unit_test(test_panel_layout_and_captions),
        cmocka_unit_test(test_panel_large_tiles),
        cmocka_unit_test(test_panel_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
