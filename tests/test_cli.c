/*
 * test_cli.c - the egcam program: its files and JSON against the library
 * API on the same inputs, and its exit statuses and messages for bad
 * usage (2) and runtime errors (1).
 *
 * Usage: test_cli EGCAM_PROGRAM FIXTURE_DIR (tests/fixtures/torch)
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, realpath */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>
#include <egcam/egcam_torch.h>

#include "cli_runner.h"

static egcam_tensor *read_npy(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    egcam_ctx *ctx;
    egcam_tensor *t = NULL;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    if (egcam_npy_read(ctx, path, &t) != EGCAM_OK)
        fail_msg("%s", egcam_ctx_last_error(ctx));
    egcam_ctx_free(ctx);
    return t;
}

/* What the library gives for the same model, layer, input and config. */
/* input explained with cfg through fixture `model` at `layer`. */
static egcam_result *api_explain_model(const char *model, const char *layer,
                                       const egcam_tensor *input, const egcam_config *cfg)
{
    egcam_ctx *ctx;
    egcam_backend *be;
    egcam_result *res = NULL;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_torch_open(ctx, fixture(model), layer, NULL, &be), EGCAM_OK);
    if (egcam_explain(ctx, be, cfg, input, NULL, &res) != EGCAM_OK)
        fail_msg("%s", egcam_ctx_last_error(ctx));
    egcam_backend_free(be);
    egcam_ctx_free(ctx);
    return res;
}

static egcam_result *api_explain_cfg(const egcam_tensor *input, const egcam_config *cfg)
{
    return api_explain_model("plain_cnn.pt", "features.3", input, cfg);
}

static egcam_result *api_explain(const egcam_tensor *input, uint32_t method, uint32_t combiner)
{
    egcam_config cfg;
    assert_int_equal(egcam_config_init(&cfg), EGCAM_OK);
    cfg.method = method;
    cfg.combiner = combiner;
    return api_explain_cfg(input, &cfg);
}

static void assert_same_map(const egcam_tensor *file, const egcam_result *res, uint32_t kind)
{
    uint32_t h, w;
    const float *map = egcam_result_map(res, kind, &h, &w);
    assert_int_equal(file->ndim, 2);
    assert_int_equal(file->shape[0], h);
    assert_int_equal(file->shape[1], w);
    /* Same library, same inputs, same seed: the same bits. */
    assert_memory_equal(file->data, map, (size_t)h * w * sizeof(float));
}

static void test_explain_npy_matches_api(void **state)
{
    (void)state;
    /* The three estimators with Grad-CAM's combination (no --combiner),
     * and two other combiners. */
    static const struct {
        const char *flag, *combiner;
        uint32_t method, combiner_id;
    } methods[] = {{"gradcam", NULL, EGCAM_METHOD_GRADCAM, 0},
                   {"integrated", NULL, EGCAM_METHOD_INTEGRATED, 0},
                   {"expected", NULL, EGCAM_METHOD_EXPECTED, 0},
                   {"expected", "complete", EGCAM_METHOD_EXPECTED, EGCAM_COMBINER_COMPLETE},
                   {"gradcam", "layercam", EGCAM_METHOD_GRADCAM, EGCAM_COMBINER_LAYERCAM}};
    egcam_tensor *input = read_npy(fixtures, "plain_cnn.features.3/input.npy");
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        outcome *o =
            run("explain --model %s --layer features.3 --method %s%s%s --out out %s",
                fixture("plain_cnn.pt"), methods[m].flag, methods[m].combiner ? " --combiner " : "",
                methods[m].combiner ? methods[m].combiner : "",
                fixture("plain_cnn.features.3/input.npy"));
        expect(o, 0, NULL);
        egcam_result *res = api_explain(input, methods[m].method, methods[m].combiner_id);
        char json[256];
        snprintf(json, sizeof json, "\"method\": \"%s\", \"combiner\": \"%s\", \"class\": %d",
                 methods[m].flag, methods[m].combiner ? methods[m].combiner : "gradcam",
                 egcam_result_class(res));
        if (!strstr(o->out, json))
            fail_msg("JSON %s lacks %s", o->out, json);
        char dir[300];
        snprintf(dir, sizeof dir, "%s/out", tmp);
        egcam_tensor *map = read_npy(dir, "input.map.npy");
        egcam_tensor *layer = read_npy(dir, "input.layer.npy");
        assert_same_map(map, res, EGCAM_MAP_NORMALIZED);
        assert_same_map(layer, res, EGCAM_MAP_LAYER);
        egcam_tensor_free(map);
        egcam_tensor_free(layer);
        egcam_result_free(res);
    }
    egcam_tensor_free(input);
}

/* A 16 x 16 RGB picture as a PNG in the scratch folder. */
static void write_png(const char *name, int seed)
{
    static uint8_t pixels[16 * 16 * 3];
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)((i * 37u + (unsigned)seed * 101u) % 251u);
    egcam_image img = {pixels, 16, 16, 3, 0};
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    if (egcam_png_write(ctx, path, &img) != EGCAM_OK)
        fail_msg("%s", egcam_ctx_last_error(ctx));
    egcam_ctx_free(ctx);
}

