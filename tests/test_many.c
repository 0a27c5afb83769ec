/*
 * test_many.c - many targets and many images per call (egcam_explain_many):
 * each result bit-identical to explaining it alone, the forwards shared
 * (one per batch on a backend that retains, one per target on a version-1
 * table compiled as before version 2), rows of several images in one
 * backend batch, failures confined to their image, and the arguments
 * checked.
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

#include "analytic_backend.h"

enum { C = 2, H = 8, W = 8, S = 2, K = 3, L = 5, B = 5, N_IN = C * H * W };

/* The table a backend compiled against the version-1 header has: its
 * fields, in its order, and its size (egcam_backend.h before version 2). */
typedef struct v1_backend_ops {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *name;
    egcam_status (*forward)(void *self, const egcam_tensor *inputs, uint32_t flags,
                            egcam_tensor *activations, egcam_tensor *logits, char *errbuf,
                            size_t errbuf_size);
    egcam_status (*backward)(void *self, const float *seed, egcam_tensor *grad, char *errbuf,
                             size_t errbuf_size);
    void (*release)(void *self);
} v1_backend_ops;

typedef struct fixture {
    egcam_ctx *ctx;
    analytic_model *model;
    egcam_backend *backend;
    egcam_config cfg;
    float x[B * N_IN];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(egcam_ctx_new(&f->ctx), EGCAM_OK);
    f->model = analytic_new(C, H, W, S, K, L, 23);
    assert_int_equal(analytic_wrap(f->ctx, f->model, &f->backend), EGCAM_OK);
    assert_int_equal(egcam_config_init(&f->cfg), EGCAM_OK);
    f->cfg.samples = 7;
    f->cfg.steps = 6;
    f->cfg.batch_size = 4; /* batches cross the images' boundaries */
    for (int b = 0; b < B; b++)
        analytic_fill_uniform(f->x + b * N_IN, N_IN, 100 + b, -1.0f, 1.0f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    egcam_backend_free(f->backend);
    egcam_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* Two results are the same bits: maps, weights, class, logit, sums, flags. */
static void assert_same_result(const egcam_result *a, const egcam_result *b)
{
    assert_non_null(a);
    assert_non_null(b);
    static const uint32_t kinds[] = {EGCAM_MAP_LAYER, EGCAM_MAP_INPUT, EGCAM_MAP_NORMALIZED,
                                     EGCAM_MAP_SIGNED};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        uint32_t ha, wa, hb, wb;
        const float *ma = egcam_result_map(a, kinds[k], &ha, &wa);
        const float *mb = egcam_result_map(b, kinds[k], &hb, &wb);
        assert_int_equal(ha, hb);
        assert_int_equal(wa, wb);
        assert_memory_equal(ma, mb, (size_t)ha * wa * sizeof *ma);
    }
    uint32_t ca, cb;
    const float *wa = egcam_result_weights(a, &ca), *wb = egcam_result_weights(b, &cb);
    assert_int_equal(ca, cb);
    if (ca)
        assert_memory_equal(wa, wb, ca * sizeof *wa);
    assert_int_equal(egcam_result_class(a), egcam_result_class(b));
    assert_int_equal(egcam_result_flags(a), egcam_result_flags(b));
    double la = egcam_result_logit(a), lb = egcam_result_logit(b);
    double sa = egcam_result_completeness(a), sb = egcam_result_completeness(b);
    assert_memory_equal(&la, &lb, sizeof la);
    assert_memory_equal(&sa, &sb, sizeof sa);
}

/* Image b explained alone with target_class (or target_weights) as cfg. */
static egcam_result *alone(fixture *f, const egcam_config *cfg, int b)
{
    egcam_tensor t = {f->x + b * N_IN, {C, H, W}, 3, 0};
    egcam_result *res = NULL;
    assert_int_equal(egcam_explain(f->ctx, f->backend, cfg, &t, NULL, &res), EGCAM_OK);
    return res;
}

static void free_results(egcam_result **r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        egcam_result_free(r[i]);
}

/* Every configuration of the engine that changes what a row does. */
typedef struct variant {
    const char *name;
    uint32_t method, references, flags, combiner;
    float noise;
} variant;

static const variant variants[] = {
    {"gradcam", EGCAM_METHOD_GRADCAM, EGCAM_REFERENCES_ZEROS, 0, 0, 0.1f},
    {"gradcam++", EGCAM_METHOD_GRADCAM, EGCAM_REFERENCES_ZEROS, 0, EGCAM_COMBINER_GRADCAM_PLUSPLUS,
     0.1f},
    {"integrated", EGCAM_METHOD_INTEGRATED, EGCAM_REFERENCES_ZEROS, 0, 0, 0.1f},
    {"integrated blur", EGCAM_METHOD_INTEGRATED, EGCAM_REFERENCES_BLUR, 0, EGCAM_COMBINER_COMPLETE,
     0.1f},
    {"expected", EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_ZEROS, 0, 0, 0.1f},
    {"expected uniform", EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_UNIFORM, 0,
     EGCAM_COMBINER_LAYERCAM, 0.1f},
    {"expected clean", EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_ZEROS, EGCAM_FLAG_CLEAN_DIFFERENCE,
     0, 0.2f},
    {"expected no noise", EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_ZEROS, 0, 0, 0.0f},
};
enum { VARIANTS = sizeof variants / sizeof variants[0] };

static void use_variant(fixture *f, const variant *v)
{
    f->cfg.method = v->method;
    f->cfg.references = v->references;
    f->cfg.flags = v->flags;
    f->cfg.combiner = v->combiner;
    f->cfg.noise_level = v->noise;
    f->cfg.reference_count = 3;
}

/* Several targets of one image, one call: each as explaining it alone, and
 * the forwards of one target. */
static void test_targets_bit_identical(void **state)
{
    fixture *f = *state;
    enum { T = 4 };
    const int32_t classes[T] = {2, EGCAM_TARGET_RANK(1), 0, 2}; /* a repeat, too */
    for (int v = 0; v < VARIANTS; v++) {
        use_variant(f, &variants[v]);
        egcam_tensor t = {f->x, {C, H, W}, 3, 0};
        /* The passes of one target alone. */
        egcam_config one = f->cfg;
        one.target_class = 2;
        analytic_reset_counters(f->model);
        egcam_result_free(alone(f, &one, 0));
        analytic_counters single = analytic_get_counters(f->model);

        egcam_result *out[T];
        egcam_status st = EGCAM_E_INTERNAL;
        analytic_reset_counters(f->model);
        assert_int_equal(
            egcam_explain_many(f->ctx, f->backend, &f->cfg, &t, 1, classes, T, NULL, out, &st),
            EGCAM_OK);
        assert_int_equal(st, EGCAM_OK);
        analytic_counters many = analytic_get_counters(f->model);
        /* The forwards are one target's; the backwards T times as many. */
        assert_int_equal(many.forward_calls, single.forward_calls);
        assert_int_equal(many.forward_rows_grad, single.forward_rows_grad);
        assert_int_equal(many.forward_rows_nograd, single.forward_rows_nograd);
        assert_int_equal(many.backward_rows, T * single.backward_rows);
        assert_int_equal(many.backward_retained, (T - 1) * single.backward_calls);
        for (int i = 0; i < T; i++) {
            one.target_class = classes[i];
            egcam_result *ref = alone(f, &one, 0);
            assert_same_result(out[i], ref);
            egcam_result_free(ref);
        }
        free_results(out, T);
    }
}

/* classes NULL: the config's ranks from its own on, or its seed vectors. */
static void test_config_targets(void **state)
{
    fixture *f = *state;
    f->cfg.method = EGCAM_METHOD_EXPECTED;
    egcam_tensor t = {f->x + N_IN, {C, H, W}, 3, 0};
    egcam_result *out[3];
    assert_int_equal(
        egcam_explain_many(f->ctx, f->backend, &f->cfg, &t, 1, NULL, 3, NULL, out, NULL), EGCAM_OK);
    double y[L];
    analytic_logits(f->model, f->x + N_IN, y);
    for (int r = 0; r < 3; r++) {
        egcam_config one = f->cfg;
        one.target_class = EGCAM_TARGET_RANK(r);
        egcam_result *ref = alone(f, &one, 1);
        assert_same_result(out[r], ref);
        egcam_result_free(ref);
        if (r) /* ranks in order of the logits */
            assert_true(y[egcam_result_class(out[r - 1])] > y[egcam_result_class(out[r])]);
    }
    assert_int_equal(egcam_result_class(out[0]), analytic_argmax(f->model, f->x + N_IN));
    free_results(out, 3);

    /* Two seed vectors: a class, and a contrast of two. */
    float weights[2 * L] = {0};
    weights[3] = 1.0f;
    weights[L + 1] = 1.0f;
    weights[L + 4] = -1.0f;
    f->cfg.target_weights = weights;
    f->cfg.target_weights_count = 2 * L;
    assert_int_equal(
        egcam_explain_many(f->ctx, f->backend, &f->cfg, &t, 1, NULL, 2, NULL, out, NULL), EGCAM_OK);
    for (int i = 0; i < 2; i++) {
        egcam_config one = f->cfg;
        one.target_weights = weights + i * L;
        one.target_weights_count = L;
        egcam_result *ref = alone(f, &one, 1);
        assert_same_result(out[i], ref);
        assert_int_equal(egcam_result_class(out[i]), -1);
        egcam_result_free(ref);
    }
    free_results(out, 2);
}

/* Many images, each with its own targets, as one [B, C, H, W] tensor and as
 * an array of tensors: each as alone, and Grad-CAM's rows packed into
 * ceil(B / batch) forwards. */
static void test_images_bit_identical(void **state)
{
    fixture *f = *state;
    enum { T = 2 };
    const int32_t classes[B * T] = {0, 1, 4, EGCAM_TARGET_RANK(0), 3, 3, 1, 2, 2, 0};
    egcam_tensor whole = {f->x, {B, C, H, W}, 4, 0};
    egcam_tensor parts[3] = {{f->x, {2, C, H, W}, 4, 0},
                             {f->x + 2 * N_IN, {C, H, W}, 3, 0},
                             {f->x + 3 * N_IN, {2, C, H, W}, 4, 0}};
    for (int v = 0; v < VARIANTS; v++) {
        use_variant(f, &variants[v]);
        egcam_result *out[B * T], *out2[B * T];
        egcam_status st[B];
        analytic_reset_counters(f->model);
        assert_int_equal(
            egcam_explain_many(f->ctx, f->backend, &f->cfg, &whole, 1, classes, T, NULL, out, st),
            EGCAM_OK);
        analytic_counters c = analytic_get_counters(f->model);
        if (f->cfg.method == EGCAM_METHOD_GRADCAM) { /* B rows in batches of 4 */
            assert_int_equal(c.forward_calls, (B + 3) / 4);
            assert_int_equal(c.max_forward_rows, 4);
        }
        assert_int_equal(
            egcam_explain_many(f->ctx, f->backend, &f->cfg, parts, 3, classes, T, NULL, out2, NULL),
            EGCAM_OK);
        for (int b = 0; b < B; b++) {
            assert_int_equal(st[b], EGCAM_OK);
            for (int i = 0; i < T; i++) {
                egcam_config one = f->cfg;
                one.target_class = classes[b * T + i];
                egcam_result *ref = alone(f, &one, b);
                assert_same_result(out[b * T + i], ref);
                assert_same_result(out2[b * T + i], ref);
                egcam_result_free(ref);
            }
        }
        free_results(out, B * T);
        free_results(out2, B * T);
    }
}

/* A version-1 table, as compiled before version 2: still accepted, never
 * asked for a second backward per forward (its backward() refuses one), and
 * the same results, at a forward per target. */
static void test_version1_backend(void **state)
{
    fixture *f = *state;
    const egcam_backend_ops *v2 = analytic_ops();
    v1_backend_ops v1 = {1, sizeof(v1_backend_ops), "analytic-v1", v2->forward, v2->backward, NULL};
    assert_true(sizeof v1 < sizeof(egcam_backend_ops));
    /* A version-2 table too short to hold all of backward_retain: never
     * called, so the classes below still pass through backward alone. */
    egcam_backend_ops cut = *v2;
    cut.struct_size = (uint32_t)(sizeof v1 + 4);
    analytic_model *m2 = analytic_new(C, H, W, S, K, L, 23);
    egcam_backend *short_table = NULL;
    assert_int_equal(egcam_backend_new(f->ctx, &cut, m2, &short_table), EGCAM_OK);
    analytic_model *m = analytic_new(C, H, W, S, K, L, 23); /* f->model's twin */
    egcam_backend *old = NULL;
    assert_int_equal(
        egcam_backend_new(f->ctx, (const egcam_backend_ops *)(const void *)&v1, m, &old), EGCAM_OK);
    enum { T = 3 };
    const int32_t classes[2 * T] = {0, 1, 2, 4, EGCAM_TARGET_RANK(2), 1};
    egcam_tensor two = {f->x, {2, C, H, W}, 4, 0};
    for (int v = 0; v < VARIANTS; v++) {
        use_variant(f, &variants[v]);
        egcam_result *a[2 * T], *b[2 * T];
        analytic_reset_counters(f->model);
        assert_int_equal(
            egcam_explain_many(f->ctx, f->backend, &f->cfg, &two, 1, classes, T, NULL, a, NULL),
            EGCAM_OK);
        analytic_counters retained = analytic_get_counters(f->model);
        assert_int_equal(
            egcam_explain_many(f->ctx, old, &f->cfg, &two, 1, classes, T, NULL, b, NULL), EGCAM_OK);
        analytic_counters repeated = analytic_get_counters(m);
        analytic_reset_counters(m);
        egcam_result *c[2 * T];
        assert_int_equal(
            egcam_explain_many(f->ctx, short_table, &f->cfg, &two, 1, classes, T, NULL, c, NULL),
            EGCAM_OK);
        assert_int_equal(analytic_get_counters(m2).backward_retained, 0);
        for (int i = 0; i < 2 * T; i++)
            assert_same_result(a[i], c[i]);
        free_results(c, 2 * T);
        assert_int_equal(repeated.backward_retained, 0);
        assert_int_equal(repeated.backward_rows, retained.backward_rows);
        assert_int_equal(repeated.forward_rows_grad, T * retained.forward_rows_grad);
        assert_int_equal(repeated.forward_rows_nograd, retained.forward_rows_nograd);
        for (int i = 0; i < 2 * T; i++)
            assert_same_result(a[i], b[i]);
        free_results(a, 2 * T);
        free_results(b, 2 * T);
    }
    egcam_backend_free(old);
    analytic_free(m);
    egcam_backend_free(short_table); /* releases m2 */
}

/* A backend that takes EGCAM_FORWARD_ACTIVATIONS_ONLY is asked for no
 * logits where none are needed (references, noisy copies): the same bits,
 * those rows forwarded without the head. */
static void test_activations_only(void **state)
{
    fixture *f = *state;
    analytic_model *m = analytic_new(C, H, W, S, K, L, 23); /* f->model's twin */
    egcam_backend *lean = NULL;
    assert_int_equal(egcam_backend_new(f->ctx, analytic_ops_activations_only(), m, &lean),
                     EGCAM_OK);
    egcam_tensor two = {f->x, {2, C, H, W}, 4, 0};
    for (int v = 0; v < VARIANTS; v++) {
        use_variant(f, &variants[v]);
        egcam_result *a[4], *b[4];
        analytic_reset_counters(m);
        assert_int_equal(
            egcam_explain_many(f->ctx, f->backend, &f->cfg, &two, 1, NULL, 2, NULL, a, NULL),
            EGCAM_OK);
        assert_int_equal(egcam_explain_many(f->ctx, lean, &f->cfg, &two, 1, NULL, 2, NULL, b, NULL),
                         EGCAM_OK);
        analytic_counters c = analytic_get_counters(m);
        /* Every forward without gradient but each input's own is lean. */
        uint64_t own = f->cfg.method == EGCAM_METHOD_GRADCAM ? 0 : 2;
        assert_int_equal(c.forward_rows_acts_only, c.forward_rows_nograd - own);
        if (f->cfg.method != EGCAM_METHOD_GRADCAM)
            assert_true(c.forward_rows_acts_only > 0);
        for (int i = 0; i < 4; i++)
            assert_same_result(a[i], b[i]);
        free_results(a, 4);
        free_results(b, 4);
    }
    /* A reference set made without logits serves explanations all the same. */
    egcam_refset *set = NULL;
    egcam_tensor refs = {f->x + 2 * N_IN, {3, C, H, W}, 4, 0};
    assert_int_equal(egcam_refset_new(f->ctx, lean, &refs, 2, &set), EGCAM_OK);
    egcam_config cfg = f->cfg;
    cfg.method = EGCAM_METHOD_EXPECTED;
    cfg.references = EGCAM_REFERENCES_ZEROS;
    egcam_result *r = NULL;
    egcam_tensor one = {f->x, {C, H, W}, 3, 0};
    assert_int_equal(egcam_explain(f->ctx, lean, &cfg, &one, set, &r), EGCAM_OK);
    egcam_result_free(r);
    egcam_refset_free(set);
    /* The public forward: the flag only for a backend that takes it, never
     * with a backward to follow. */
    egcam_tensor acts, logits, batch1 = {f->x, {1, C, H, W}, 4, 0};
    assert_int_equal(egcam_backend_forward(f->ctx, lean, &batch1, EGCAM_FORWARD_ACTIVATIONS_ONLY,
                                           &acts, &logits),
                     EGCAM_OK);
    assert_null(logits.data);
    assert_int_equal(acts.ndim, 4);
    assert_int_equal(egcam_backend_forward(f->ctx, f->backend, &one, EGCAM_FORWARD_ACTIVATIONS_ONLY,
                                           &acts, &logits),
                     EGCAM_E_INVALID_ARGUMENT);
    assert_int_equal(
        egcam_backend_forward(f->ctx, lean, &one,
                              EGCAM_FORWARD_ACTIVATIONS_ONLY | EGCAM_FORWARD_FOR_BACKWARD, &acts,
                              &logits),
        EGCAM_E_INVALID_ARGUMENT);
    egcam_backend_free(lean);
}

/* A NaN image, and a class one image's row names out of range, fail those
 * images alone: statuses, messages, NULL entries; the others as alone. */
static void test_failures_per_image(void **state)
{
    fixture *f = *state;
    enum { T = 2 };
    int32_t classes[B * T] = {0, 1, 1, 2, 2, 3, 3, L, 4, 0}; /* image 3 asks class L */
    f->x[2 * N_IN + 7] = NAN;                                /* image 2 */
    egcam_tensor whole = {f->x, {B, C, H, W}, 4, 0};
    for (int v = 0; v < VARIANTS; v++) {
        use_variant(f, &variants[v]);
        egcam_result *out[B * T];
        egcam_status st[B];
        egcam_status rc =
            egcam_explain_many(f->ctx, f->backend, &f->cfg, &whole, 1, classes, T, NULL, out, st);
        assert_int_equal(rc, EGCAM_E_NON_FINITE); /* the first failure's */
        const char *msg = egcam_ctx_last_error(f->ctx);
        if (!strstr(msg, "input 2: the input holds NaN") || !strstr(msg, "1 more"))
            fail_msg("%s: message \"%s\"", variants[v].name, msg);
        assert_int_equal(st[2], EGCAM_E_NON_FINITE);
        assert_int_equal(st[3], EGCAM_E_CLASS_OUT_OF_RANGE);
        assert_non_null(strstr(egcam_ctx_input_error(f->ctx, 2), "NaN"));
        assert_non_null(strstr(egcam_ctx_input_error(f->ctx, 3), "target class 5"));
        assert_string_equal(egcam_ctx_input_error(f->ctx, 0), "");
        assert_string_equal(egcam_ctx_input_error(f->ctx, B + 7), "");
        for (int b = 0; b < B; b++)
            for (int i = 0; i < T; i++) {
                if (b == 2 || b == 3) {
                    assert_null(out[b * T + i]);
                    continue;
                }
                assert_int_equal(st[b], EGCAM_OK);
                egcam_config one = f->cfg;
                one.target_class = classes[b * T + i];
                egcam_result *ref = alone(f, &one, b);
                assert_same_result(out[b * T + i], ref);
                egcam_result_free(ref);
            }
        free_results(out, B * T);
        /* The messages last until the next call that takes ctx. */
        assert_string_equal(egcam_ctx_input_error(f->ctx, 2), "");
    }
}

/* Images fail as their turn comes, not in order: with Grad-CAM a class out
 * of range shows at the batch's forward, after a later image's NaN was
 * refused as it entered. The first failed image is still image 0. */
static void test_failures_out_of_order(void **state)
{
    fixture *f = *state;
    f->cfg.method = EGCAM_METHOD_GRADCAM;
    const int32_t classes[3] = {L + 2, 0, 1}; /* image 0: a class it lacks */
    f->x[N_IN + 3] = NAN;                     /* image 1 */
    egcam_tensor three = {f->x, {3, C, H, W}, 4, 0};
    egcam_result *out[3];
    egcam_status st[3];
    assert_int_equal(
        egcam_explain_many(f->ctx, f->backend, &f->cfg, &three, 1, classes, 1, NULL, out, st),
        EGCAM_E_CLASS_OUT_OF_RANGE);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "input 0: target class 7"));
    assert_non_null(strstr(egcam_ctx_input_error(f->ctx, 0), "target class 7"));
    assert_non_null(strstr(egcam_ctx_input_error(f->ctx, 1), "NaN"));
    assert_int_equal(st[0], EGCAM_E_CLASS_OUT_OF_RANGE);
    assert_int_equal(st[1], EGCAM_E_NON_FINITE);
    assert_int_equal(st[2], EGCAM_OK);
    assert_null(out[0]);
    assert_null(out[1]);
    assert_non_null(out[2]);
    egcam_result_free(out[2]);
}

