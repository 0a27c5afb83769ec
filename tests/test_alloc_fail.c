/*
 * test_alloc_fail.c - out of memory, tested rather than assumed, as dav1d's
 * alloc_fail fuzzer does: the libraries are built again with
 * EGCAM_ALLOC_FAIL (lib/core/alloc.c), which counts their allocations and
 * fails the k-th. For each operation (explaining with every method and kind
 * of reference, combining a result another way, making a reference set,
 * reading and writing PNG and .npy in files and in memory, preprocessing,
 * overlays and panels, every metric),
 * it counts the allocations of one successful run, then fails each of them
 * in turn: every run must end with EGCAM_E_OUT_OF_MEMORY and no output, or
 * succeed when the library could do without that allocation; never crash.
 * Under the asan_ubsan test LeakSanitizer checks that nothing leaks on any
 * of those paths.
 *
 * The analytic backend's own allocations are not counted: they are the
 * backend's, and its failures are tested elsewhere (test_engine).
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <egcam/egcam.h>
#include <egcam/egcam_eval.h>
#include <egcam/egcam_image.h>

#include "alloc_fail.h"
#include "analytic_backend.h"

enum { C = 3, H = 12, W = 12, S = 2, K = 4, L = 5 };

static char dir[256];
static float x[C * H * W], refs_data[3 * C * H * W], map[H * W];

typedef struct world {
    egcam_ctx *ctx;
    egcam_backend *be;
    egcam_refset *set;
    char png_path[300], npy_path[300];
} world;

/* One operation under test: 0 when it left no output and said out of
 * memory or succeeded (freeing what it made), -1 for any other outcome. */
typedef int (*operation)(world *w, int *succeeded);

static int outcome(egcam_status st, int *succeeded)
{
    *succeeded = st == EGCAM_OK;
    return st == EGCAM_OK || st == EGCAM_E_OUT_OF_MEMORY ? 0 : -1;
}

/* ---- the operations ---------------------------------------------------------- */

static int explain_with(world *w, int *ok, uint32_t method, uint32_t references, int with_set)
{
    egcam_config cfg;
    if (egcam_config_init(&cfg) != EGCAM_OK)
        return -1;
    cfg.method = method;
    cfg.references = references;
    cfg.reference_count = 3;
    cfg.samples = cfg.steps = 5;
    cfg.batch_size = 2;
    egcam_tensor in = {x, {C, H, W}, 3, 0};
    egcam_result *res = (egcam_result *)&res;
    egcam_status st = egcam_explain(w->ctx, w->be, &cfg, &in, with_set ? w->set : NULL, &res);
    if (st != EGCAM_OK && res != NULL)
        return -1;
    egcam_result_free(res);
    return outcome(st, ok);
}

static int gradcam(world *w, int *ok) { return explain_with(w, ok, EGCAM_METHOD_GRADCAM, 1, 0); }
static int integrated_zeros(world *w, int *ok)
{
    return explain_with(w, ok, EGCAM_METHOD_INTEGRATED, EGCAM_REFERENCES_ZEROS, 0);
}
static int integrated_blur(world *w, int *ok)
{
    return explain_with(w, ok, EGCAM_METHOD_INTEGRATED, EGCAM_REFERENCES_BLUR, 0);
}
static int expected_uniform(world *w, int *ok)
{
    return explain_with(w, ok, EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_UNIFORM, 0);
}
static int expected_set(world *w, int *ok)
{
    return explain_with(w, ok, EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_ZEROS, 1);
}

/* Explained with one combiner, then combined with another. */
static int combine(world *w, int *ok)
{
    egcam_config cfg;
    if (egcam_config_init(&cfg) != EGCAM_OK)
        return -1;
    cfg.method = EGCAM_METHOD_INTEGRATED;
    cfg.steps = 4;
    cfg.combiner = EGCAM_COMBINER_LAYERCAM;
    egcam_tensor in = {x, {C, H, W}, 3, 0};
    egcam_result *res = (egcam_result *)&res, *other = (egcam_result *)&other;
    egcam_status st = egcam_explain(w->ctx, w->be, &cfg, &in, NULL, &res);
    if (st != EGCAM_OK)
        return res != NULL ? -1 : outcome(st, ok);
    st = egcam_result_combine(w->ctx, res, EGCAM_COMBINER_GRADCAM_PLUSPLUS, &other);
    egcam_result_free(res);
    if (st != EGCAM_OK && other != NULL)
        return -1;
    egcam_result_free(other);
    return outcome(st, ok);
}

/* Three images, two targets each, in one call; the last image NaN, so that
 * its failure is kept (an allocation of the context's own, so the call
 * gets a context of its own: a reused one would have the room already). */