static void test_explain_png_and_folder(void **state)
{
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/pngs", tmp);
    mkdir(dir, 0777);
    write_png("pngs/a.png", 1);
    write_png("pngs/b.png", 2);
    outcome *o = run("explain --model %s --layer features.3 --labels %s/labels.txt --out out2 "
                     "pngs",
                     fixture("plain_cnn.pt"), tmp);
    expect(o, 1, "labels.txt"); /* no labels file yet: a runtime error naming it */
    char labels[300];
    snprintf(labels, sizeof labels, "%s/labels.txt", tmp);
    FILE *f = fopen(labels, "w");
    assert_non_null(f);
    fputs("zero\none\ntwo\nthree\nfour\n", f);
    fclose(f);
    o = run("explain --model %s --layer features.3 --labels labels.txt --out out2 pngs",
            fixture("plain_cnn.pt"));
    expect(o, 0, NULL);
    /* One JSON line per image, in name order, with a label. */
    char *a = strstr(o->out, "pngs/a.png"), *b = strstr(o->out, "pngs/b.png");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    assert_non_null(strstr(o->out, "\"label\": \""));
    assert_non_null(strstr(o->out, "\"samples\": 50"));

    /* The map is the library's for the image read and preprocessed the same way. */
    egcam_ctx *ctx;
    egcam_image *img;
    egcam_tensor *t;
    egcam_preprocess pre;
    char png[300];
    snprintf(png, sizeof png, "%s/pngs/a.png", tmp);
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_png_read(ctx, png, 0, &img), EGCAM_OK);
    assert_int_equal(egcam_preprocess_init(&pre), EGCAM_OK);
    assert_int_equal(egcam_preprocess_image(ctx, img, &pre, &t), EGCAM_OK);
    egcam_result *res = api_explain(t, EGCAM_METHOD_EXPECTED, 0);
    snprintf(dir, sizeof dir, "%s/out2", tmp);
    egcam_tensor *map = read_npy(dir, "a.map.npy");
    assert_same_map(map, res, EGCAM_MAP_NORMALIZED);
    /* The overlay is a picture of the input's size. */
    egcam_image *overlay;
    snprintf(png, sizeof png, "%s/out2/a.overlay.png", tmp);
    assert_int_equal(egcam_png_read(ctx, png, 0, &overlay), EGCAM_OK);
    assert_int_equal(overlay->width, 16);
    assert_int_equal(overlay->height, 16);
    egcam_image_free(overlay);
    egcam_tensor_free(map);
    egcam_result_free(res);
    egcam_tensor_free(t);
    egcam_image_free(img);
    egcam_ctx_free(ctx);
}

/* The map of the scratch folder's `name`.png, read with `channels` (its
 * EGCAM_PNG_ALPHA_* flag), explained with Grad-CAM (residual_cnn's block2,
 * which takes any size) after preprocessing `pre` through the library,
 * against the program's NAME.map.npy in dir. */
static void assert_read_like(const char *dir, const char *name, uint32_t channels,
                             const egcam_preprocess *pre, int64_t height, int64_t width)
{
    egcam_ctx *ctx;
    egcam_image *img;
    egcam_tensor *t;
    char png[300], map_name[100];
    snprintf(png, sizeof png, "%s/%s.png", tmp, name);
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    snprintf(map_name, sizeof map_name, "%s.map.npy", base);
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_png_read(ctx, png, channels, &img), EGCAM_OK);
    assert_int_equal(egcam_preprocess_image(ctx, img, pre, &t), EGCAM_OK);
    assert_int_equal(t->shape[1], height);
    assert_int_equal(t->shape[2], width);
    egcam_config cfg;
    assert_int_equal(egcam_config_init(&cfg), EGCAM_OK);
    cfg.method = EGCAM_METHOD_GRADCAM;
    egcam_result *res = api_explain_model("residual_cnn.pt", "block2", t, &cfg);
    egcam_tensor *map = read_npy(dir, map_name);
    assert_int_equal(map->shape[0], height);
    assert_int_equal(map->shape[1], width);
    assert_same_map(map, res, EGCAM_MAP_NORMALIZED);
    egcam_tensor_free(map);
    egcam_result_free(res);
    egcam_tensor_free(t);
    egcam_image_free(img);
    egcam_ctx_free(ctx);
}

static void assert_preprocessed_like(const char *dir, const egcam_preprocess *pre, int64_t height,
                                     int64_t width)
{
    assert_read_like(dir, "pngs/a", 0, pre, height, width);
}

/* --background: an RGBA picture's alpha over black (the default), over
 * white, or dropped, each the library's reading with that flag; the three
 * differ; eval reads its folder of PNGs over the same. */
static void test_background_flag(void **state)
{
    (void)state;
    static uint8_t rgba[16 * 16 * 4];
    for (size_t i = 0; i < sizeof rgba; i++)
        rgba[i] = (uint8_t)(i % 4 == 3 ? i * 7 % 256 : (i * 37u) % 251u);
    egcam_image img = {rgba, 16, 16, 4, 0};
    char path[512];
    snprintf(path, sizeof path, "%s/rgba.png", tmp);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_png_write(ctx, path, &img), EGCAM_OK);
    egcam_ctx_free(ctx);
    egcam_preprocess pre;
    assert_int_equal(egcam_preprocess_init(&pre), EGCAM_OK);
    const struct {
        const char *word;
        uint32_t flag;
    } backgrounds[] = {{"black", EGCAM_PNG_ALPHA_BLACK},
                       {"white", EGCAM_PNG_ALPHA_WHITE},
                       {"none", EGCAM_PNG_ALPHA_DROP}};
    float first[3];
    for (int b = 0; b < 3; b++) {
        outcome *o = run("explain --model %s --layer block2 --method gradcam --background %s "
                         "--out out_bg_%s rgba.png",
                         fixture("residual_cnn.pt"), backgrounds[b].word, backgrounds[b].word);
        expect(o, 0, NULL);
        char dir[300];
        snprintf(dir, sizeof dir, "%s/out_bg_%s", tmp, backgrounds[b].word);
        assert_read_like(dir, "rgba", backgrounds[b].flag, &pre, 16, 16);
        egcam_tensor *layer = read_npy(dir, "rgba.layer.npy");
        first[b] = layer->data[0] + layer->data[5];
        egcam_tensor_free(layer);
    }
    assert_true(first[0] != first[1] && first[1] != first[2] && first[0] != first[2]);
    outcome *o = run("explain --model %s --layer block2 --background grey rgba.png",
                     fixture("residual_cnn.pt"));
    expect(o, 2, "--background");

    /* eval reads a folder of PNGs over the same background. */
    char dir[300], csv[2][4096];
    snprintf(dir, sizeof dir, "%s/bg_data", tmp);
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/bg_data/rgba.png", tmp);
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_png_write(ctx, path, &img), EGCAM_OK);
    egcam_ctx_free(ctx);
    for (int b = 0; b < 2; b++) {
        o = run("eval --model %s --layer block2 --data bg_data --methods gradcam "
                "--metrics insertion --eval-steps 4 --background %s --out ev_bg_%s",
                fixture("residual_cnn.pt"), backgrounds[b].word, backgrounds[b].word);
        expect(o, 0, NULL);
        snprintf(path, sizeof path, "%s/ev_bg_%s/eval-images.csv", tmp, backgrounds[b].word);
        assert_non_null(strstr(slurp(path, csv[b], sizeof csv[b]), "rgba"));
    }
    assert_string_not_equal(csv[0], csv[1]);
}