/* A failure of the backend fails the call: every entry NULL, every status
 * the call's; and nothing leaks (the sanitizer runs check that). */
static void test_backend_failure_fails_call(void **state)
{
    fixture *f = *state;
    egcam_tensor whole = {f->x, {B, C, H, W}, 4, 0};
    for (int v = 0; v < VARIANTS; v++) {
        use_variant(f, &variants[v]);
        for (uint32_t n = 1; n <= 3; n++) {
            egcam_result *out[B * 2];
            egcam_status st[B];
            analytic_fail_backward(f->model, n);
            assert_int_equal(
                egcam_explain_many(f->ctx, f->backend, &f->cfg, &whole, 1, NULL, 2, NULL, out, st),
                EGCAM_E_BACKEND);
            analytic_fail_backward(f->model, 0);
            for (int i = 0; i < B * 2; i++)
                assert_null(out[i]);
            for (int b = 0; b < B; b++)
                assert_int_equal(st[b], EGCAM_E_BACKEND);
        }
    }
}

static void expect_failure(fixture *f, egcam_status want, const char *needle,
                           const egcam_tensor *in, uint32_t count, const int32_t *classes,
                           uint32_t targets)
{
    egcam_result *out[B * 4];
    for (int i = 0; i < B * 4; i++)
        out[i] = (egcam_result *)out; /* junk to be reset */
    egcam_status st = egcam_explain_many(f->ctx, f->backend, &f->cfg, in, count, classes, targets,
                                         NULL, out, NULL);
    if (st != want || !strstr(egcam_ctx_last_error(f->ctx), needle))
        fail_msg("status %d (%s), message \"%s\"; expected %d and \"%s\"", st,
                 egcam_status_string(st), egcam_ctx_last_error(f->ctx), want, needle);
}