static int many(world *w, int *ok)
{
    egcam_ctx *ctx = NULL;
    egcam_status made = egcam_ctx_new(&ctx);
    if (made != EGCAM_OK)
        return outcome(made, ok);
    static float images[3 * C * H * W];
    memcpy(images, x, sizeof x);
    memcpy(images + C * H * W, refs_data, sizeof x);
    memcpy(images + 2 * C * H * W, x, sizeof x);
    images[2 * C * H * W + 5] = NAN;
    egcam_config cfg;
    if (egcam_config_init(&cfg) != EGCAM_OK) {
        egcam_ctx_free(ctx);
        return -1;
    }
    cfg.method = EGCAM_METHOD_EXPECTED;
    cfg.samples = 3;
    cfg.batch_size = 2;
    egcam_tensor in = {images, {3, C, H, W}, 4, 0};
    egcam_result *out[6];
    egcam_status status[3];
    egcam_status st = egcam_explain_many(ctx, w->be, &cfg, &in, 1, NULL, 2, NULL, out, status);
    egcam_ctx_free(ctx);
    int none = 1;
    for (int i = 0; i < 6; i++) {
        none = none && !out[i];
        egcam_result_free(out[i]);
    }
    if (st == EGCAM_E_NON_FINITE) /* the NaN image alone failed: the run succeeded */
        return status[0] == EGCAM_OK && status[1] == EGCAM_OK && !none ? outcome(EGCAM_OK, ok) : -1;
    return st == EGCAM_OK || none ? outcome(st, ok) : -1;
}

static int refset_new(world *w, int *ok)
{
    egcam_tensor t = {refs_data, {3, C, H, W}, 4, 0};
    egcam_refset *set = (egcam_refset *)&set;
    egcam_status st = egcam_refset_new(w->ctx, w->be, &t, 2, &set);
    if (st != EGCAM_OK && set != NULL)
        return -1;
    egcam_refset_free(set);
    return outcome(st, ok);
}

static int context_and_backend(world *w, int *ok)
{
    egcam_ctx *ctx = NULL;
    egcam_status st = egcam_ctx_new(&ctx);
    egcam_backend *be = NULL;
    analytic_model *m = NULL;
    if (st == EGCAM_OK) {
        m = analytic_new(C, H, W, S, K, L, 3);
        st = egcam_backend_new(ctx, analytic_ops(), m, &be);
        if (st != EGCAM_OK)
            analytic_free(m); /* not the backend's: it was not made */
    }
    (void)w;
    egcam_backend_free(be);
    egcam_ctx_free(ctx);
    return outcome(st, ok);
}

/* An RGB image of x's first channel. */
static int make_image(world *w, egcam_image **img)
{
    egcam_status st = egcam_image_new(w->ctx, W, H, 3, img);
    if (st != EGCAM_OK)
        return st;
    for (size_t i = 0; i < (size_t)W * H * 3; i++)
        (*img)->pixels[i] = (uint8_t)(i * 11);
    return EGCAM_OK;
}

static int png_files(world *w, int *ok)
{
    egcam_image *img = NULL, *back = NULL;
    egcam_bytes *bytes = NULL;
    egcam_status st = make_image(w, &img);
    if (st == EGCAM_OK)
        st = egcam_png_write(w->ctx, w->png_path, img);
    if (st == EGCAM_OK)
        st = egcam_png_read(w->ctx, w->png_path, 1, &back);
    if (st == EGCAM_OK)
        st = egcam_png_encode(w->ctx, img, &bytes);
    egcam_image_free(back);
    back = NULL;
    if (st == EGCAM_OK)
        st = egcam_png_decode(w->ctx, egcam_bytes_data(bytes), egcam_bytes_size(bytes), 0, &back);
    egcam_image_free(back);
    egcam_bytes_free(bytes);
    egcam_image_free(img);
    return outcome(st, ok);
}

static int npy_files(world *w, int *ok)
{
    egcam_tensor *t = NULL, *back = NULL;
    egcam_bytes *bytes = NULL;
    egcam_status st = egcam_tensor_new(w->ctx, (const int64_t[]){C, H, W}, 3, &t);
    if (st == EGCAM_OK) {
        memcpy((float *)t->data, x, sizeof x);
        st = egcam_npy_write(w->ctx, w->npy_path, t);
    }
    if (st == EGCAM_OK)
        st = egcam_npy_read(w->ctx, w->npy_path, &back);
    egcam_tensor_free(back);
    back = NULL;
    if (st == EGCAM_OK)
        st = egcam_npy_encode(w->ctx, t, &bytes);
    if (st == EGCAM_OK)
        st = egcam_npy_decode(w->ctx, egcam_bytes_data(bytes), egcam_bytes_size(bytes), &back);
    egcam_tensor_free(back);
    egcam_bytes_free(bytes);
    egcam_tensor_free(t);
    return outcome(st, ok);
}

static int pictures(world *w, int *ok)
{
    egcam_image *img = NULL, *overlay = NULL, *panel = NULL;
    egcam_tensor *t = NULL;
    egcam_preprocess pre;
    egcam_status st = egcam_preprocess_init_imagenet(&pre);
    if (st == EGCAM_OK)
        st = make_image(w, &img);
    pre.width = 20, pre.height = 7; /* resized both ways */
    if (st == EGCAM_OK)
        st = egcam_preprocess_image(w->ctx, img, &pre, &t);
    if (st == EGCAM_OK)
        st = egcam_render_overlay(w->ctx, img, map, H / 2, W / 2, EGCAM_COLORMAP_TURBO, 0.5f,
                                  &overlay);
    if (st == EGCAM_OK) {
        egcam_panel_tile tiles[2] = {{img, "input", NULL}, {overlay, "map", NULL}};
        st = egcam_render_panel(w->ctx, tiles, 2, "a title", &panel);
    }
    egcam_image_free(panel);
    egcam_image_free(overlay);
    egcam_tensor_free(t);
    egcam_image_free(img);
    return outcome(st, ok);
}