/* --preset imagenet is torchvision's evaluation transform (Resize(256),
 * CenterCrop(224)) unless a size is given; --resize and --crop are the
 * library's resize; one --mean/--std value serves every channel; --size
 * and --resize, and --crop alone, are refused. */
static void test_preprocessing_flags(void **state)
{
    (void)state;
    char dir[300];
    egcam_preprocess pre;
    outcome *o = run("explain --model %s --layer block2 --method gradcam --preset imagenet "
                     "--out out_imagenet pngs/a.png",
                     fixture("residual_cnn.pt"));
    expect(o, 0, NULL);
    assert_int_equal(egcam_preprocess_init_imagenet(&pre), EGCAM_OK);
    pre.resize = 256;
    pre.width = pre.height = 224;
    snprintf(dir, sizeof dir, "%s/out_imagenet", tmp);
    assert_preprocessed_like(dir, &pre, 224, 224);

    o = run("explain --model %s --layer block2 --method gradcam --resize 20 --crop 12x10 "
            "--mean 0.5 --std 0.25 --out out_crop pngs/a.png",
            fixture("residual_cnn.pt"));
    expect(o, 0, NULL);
    assert_int_equal(egcam_preprocess_init(&pre), EGCAM_OK);
    pre.resize = 20;
    pre.height = 12;
    pre.width = 10;
    for (int c = 0; c < 3; c++) {
        pre.mean[c] = 0.5f;
        pre.std[c] = 0.25f;
    }
    snprintf(dir, sizeof dir, "%s/out_crop", tmp);
    assert_preprocessed_like(dir, &pre, 12, 10);

    /* The preset fills each part not given: --crop 12 gets Resize(256). */
    o = run("explain --model %s --layer block2 --method gradcam --preset imagenet --crop 12 "
            "--out out_preset_crop pngs/a.png",
            fixture("residual_cnn.pt"));
    expect(o, 0, NULL);
    assert_int_equal(egcam_preprocess_init_imagenet(&pre), EGCAM_OK);
    pre.resize = 256;
    pre.width = pre.height = 12;
    snprintf(dir, sizeof dir, "%s/out_preset_crop", tmp);
    assert_preprocessed_like(dir, &pre, 12, 12);

    o = run("explain --model %s --layer features.3 --size 8x8 --resize 10 pngs/a.png",
            fixture("plain_cnn.pt"));
    expect(o, 2, "--size stretches");
    o = run("explain --model %s --layer features.3 --crop 8 pngs/a.png", fixture("plain_cnn.pt"));
    expect(o, 2, "give --resize too");
    o = run("explain --model %s --layer features.3 --resize 0 pngs/a.png", fixture("plain_cnn.pt"));
    expect(o, 2, "--resize");
    o = run("explain --model %s --layer features.3 --mean 0.5,0.5 pngs/a.png",
            fixture("plain_cnn.pt"));
    expect(o, 2, "--mean");
}

/* A PNG over 2048 x 2048 pixels with no size to resize it to is refused,
 * saying what to give; with a size, or --full-size, it is explained. */
static void test_large_input_refused(void **state)
{
    (void)state;
    enum { SIDE = 2049 };
    uint8_t *pixels = calloc((size_t)SIDE * SIDE, 1);
    assert_non_null(pixels);
    for (size_t i = 0; i < (size_t)SIDE * SIDE; i++)
        pixels[i] = (uint8_t)(i % 7 * 30);
    egcam_image img = {pixels, SIDE, SIDE, 1, 0};
    char path[512];
    snprintf(path, sizeof path, "%s/large.png", tmp);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_png_write(ctx, path, &img), EGCAM_OK);
    egcam_ctx_free(ctx);
    free(pixels);
    outcome *o = run("explain --model %s --layer block2 --method gradcam --out out_large large.png",
                     fixture("residual_cnn.pt"));
    expect(o, 1, "large.png: the image is 2049x2049, 4.2 megapixels, and no size was given");
    assert_non_null(strstr(o->err, "--full-size"));
    o = run("explain --model %s --layer block2 --method gradcam --out out_large --references "
            "large.png pngs/a.png",
            fixture("residual_cnn.pt"));
    expect(o, 1, "no size was given");
    o = run("explain --model %s --layer block2 --method gradcam --channels 3 --size 32x32 "
            "--out out_large large.png",
            fixture("residual_cnn.pt"));
    expect(o, 0, NULL);
    o = run("explain --model %s --layer block2 --method gradcam --channels 3 --full-size "
            "--out out_large large.png",
            fixture("residual_cnn.pt"));
    expect(o, 0, NULL);
    assert_non_null(strstr(o->out, "\"input\": \"large.png\""));
}

/* A segmentation model: --output out chooses its logits, --class 1 --mask
 * explains class 1 over the mask's pixels, to the eager hooks' Grad-CAM
 * (make_signature_fixtures.py); a mask without one class, of the wrong
 * size, for a class the output lacks, or with no pixel set is refused. */