static void test_arguments(void **state)
{
    fixture *f = *state;
    /* Once the inputs are known, every status is set, also by a failure of
     * the call's other arguments. */
    egcam_tensor two = {f->x, {2, C, H, W}, 4, 0};
    egcam_result *res2[2];
    egcam_status st2[2] = {EGCAM_OK, EGCAM_OK};
    assert_int_equal(egcam_explain_many(f->ctx, NULL, &f->cfg, &two, 1, NULL, 1, NULL, res2, st2),
                     EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(st2[0], EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(st2[1], EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(
        egcam_explain_many(f->ctx, f->backend, &f->cfg, &two, 1, NULL, 0, NULL, res2, st2),
        EGCAM_E_EMPTY);
    assert_int_equal(st2[1], EGCAM_E_EMPTY);
    egcam_tensor one = {f->x, {C, H, W}, 3, 0};
    egcam_tensor other[2] = {{f->x, {C, H, W}, 3, 0}, {f->x, {C, W / 2, H * 2}, 3, 0}};
    const int32_t cls[2] = {0, 1};
    egcam_result *out[2];
    assert_int_equal(
        egcam_explain_many(NULL, f->backend, &f->cfg, &one, 1, NULL, 1, NULL, out, NULL),
        EGCAM_E_NULL_ARGUMENT);
    expect_failure(f, EGCAM_E_NULL_ARGUMENT, "inputs", NULL, 1, NULL, 1);
    expect_failure(f, EGCAM_E_EMPTY, "input_count", &one, 0, NULL, 1);
    expect_failure(f, EGCAM_E_EMPTY, "targets", &one, 1, NULL, 0);
    expect_failure(f, EGCAM_E_SHAPE_MISMATCH, "share a shape", other, 2, NULL, 1);
    f->cfg.target_class = 1;
    expect_failure(f, EGCAM_E_INVALID_ARGUMENT, "both classes", &one, 1, cls, 2);
    expect_failure(f, EGCAM_E_INVALID_ARGUMENT, "names one class", &one, 1, NULL, 2);
    f->cfg.target_class = EGCAM_TARGET_RANK(L - 1); /* ranks L-1 and L: the second fails */
    expect_failure(f, EGCAM_E_CLASS_OUT_OF_RANGE, "target rank 5", &one, 1, NULL, 2);
    f->cfg.target_class = -1;
    float weights[3 * L] = {1.0f};
    f->cfg.target_weights = weights;
    f->cfg.target_weights_count = 3 * L;
    expect_failure(f, EGCAM_E_SHAPE_MISMATCH, "multiple", &one, 1, NULL, 2);
    expect_failure(f, EGCAM_E_INVALID_ARGUMENT, "both classes", &one, 1, cls, 1);
    f->cfg.target_weights_count = 2 * L + 2;
    expect_failure(f, EGCAM_E_SHAPE_MISMATCH, "take 10", &one, 1, NULL, 2);
    f->cfg.target_weights = NULL;
    f->cfg.target_weights_count = 0;
    assert_int_equal(
        egcam_explain_many(f->ctx, f->backend, &f->cfg, &one, 1, cls, 2, NULL, out, NULL),
        EGCAM_OK);
    free_results(out, 2);
}

/* Cancelling stops the call between batches, with no result. */
static int cancel_at_second(void *user, uint64_t done, uint64_t total)
{
    (void)done;
    (void)total;
    return ++*(int *)user >= 2;
}

static void test_cancel(void **state)
{
    fixture *f = *state;
    int calls = 0;
    egcam_tensor whole = {f->x, {B, C, H, W}, 4, 0};
    egcam_result *out[B];
    egcam_status st[B];
    f->cfg.method = EGCAM_METHOD_GRADCAM;
    assert_int_equal(egcam_ctx_set_progress(f->ctx, cancel_at_second, &calls), EGCAM_OK);
    assert_int_equal(
        egcam_explain_many(f->ctx, f->backend, &f->cfg, &whole, 1, NULL, 1, NULL, out, st),
        EGCAM_E_CANCELLED);
    for (int b = 0; b < B; b++) {
        assert_null(out[b]);
        assert_int_equal(st[b], EGCAM_E_CANCELLED);
    }
    assert_int_equal(egcam_ctx_set_progress(f->ctx, NULL, NULL), EGCAM_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_targets_bit_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_images_bit_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version1_backend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activations_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_per_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_failure_fails_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