static int metrics(world *w, int *ok)
{
    egcam_eval_options opts;
    egcam_status st = egcam_eval_options_init(&opts);
    opts.steps = 4;
    opts.perturbations = 3;
    opts.batch_size = 2;
    egcam_tensor in = {x, {C, H, W}, 3, 0};
    double v, e;
    int flag;
    float curve[5];
    if (st == EGCAM_OK)
        st = egcam_eval_deletion(w->ctx, w->be, &in, map, 1, 1, &opts, &v, curve);
    if (st == EGCAM_OK)
        st = egcam_eval_infidelity(w->ctx, w->be, &in, map, 1, &opts, &v);
    if (st == EGCAM_OK)
        st = egcam_eval_confidence(w->ctx, w->be, &in, map, 1, &v, &flag);
    if (st == EGCAM_OK)
        st = egcam_eval_complexity(w->ctx, map, H, W, &v);
    const uint32_t box[4] = {1, 1, 4, 4};
    if (st == EGCAM_OK)
        st = egcam_eval_pointing(w->ctx, map, H, W, box, &flag, &e);
    egcam_config cfg;
    if (st == EGCAM_OK && (st = egcam_config_init(&cfg)) == EGCAM_OK) {
        cfg.method = EGCAM_METHOD_INTEGRATED;
        cfg.steps = 3;
        st = egcam_eval_sensitivity(w->ctx, w->be, &cfg, &in, NULL, map, &opts, &v);
    }
    return outcome(st, ok);
}

/* ---- the runner ------------------------------------------------------------------ */

static void fail_each(world *w, const char *name, operation op)
{
    int ok;
    egcam_alloc_fail_reset(0);
    if (op(w, &ok) != 0 || !ok)
        fail_msg("%s: fails without an allocation failure: %s", name, egcam_ctx_last_error(w->ctx));
    uint64_t calls = egcam_alloc_fail_calls();
    assert_true(calls > 0);
    uint64_t survived = 0;
    for (uint64_t k = 1; k <= calls; k++) {
        egcam_alloc_fail_reset(k);
        if (op(w, &ok) != 0)
            fail_msg("%s: allocation %llu of %llu failed: not out of memory but \"%s\"", name,
                     (unsigned long long)k, (unsigned long long)calls,
                     egcam_ctx_last_error(w->ctx));
        survived += ok;
    }
    egcam_alloc_fail_reset(0);
    printf("# %s: %llu allocations, each failed once: %llu out of memory, %llu done without\n",
           name, (unsigned long long)calls, (unsigned long long)(calls - survived),
           (unsigned long long)survived);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (!w || egcam_ctx_new(&w->ctx) != EGCAM_OK)
        return -1;
    analytic_model *m = analytic_new(C, H, W, S, K, L, 5);
    if (analytic_wrap(w->ctx, m, &w->be) != EGCAM_OK)
        return -1;
    analytic_fill_uniform(x, C * H * W, 1, -1.0f, 1.0f);
    analytic_fill_uniform(refs_data, 3 * C * H * W, 2, -1.0f, 1.0f);
    analytic_fill_uniform(map, H * W, 3, 0.0f, 1.0f);
    egcam_tensor t = {refs_data, {3, C, H, W}, 4, 0};
    if (egcam_refset_new(w->ctx, w->be, &t, 2, &w->set) != EGCAM_OK)
        return -1;
    snprintf(w->png_path, sizeof w->png_path, "%s/a.png", dir);
    snprintf(w->npy_path, sizeof w->npy_path, "%s/a.npy", dir);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    egcam_refset_free(w->set);
    egcam_backend_free(w->be);
    egcam_ctx_free(w->ctx);
    free(w);
    return 0;
}

#define CASE(op)                                                                                   \
  static void test_##op(void **state) { fail_each(*state, #op, op); }
CASE(gradcam)
CASE(integrated_zeros)
CASE(integrated_blur)
CASE(expected_uniform)
CASE(expected_set)
CASE(combine)
CASE(many)
CASE(refset_new)
CASE(context_and_backend)
CASE(png_files)
CASE(npy_files)
CASE(pictures)
CASE(metrics)

int main(void)
{
    snprintf(dir, sizeof dir, "%s/egcam-alloc-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 1;
#define T(name) cmocka_unit_test_setup_teardown(test_##name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(gradcam),
        T(integrated_zeros),
        T(integrated_blur),
        T(expected_uniform),
        T(expected_set),
        T(combine),
        T(many),
        T(refset_new),
        T(context_and_backend),
        T(png_files),
        T(npy_files),
        T(pictures),
        T(metrics),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/a.png", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/a.npy", dir);
    unlink(path);
    rmdir(dir);
    return rc;
}