static void test_segmentation_mask(void **state)
{
    (void)state;
    char seg[600], in[600], mask[600], dir[300]; /* fixture() reuses its buffer */
    snprintf(seg, sizeof seg, "%s", fixture("signatures/tiny_seg.pt"));
    snprintf(in, sizeof in, "%s", fixture("signatures/input.npy"));
    snprintf(mask, sizeof mask, "%s", fixture("signatures/seg_mask.png"));
    outcome *o = run("explain --model %s --layer body.2 --output out --method gradcam --class 1 "
                     "--mask %s --out out_seg %s",
                     seg, mask, in);
    expect(o, 0, NULL);
    assert_non_null(strstr(o->out, "\"class\": -1"));
    assert_null(strstr(o->out, "\"top\"")); /* its logits are pixels, not classes */
    snprintf(dir, sizeof dir, "%s/out_seg", tmp);
    egcam_tensor *got = read_npy(dir, "input.layer.npy");
    egcam_tensor *want = read_npy(fixtures, "signatures/seg_gradcam.npy");
    assert_int_equal(got->shape[0] * got->shape[1], want->shape[0] * want->shape[1]);
    float scale = 0;
    for (int64_t i = 0; i < want->shape[0] * want->shape[1]; i++)
        scale = fmaxf(scale, fabsf(want->data[i]));
    for (int64_t i = 0; i < want->shape[0] * want->shape[1]; i++)
        if (fabsf(got->data[i] - want->data[i]) > 1e-4f * scale)
            fail_msg("layer map[%lld]: %.9g, eager PyTorch %.9g", (long long)i, got->data[i],
                     want->data[i]);
    egcam_tensor_free(got);
    egcam_tensor_free(want);

    o = run("explain --model %s --layer body.2 --method gradcam --out out_seg %s", seg, in);
    expect(o, 1, "its keys: 'out', 'aux'");
    o = run("explain --model %s --layer body.2 --output out --mask %s --out out_seg %s", seg, mask,
            in);
    expect(o, 2, "give it one --class K");
    o = run("explain --model %s --layer body.2 --output out --class 3 --mask %s --out out_seg %s",
            seg, mask, in);
    expect(o, 1, "--class 3, but the output has 3 classes");
    write_png("mask5.png", 1); /* 16 x 16 RGB, read as gray: right size, all set */
    o = run("explain --model %s --layer body.2 --output out --class 0 --mask mask5.png "
            "--out out_seg %s",
            seg, in);
    expect(o, 0, NULL);
    static uint8_t ones[7 * 7];
    memset(ones, 255, sizeof ones);
    egcam_image small = {ones, 7, 7, 1, 0}; /* 768 values are not 7 x 7 planes */
    char path[512];
    snprintf(path, sizeof path, "%s/mask7.png", tmp);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_png_write(ctx, path, &small), EGCAM_OK);
    snprintf(path, sizeof path, "%s/mask8.png", tmp); /* 768 is 12 planes of 8 x 8: still wrong */
    egcam_image eight = {ones, 8, 6, 1, 0};
    assert_int_equal(egcam_png_write(ctx, path, &eight), EGCAM_OK);
    snprintf(path, sizeof path, "%s/mask16zero.png", tmp);
    static uint8_t zeros16[16 * 16];
    egcam_image empty = {zeros16, 16, 16, 1, 0};
    assert_int_equal(egcam_png_write(ctx, path, &empty), EGCAM_OK);
    egcam_ctx_free(ctx);
    o = run("explain --model %s --layer body.2 --output out --class 0 --mask mask7.png "
            "--out out_seg %s",
            seg, in);
    expect(o, 1,
           "the mask is 7x7; it must be the size of the input and of the model's output "
           "(16x16, which gives 768 values an image)");
    o = run("explain --model %s --layer body.2 --output out --class 0 --mask mask8.png "
            "--out out_seg %s",
            seg, in);
    expect(o, 1, "the mask is 8x6; it must be the size of the input");
    o = run("explain --model %s --layer body.2 --output out --class 0 --mask mask16zero.png "
            "--out out_seg %s",
            seg, in);
    expect(o, 1, "no pixel of the mask is set");
}

static void test_compare_and_references(void **state)
{
    (void)state;
    write_png("c.png", 3);
    outcome *o = run("compare --model %s --layer features.3 --samples 8 --steps 8 "
                     "--references pngs --out out3 c.png",
                     fixture("plain_cnn.pt"));
    expect(o, 0, NULL);
    assert_non_null(strstr(o->out, "\"method\": \"gradcam\""));
    assert_non_null(strstr(o->out, "\"method\": \"integrated\""));
    assert_non_null(strstr(o->out, "\"method\": \"expected\""));
    char png[300];
    snprintf(png, sizeof png, "%s/out3/c.panel.png", tmp);
    egcam_ctx *ctx;
    egcam_image *panel;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_png_read(ctx, png, 0, &panel), EGCAM_OK);
    assert_true(panel->width > 4 * 16); /* four tiles side by side */
    uint32_t row_height = panel->height;
    egcam_image_free(panel);

    /* A grid: two estimators down, three combiners across, a JSON line per
     * cell; a row's combiners share one explanation, the one --combiner
     * gives alone (the same completeness). */
    o = run("compare --model %s --layer features.3 --samples 8 --methods gradcam,expected "
            "--combiners gradcam,hirescam,complete --out out4 c.png",
            fixture("plain_cnn.pt"));
    expect(o, 0, NULL);
    int lines = 0;
    for (const char *p = o->out; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    assert_int_equal(lines, 6);
    assert_non_null(strstr(o->out, "\"method\": \"expected\", \"combiner\": \"complete\""));
    assert_null(strstr(o->out, "\"method\": \"integrated\""));
    snprintf(png, sizeof png, "%s/out4/c.panel.png", tmp);
    assert_int_equal(egcam_png_read(ctx, png, 0, &panel), EGCAM_OK);
    assert_true(panel->height >= 2 * row_height - 2); /* two rows */
    egcam_image_free(panel);
    char complete_line[512];
    const char *at = strstr(o->out, "\"method\": \"expected\", \"combiner\": \"complete\"");
    const char *completeness = strstr(at, "\"completeness\"");
    snprintf(complete_line, sizeof complete_line, "%.*s",
             (int)(strchr(completeness, ',') - completeness), completeness);
    o = run("explain --model %s --layer features.3 --samples 8 --method expected --combiner "
            "complete --out out4 c.png",
            fixture("plain_cnn.pt"));
    expect(o, 0, NULL);
    assert_non_null(strstr(o->out, complete_line));
    egcam_ctx_free(ctx);

    o = run("explain --model %s --layer features.3 --method integrated --baseline %s --out out3 "
            "%s",
            fixture("plain_cnn.pt"), fixture("plain_cnn.features.3/input.npy"),
            fixture("plain_cnn.features.3/input.npy"));
    expect(o, 0, NULL);
}

static void test_layers(void **state)
{
    (void)state;
    outcome *o = run("layers --model %s --input-shape 3,16,16", fixture("plain_cnn.pt"));
    expect(o, 0, NULL);
    assert_non_null(strstr(o->out, "features.3"));
    assert_non_null(strstr(o->out, "1 x 12 x 8 x 8"));
    assert_non_null(strstr(o->out, "classifier"));
}

/* egcam eval on 16 Fashion-MNIST items with the bundled classifier: the
 * table, the reports and the curves, and the accuracy line. */
static void test_eval(void **state)
{
    (void)state;
    outcome *o = run("eval --model %s/../../../examples/fashion/classifier/model.pt --layer "
                     "features.12 --data %s/../fashion --limit 4 --samples 4 --steps 4 "
                     "--perturbations 2 --eval-steps 7 --out ev",
                     fixtures, fixtures);
    expect(o, 0, NULL);
    assert_non_null(strstr(o->out, "Deletion AUC"));
    assert_non_null(strstr(o->out, "Max-sensitivity"));
    assert_null(strstr(o->out, "Pointing game")); /* no boxes in plain IDX files */
    char text[8192], path[512];
    snprintf(path, sizeof path, "%s/ev/eval.md", tmp);
    assert_non_null(strstr(slurp(path, text, sizeof text), "| Insertion AUC (higher) |"));
    assert_non_null(strstr(text, "4 images"));
    assert_non_null(strstr(text, "Top-1 accuracy"));
    snprintf(path, sizeof path, "%s/ev/eval.csv", tmp);
    assert_non_null(strstr(slurp(path, text, sizeof text), "Infidelity,expected,"));
    egcam_ctx *ctx;
    egcam_image *plot;
    snprintf(path, sizeof path, "%s/ev/curves.png", tmp);
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_png_read(ctx, path, 0, &plot), EGCAM_OK);
    egcam_image_free(plot);
    egcam_ctx_free(ctx);

    /* Canvases with boxes: the localisation metrics appear. */
    o = run("eval --model %s/../../../examples/fashion/classifier/model.pt --layer features.12 "
            "--data %s/../fashion --canvas 40 --size 28x28 --limit 2 --samples 2 --steps 2 "
            "--perturbations 1 --eval-steps 4 --out ev2",
            fixtures, fixtures);
    expect(o, 0, NULL);
    assert_non_null(strstr(o->out, "Pointing game"));
    assert_non_null(strstr(o->out, "Energy pointing game"));

    /* Pairs: one explanation per estimator per image, every pair on the
     * same images, so the paired differences are differences of means when
     * every value is defined, and a pair scores alone what it scores
     * among others (expected:gradcam is combined from expected:complete's
     * explanation there). */
    o = run("eval --model %s/../../../examples/fashion/classifier/model.pt --layer features.12 "
            "--data %s/../fashion --limit 4 --samples 4 --eval-steps 7 "
            "--pairs gradcam,expected:complete,expected:gradcam --metrics insertion,saturation "
            "--out ev3",
            fixtures, fixtures);
    expect(o, 0, NULL);
    assert_non_null(strstr(o->out, "Expected Grad-CAM, complete"));
    snprintf(path, sizeof path, "%s/ev3/eval.md", tmp);
    slurp(path, text, sizeof text);
    assert_non_null(strstr(text, "## Paired differences from Grad-CAM, gradcam"));
    assert_non_null(strstr(text, "## Paired differences within each estimator"));
    assert_non_null(strstr(text, "## Saturation along the path from zeros"));
    assert_null(strstr(text, "Deletion AUC"));
    double mean[3], diff[2];
    snprintf(path, sizeof path, "%s/ev3/eval.csv", tmp);
    slurp(path, text, sizeof text);
    const char *rows[3] = {"Insertion AUC,gradcam,gradcam,", "Insertion AUC,expected,complete,",
                           "Insertion AUC,expected,gradcam,"};
    for (int p = 0; p < 3; p++) {
        const char *at = strstr(text, rows[p]);
        assert_non_null(at);
        mean[p] = strtod(at + strlen(rows[p]), NULL);
    }
    snprintf(path, sizeof path, "%s/ev3/eval-paired.csv", tmp);
    slurp(path, text, sizeof text);
    const char *paired[2] = {"Insertion AUC,expected,complete,gradcam,gradcam,",
                             "Insertion AUC,expected,gradcam,gradcam,gradcam,"};
    for (int p = 0; p < 2; p++) {
        const char *at = strstr(text, paired[p]);
        assert_non_null(at);
        diff[p] = strtod(at + strlen(paired[p]), NULL);
        assert_true(fabs(diff[p] - (mean[p + 1] - mean[0])) < 1e-6);
    }
    assert_non_null(strstr(text, "Insertion AUC,expected,gradcam,expected,complete,"));
    char images[8192], alone[8192];
    snprintf(path, sizeof path, "%s/ev3/eval-images.csv", tmp);
    slurp(path, images, sizeof images);
    assert_non_null(strstr(images,
                           "image,name,label,class,method,combiner,insertion,"
                           "saturation_area,saturation_alpha90,logit_quarter,logit_half\n"));
    int count = 0;
    for (const char *p = images; (p = strchr(p, '\n')) != NULL; p++)
        count++;
    assert_int_equal(count, 1 + 4 * 3);
    o = run("eval --model %s/../../../examples/fashion/classifier/model.pt --layer features.12 "
            "--data %s/../fashion --limit 4 --samples 4 --eval-steps 7 --pairs expected:gradcam "
            "--metrics insertion,saturation --out ev4",
            fixtures, fixtures);
    expect(o, 0, NULL);
    snprintf(path, sizeof path, "%s/ev4/eval-images.csv", tmp);
    slurp(path, alone, sizeof alone);
    for (const char *line = strchr(alone, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        char one[256];
        snprintf(one, sizeof one, "%.*s", (int)(strchr(line, '\n') - line + 1), line);
        if (!strstr(images, one))
            fail_msg("alone: %s not among the pairs' rows", one);
    }
    snprintf(path, sizeof path, "%s/ev3/saturation.png", tmp);
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_png_read(ctx, path, 0, &plot), EGCAM_OK);
    egcam_image_free(plot);
    egcam_ctx_free(ctx);

    expect(run("eval --model M --layer L"), 2, "--data is required");
    expect(run("eval --model M --layer L --data D --fill smoke"), 2, "--fill smoke");
    expect(run("eval --model %s/plain_cnn.pt --layer features.3 --data nowhere", fixtures), 1,
           "nowhere");
}

/* A progress bar on a terminal for long work, silence otherwise. The
 * terminal is script(1)'s, when the machine has it. */
static void test_progress_only_on_terminal(void **state)
{
    (void)state;
    const char *model = fixture("plain_cnn.pt"), *png = fixture("input16.png");
    outcome *o = run("explain --model %s --layer features.3 --samples 64 --out p %s", model, png);
    expect(o, 0, NULL);
    assert_string_equal(o->err, ""); /* stderr is a file here: quiet */
    if (system("command -v script > /dev/null 2>&1") != 0) {
        skip();
        return;
    }
    char cmd[2048], tty[300], text[8192];
    snprintf(tty, sizeof tty, "%s/tty.txt", tmp);
    snprintf(cmd, sizeof cmd,
             "script -qec '%s explain --model %s --layer features.3 --samples 64 --out %s/p %s' "
             "/dev/null > %s 2>&1",
             program, model, tmp, png, tty);
    assert_int_equal(system(cmd), 0);
    slurp(tty, text, sizeof text);
    assert_non_null(strstr(text, "[=============================="));
    assert_non_null(strstr(text, "100%"));
}

/* Broken data sets are refused with a message, never a crash. */
static void test_eval_bad_data(void **state)
{
    (void)state;
    const char *model = fixture("plain_cnn.pt");
    /* IDX dims whose product wraps 64 bits (gzread reads plain files too). */
    static const unsigned char wraps[] = {0, 0, 8, 3, 0x40, 0, 0, 0, 0, 2,
                                          0, 0, 0, 2, 0,    0, 1, 2, 3, 4};
    write_bytes("wraps.idx", wraps, sizeof wraps);
    outcome *o = run("eval --model %s --layer features.3 --data wraps.idx", model);
    expect(o, 1, "truncated");
    /* Not IDX: the magic's type byte is not 8 (unsigned bytes). */
    static const unsigned char magic[] = {0, 0, 9, 3, 0, 0, 0, 1, 0, 0,
                                          0, 2, 0, 0, 0, 2, 1, 2, 3, 4};
    write_bytes("magic.idx", magic, sizeof magic);
    o = run("eval --model %s --layer features.3 --data magic.idx", model);
    expect(o, 1, "not an IDX file");
    /* Labels that do not match the images in number. */
    static const unsigned char images[16 + 16 * 16] = {0, 0, 8, 3,  0, 0, 0, 1,
                                                       0, 0, 0, 16, 0, 0, 0, 16};
    static const unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 2};
    write_bytes("x-images-idx3-ubyte", images, sizeof images);
    write_bytes("x-labels-idx1-ubyte", labels, sizeof labels);
    o = run("eval --model %s --layer features.3 --data x-images-idx3-ubyte", model);
    expect(o, 1, "2 labels for 1 images");
    /* A canvas smaller than the items. */
    o = run("eval --model %s --layer features.3 --data %s/../fashion --canvas 20 --limit 1", model,
            fixtures);
    expect(o, 1, "--canvas 20");
    /* A boxes.csv whose box does not fit its image, and one that misses an image. */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/boxed", tmp);
    mkdir(dir, 0777);
    write_png("boxed/a.png", 4);
    write_png("boxed/b.png", 5);
    static const char outside[] = "name,x0,y0,x1,y1,class\na.png,0,0,8,8,1\nb.png,4,4,20,8,2\n";
    write_bytes("boxed/boxes.csv", outside, sizeof outside - 1);
    o = run("eval --model %s --layer features.3 --data boxed", model);
    expect(o, 1, "boxes.csv:3");
    static const char malformed[] = "name,x0,y0,x1,y1,class\na.png,0,zero,8,8,1\n"
                                    "b.png,4,4,8,8,2\n";
    write_bytes("boxed/boxes.csv", malformed, sizeof malformed - 1);
    o = run("eval --model %s --layer features.3 --data boxed", model);
    expect(o, 1, "boxes.csv:2: expected name,x0,y0,x1,y1,class");
    static const char missing[] = "a.png,0,0,8,8,1\n";
    write_bytes("boxed/boxes.csv", missing, sizeof missing - 1);
    o = run("eval --model %s --layer features.3 --data boxed", model);
    expect(o, 1, "no box for");
    /* --out naming a file is refused before any work. */
    o = run("eval --model %s --layer features.3 --data boxed --out boxed/a.png", model);
    expect(o, 1, "--out");
}

/* A missing input among good ones is reported; the good ones still run. */
static void test_missing_input_among_good_ones(void **state)
{
    (void)state;
    outcome *o = run("explain --model %s --layer features.3 --samples 4 --out mixed missing.png %s",
                     fixture("plain_cnn.pt"), fixture("input16.png"));
    expect(o, 1, "missing.png");
    assert_non_null(strstr(o->out, "input16.png"));
    expect(run("explain --model M --layer L --size -1x28 x.npy"), 2, "--size -1x28");
}

/* Targets and batches: --top and --class write one set of files per target,
 * each the library's map for that target; inputs share the model's calls
 * (the bits of alone at --batch 1, within rounding at 16, where LibTorch
 * sums a batch of 3 otherwise); a NaN input among good ones fails alone. */
static egcam_result *api_explain_class(const egcam_tensor *input, uint32_t method, int32_t cls)
{
    egcam_config cfg;
    assert_int_equal(egcam_config_init(&cfg), EGCAM_OK);
    cfg.method = method;
    cfg.target_class = cls;
    cfg.samples = 6;
    return api_explain_cfg(input, &cfg);
}

static void assert_close_map(const egcam_tensor *file, const egcam_result *res)
{
    uint32_t h, w;
    const float *map = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w);
    assert_int_equal(file->shape[0] * file->shape[1], (int64_t)h * w);
    for (size_t i = 0; i < (size_t)h * w; i++)
        if (fabsf(file->data[i] - map[i]) > 1e-4f)
            fail_msg("map[%zu]: %.9g from the program, %.9g from the library", i, file->data[i],
                     map[i]);
}

static void test_targets_and_batches(void **state)
{
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/out_top", tmp);
    egcam_tensor *input = read_npy(fixtures, "plain_cnn.features.3/input.npy");
    outcome *o = run("explain --model %s --layer features.3 --samples 6 --top 3 --out out_top %s",
                     fixture("plain_cnn.pt"), fixture("plain_cnn.features.3/input.npy"));
    expect(o, 0, NULL);
    int lines = 0;
    for (const char *p = o->out; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, 3);
    int32_t ranked[3];
    for (int r = 0; r < 3; r++) {
        char name[64], json[64];
        snprintf(name, sizeof name, "input.top%d.map.npy", r + 1);
        egcam_tensor *map = read_npy(dir, name);
        egcam_result *res = api_explain_class(input, EGCAM_METHOD_EXPECTED, EGCAM_TARGET_RANK(r));
        assert_same_map(map, res, EGCAM_MAP_NORMALIZED); /* one image: the same batches */
        snprintf(json, sizeof json, "\"class\": %d,", egcam_result_class(res));
        assert_non_null(strstr(o->out, json));
        ranked[r] = egcam_result_class(res);
        egcam_tensor_free(map);
        egcam_result_free(res);
    }
    egcam_tensor_free(input);
    /* Every line says what the model predicted: its top classes, largest
     * first, with their probabilities. */
    for (const char *line = o->out; *line; line = strchr(line, '\n') + 1) {
        const char *top = strstr(line, "\"top\": [{\"class\": ");
        assert_non_null(top);
        assert_true(top < strchr(line, '\n'));
        const char *at = top;
        for (int r = 0; r < 3; r++) {
            char entry[64];
            snprintf(entry, sizeof entry,
                     "{\"class\": %d, \"label\": null, \"logit\": ", ranked[r]);
            const char *next = strstr(at, entry);
            assert_non_null(next);
            assert_true(next < strchr(line, '\n'));
            at = next + 1;
        }
        assert_non_null(strstr(top, "\"probability\": "));
    }

    /* Two PNGs and a NaN tensor of their shape, in one batch or one each. */
    static float nan_pixels[3 * 16 * 16];
    for (size_t i = 0; i < sizeof nan_pixels / sizeof *nan_pixels; i++)
        nan_pixels[i] = i == 7 ? NAN : 0.5f;
    egcam_tensor nan_t = {nan_pixels, {3, 16, 16}, 3, 0};
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    char path[400];
    snprintf(path, sizeof path, "%s/nan16.npy", tmp);
    assert_int_equal(egcam_npy_write(ctx, path, &nan_t), EGCAM_OK);
    for (int batch = 1; batch <= 16; batch += 15) {
        o = run("explain --model %s --layer features.3 --method gradcam --class 3,1 --batch %d "
                "--out out_b%d pngs/a.png nan16.npy pngs/b.png",
                fixture("plain_cnn.pt"), batch, batch);
        expect(o, 1, "nan16.npy: Grad-CAM: the input holds NaN");
        assert_null(strstr(o->out, "nan16.npy"));
        snprintf(dir, sizeof dir, "%s/out_b%d", tmp, batch);
        const char *pngs[2] = {"a", "b"};
        const int32_t classes[2] = {3, 1};
        for (int i = 0; i < 2; i++) {
            egcam_image *img;
            egcam_tensor *t;
            egcam_preprocess pre;
            snprintf(path, sizeof path, "%s/pngs/%s.png", tmp, pngs[i]);
            assert_int_equal(egcam_png_read(ctx, path, 0, &img), EGCAM_OK);
            assert_int_equal(egcam_preprocess_init(&pre), EGCAM_OK);
            assert_int_equal(egcam_preprocess_image(ctx, img, &pre, &t), EGCAM_OK);
            for (int c = 0; c < 2; c++) {
                char name[64];
                snprintf(name, sizeof name, "%s.class%d.map.npy", pngs[i], classes[c]);
                egcam_tensor *map = read_npy(dir, name);
                egcam_result *res = api_explain_class(t, EGCAM_METHOD_GRADCAM, classes[c]);
                if (batch == 1)
                    assert_same_map(map, res, EGCAM_MAP_NORMALIZED);
                else
                    assert_close_map(map, res);
                egcam_tensor_free(map);
                egcam_result_free(res);
            }
            egcam_tensor_free(t);
            egcam_image_free(img);
        }
        snprintf(path, sizeof path, "%s/nan16.class3.map.npy", dir);
        struct stat sb;
        assert_int_not_equal(stat(path, &sb), 0);
    }
    egcam_ctx_free(ctx);

    /* compare: a row per target, a JSON line per estimator and target. */
    o = run("compare --model %s --layer features.3 --samples 4 --steps 4 --top 2 --out out_cmp "
            "pngs/a.png",
            fixture("plain_cnn.pt"));
    expect(o, 0, NULL);
    lines = 0;
    for (const char *p = o->out; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, 6);
    egcam_image *panel, *one;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    snprintf(path, sizeof path, "%s/out_cmp/a.panel.png", tmp);
    assert_int_equal(egcam_png_read(ctx, path, 0, &panel), EGCAM_OK);
    o = run("compare --model %s --layer features.3 --samples 4 --steps 4 --out out_cmp1 "
            "pngs/a.png",
            fixture("plain_cnn.pt"));
    expect(o, 0, NULL);
    snprintf(path, sizeof path, "%s/out_cmp1/a.panel.png", tmp);
    assert_int_equal(egcam_png_read(ctx, path, 0, &one), EGCAM_OK);
    assert_int_equal(panel->height, 2 * one->height); /* two rows of one's */
    egcam_image_free(panel);
    egcam_image_free(one);
    egcam_ctx_free(ctx);
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    static const struct {
        const char *args, *needle;
    } cases[] = {
        {"", "usage"},
        {"frobnicate", "unknown command"},
        {"explain --layer features.3 x.npy", "--model is required"},
        {"explain --model M x.npy", "--layer is required"},
        {"explain --model M --layer features.3", "no INPUT"},
        {"explain --model M --layer L --samples 0 x.npy", "--samples 0"},
        {"explain --model M --layer L --samples many x.npy", "--samples many"},
        {"explain --model M --layer L --method magic x.npy", "--method magic"},
        {"explain --model M --layer L --rule simpson x.npy", "--rule simpson"},
        {"explain --model M --layer L --noise -1 x.npy", "--noise -1"},
        {"explain --model M --layer L --size 224 x.npy", "--size 224"},
        {"explain --model M --layer L --std 1,0,1 x.npy", "--std 1,0,1"},
        {"explain --model M --layer L --opacity 2 x.npy", "--opacity 2"},
        {"explain --model M --layer L --colormap rainbow x.npy", "--colormap rainbow"},
        {"explain --model M --layer L --bogus x.npy", "unknown flag --bogus"},
        {"explain --model M --layer", "--layer needs a value"},
        {"compare --model M --layer L --method gradcam x.npy", "--method is not a flag of compare"},
        {"explain --model M --layer L --combiner gradcam+ x.npy", "--combiner gradcam+"},
        {"compare --model M --layer L --combiners gradcam,gradcam x.npy", "--combiners"},
        {"compare --model M --layer L --methods expected,magic x.npy", "--methods"},
        {"compare --model M --layer L --pairs all x.npy", "--pairs is not a flag of compare"},
        {"eval --model M --layer L --data D --pairs expected:nothing", "--pairs expected:nothing"},
        {"eval --model M --layer L --data D --pairs all --methods gradcam", "not both"},
        {"eval --model M --layer L --data D --metrics deletion,speed", "--metrics"},
        {"layers --model M", "--input-shape is required"},
        {"layers --model M --input-shape 3,x,16", "--input-shape"},
        {"explain --model M --layer L --class 3,1,3 x.npy", "--class 3,1,3"},
        {"explain --model M --layer L --class 2, x.npy", "--class 2,"},
        {"explain --model M --layer L --top 0 x.npy", "--top 0"},
        {"explain --model M --layer L --top 65 x.npy", "--top 65"},
        {"explain --model M --layer L --class 1 --top 2 x.npy", "give one"},
        {"eval --model M --layer L --data D --class 1,2", "one class"},
        {"eval --model M --layer L --data D --top 2", "--top is not a flag of eval"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        outcome *o = run("%s", cases[i].args);
        expect(o, 2, cases[i].needle);
        if (i > 0) { /* one line, past the bare command's usage text */
            const char *nl = strchr(o->err, '\n');
            if (!nl || nl[1] != '\0')
                fail_msg("not one line: %s", o->err);
        }
    }
    for (const char *const *cmd = (const char *const[]){"explain", "compare", "layers", NULL}; *cmd;
         cmd++) {
        outcome *o = run("%s --help", *cmd);
        expect(o, 0, NULL);
        assert_non_null(strstr(o->out, "usage: egcam"));
    }
}

static void test_runtime_errors_exit_1(void **state)
{
    (void)state;
    const char *model = fixture("plain_cnn.pt"), *npy = fixture("plain_cnn.features.3/input.npy");
    outcome *o = run("explain --model %s --layer features.3 missing.npy", model);
    expect(o, 1, "missing.npy");
    o = run("explain --model nothere.pt --layer features.3 %s", npy);
    expect(o, 1, "nothere.pt");
    o = run("explain --model %s --layer features.99 %s", model, npy);
    expect(o, 1, "closest");
    char path[300];
    snprintf(path, sizeof path, "%s/broken.png", tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a png at all", f);
    fclose(f);
    o = run("explain --model %s --layer features.3 broken.png", model);
    expect(o, 1, "broken.png");
    o = run("explain --model %s --layer features.3 --class 9 %s", model, npy);
    expect(o, 1, "target_class");
    /* One bad input does not stop the others, but the run reports it. */
    o = run("explain --model %s --layer features.3 --out out4 broken.png %s", model, npy);
    expect(o, 1, "broken.png");
    assert_non_null(strstr(o->out, "input.npy"));
}

/* A float32 .npy in the scratch folder, written by the library. */
static void write_npy(const char *name, const float *data, const int64_t shape[4], uint32_t ndim)
{
    egcam_tensor t = {data, {shape[0], shape[1], shape[2], shape[3]}, ndim, 0};
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    if (egcam_npy_write(ctx, path, &t) != EGCAM_OK)
        fail_msg("%s", egcam_ctx_last_error(ctx));
    egcam_ctx_free(ctx);
}

/* Files explain cannot use, each a runtime error that names the problem. */
static void test_bad_files_exit_1(void **state)
{
    (void)state;
    const char *model = fixture("plain_cnn.pt"), *npy = fixture("plain_cnn.features.3/input.npy");
    static const char not_npy[] = "not a .npy file\n";
    write_bytes("broken.npy", not_npy, sizeof not_npy - 1);
    expect(run("explain --model %s --layer features.3 broken.npy", model), 1, "broken.npy");
    /* A .npy the model cannot take: [H,W], no channels. */
    static float flat[16 * 16], two[2 * 3 * 16 * 16];
    write_npy("flat.npy", flat, (const int64_t[4]){16, 16, 0, 0}, 2);
    expect(run("explain --model %s --layer features.3 flat.npy", model), 1, "[C,H,W] or [1,C,H,W]");
    expect(run("explain --model %s --layer features.3 --references flat.npy %s", model, npy), 1,
           "expected [R,C,H,W] or [C,H,W]");
    /* A baseline of two inputs. */
    write_npy("two.npy", two, (const int64_t[4]){2, 3, 16, 16}, 4);
    expect(run("explain --model %s --layer features.3 --method integrated --baseline two.npy %s",
               model, npy),
           1, "a baseline is one");
    /* A model file that is not TorchScript, and a model whose forward
     * returns a tuple. */
    static const char text[] = "not a model\n";
    write_bytes("text.pt", text, sizeof text - 1);
    expect(run("explain --model text.pt --layer features.3 %s", npy), 1, "not a TorchScript model");
    expect(run("explain --model %s --layer conv %s", fixture("tuple_out.pt"), npy), 1,
           "returns Tuple");
    /* --out naming a file. */
    expect(run("explain --model %s --layer features.3 --out broken.npy %s", model, npy), 1,
           "--out broken.npy");
    /* CUDA asked of a LibTorch without it (checked only where there is none). */
    if (!egcam_torch_cuda_available())
        expect(run("explain --model %s --layer features.3 --device cuda %s", model, npy), 1,
               "no CUDA");
}

int main(int argc, char **argv)
{
    if (cli_runner_start(argc, argv) != 0)
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explain_npy_matches_api),
        cmocka_unit_test(test_explain_png_and_folder),
        cmocka_unit_test(test_preprocessing_flags),
        cmocka_unit_test(test_large_input_refused),
        cmocka_unit_test(test_background_flag),
        cmocka_unit_test(test_segmentation_mask),
        cmocka_unit_test(test_compare_and_references),
        cmocka_unit_test(test_layers),
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_progress_only_on_terminal),
        cmocka_unit_test(test_eval_bad_data),
        cmocka_unit_test(test_missing_input_among_good_ones),
        cmocka_unit_test(test_targets_and_batches),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_runtime_errors_exit_1),
        cmocka_unit_test(test_bad_files_exit_1),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cli_runner_end();
    return rc;
}
