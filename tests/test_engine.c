/*
 * test_engine.c - the engine around the numbers: backend failures and bad
 * backend outputs caught, progress and cancellation, memory bounded by the
 * batch, built-in references, and reference sets reused across calls.
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

enum { C = 2, H = 8, W = 8, S = 2, K = 3, L = 4 };

typedef struct fixture {
    egcam_ctx *ctx;
    analytic_model *model;
    egcam_backend *backend;
    egcam_config cfg;
    float x[C * H * W];
    egcam_tensor input;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(egcam_ctx_new(&f->ctx), EGCAM_OK);
    f->model = analytic_new(C, H, W, S, K, L, 11);
    assert_int_equal(analytic_wrap(f->ctx, f->model, &f->backend), EGCAM_OK);
    assert_int_equal(egcam_config_init(&f->cfg), EGCAM_OK);
    f->cfg.samples = 20;
    f->cfg.steps = 20;
    f->cfg.batch_size = 4;
    analytic_fill_uniform(f->x, C * H * W, 5, 0.0f, 1.0f);
    f->input = (egcam_tensor){f->x, {C, H, W}, 3, 0};
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

static egcam_status explain(fixture *f, egcam_result **res)
{
    *res = (egcam_result *)res; /* junk: a failure must reset it */
    egcam_status st = egcam_explain(f->ctx, f->backend, &f->cfg, &f->input, NULL, res);
    if (st != EGCAM_OK)
        assert_null(*res);
    return st;
}

static void assert_error_mentions(const fixture *f, const char *needle)
{
    const char *msg = egcam_ctx_last_error(f->ctx);
    if (!strstr(msg, needle))
        fail_msg("message \"%s\" does not mention \"%s\"", msg, needle);
}

static const uint32_t methods[] = {EGCAM_METHOD_GRADCAM, EGCAM_METHOD_INTEGRATED,
                                   EGCAM_METHOD_EXPECTED};

/* A failing forward or backward, first or in the middle of the sampling
 * loop, stops the call with the backend's status and message; nothing
 * leaks (the sanitizer and valgrind runs check that part). */
static void test_backend_failures_propagate(void **state)
{
    fixture *f = *state;
    egcam_result *res;
    for (size_t m = 0; m < 3; m++) {
        f->cfg.method = methods[m];
        for (uint32_t n = 1; n <= 3; n++) {
            analytic_fail_forward(f->model, n);
            egcam_status st = explain(f, &res);
            if (methods[m] == EGCAM_METHOD_GRADCAM && n > 1) { /* only one forward */
                assert_int_equal(st, EGCAM_OK);
                egcam_result_free(res);
                analytic_fail_forward(f->model, 0);
                continue;
            }
            assert_int_equal(st, EGCAM_E_BACKEND);
            assert_error_mentions(f, ANALYTIC_FORWARD_FAILURE);
            assert_error_mentions(f, "forward failed");
        }
        analytic_fail_backward(f->model, methods[m] == EGCAM_METHOD_GRADCAM ? 1 : 2);
        assert_int_equal(explain(f, &res), EGCAM_E_BACKEND);
        assert_error_mentions(f, ANALYTIC_BACKWARD_FAILURE);
        assert_int_equal(explain(f, &res), EGCAM_OK); /* the backend recovers */
        egcam_result_free(res);
    }
}

/* What a backend hands back is checked, not trusted. */
static void test_bad_backend_outputs_caught(void **state)
{
    fixture *f = *state;
    static const struct {
        analytic_corruption mode;
        uint32_t nth;
        egcam_status status;
        const char *needle;
    } cases[] = {
        {ANALYTIC_CORRUPT_NAN_ACTIVATION, 1, EGCAM_E_NON_FINITE, "activations"},
        {ANALYTIC_CORRUPT_INF_LOGIT, 1, EGCAM_E_NON_FINITE, "logits"},
        {ANALYTIC_CORRUPT_ACT_ROWS, 1, EGCAM_E_BACKEND, "rows"},
        {ANALYTIC_CORRUPT_LOGIT_ROWS, 1, EGCAM_E_BACKEND, "logits for"},
        {ANALYTIC_CORRUPT_ACT_NDIM, 1, EGCAM_E_BACKEND, "with 3 dimensions"},
        {ANALYTIC_CORRUPT_NULL_DATA, 1, EGCAM_E_BACKEND, "no data"},
        /* an empty layer names its shape, not its rank */
        {ANALYTIC_CORRUPT_ACT_EMPTY, 1, EGCAM_E_BACKEND, "shape [1, 3, 0, 4] has a dimension of 0"},
        /* the references (second forward) have fewer logits than the input */
        {ANALYTIC_CORRUPT_LOGIT_CLASSES, 2, EGCAM_E_BACKEND, "references 3 logits and the input 4"},
        {ANALYTIC_CORRUPT_ACT_CHANNELS, 3, EGCAM_E_BACKEND, "changed shapes"},
        {ANALYTIC_CORRUPT_NAN_GRADIENT, 1, EGCAM_E_NON_FINITE, "not finite"},
        {ANALYTIC_CORRUPT_GRAD_ROWS, 1, EGCAM_E_BACKEND, "gradient"},
    };
    egcam_result *res;
    f->cfg.method = EGCAM_METHOD_INTEGRATED;
    f->cfg.batch_size = 1; /* every forward the same size, so only K differs */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        analytic_corrupt(f->model, cases[i].mode, cases[i].nth);
        assert_int_equal(explain(f, &res), cases[i].status);
        assert_error_mentions(f, cases[i].needle);
        analytic_corrupt(f->model, ANALYTIC_CORRUPT_NONE, 0);
    }
    assert_int_equal(explain(f, &res), EGCAM_OK);
    egcam_result_free(res);
}

/* A gradient that is zero at every point the method evaluates makes an
 * empty map that is correct arithmetic but no explanation: the result says
 * so (EGCAM_RESULT_ZERO_GRADIENT), and says nothing when any entry is not
 * zero. */
static void test_zero_gradient_flagged(void **state)
{
    fixture *f = *state;
    egcam_result *res;
    for (size_t m = 0; m < 3; m++) {
        f->cfg.method = methods[m];
        assert_int_equal(explain(f, &res), EGCAM_OK);
        assert_int_equal(egcam_result_flags(res), 0);
        egcam_result_free(res);

        analytic_corrupt(f->model, ANALYTIC_CORRUPT_ZERO_GRADIENT, 1);
        assert_int_equal(explain(f, &res), EGCAM_OK);
        assert_int_equal(egcam_result_flags(res), EGCAM_RESULT_ZERO_GRADIENT);
        uint32_t h, w;
        const float *map = egcam_result_map(res, EGCAM_MAP_LAYER, &h, &w);
        for (uint32_t p = 0; p < h * w; p++)
            assert_true(map[p] == 0.0f);
        egcam_result_free(res);

        analytic_corrupt(f->model, ANALYTIC_CORRUPT_NONE, 0);
        if (methods[m] != EGCAM_METHOD_GRADCAM) {
            /* Zero from the second backward on: one batch had a gradient. */
            f->cfg.batch_size = 1;
            analytic_corrupt(f->model, ANALYTIC_CORRUPT_ZERO_GRADIENT, 2);
            assert_int_equal(explain(f, &res), EGCAM_OK);
            assert_int_equal(egcam_result_flags(res), 0);
            egcam_result_free(res);
            analytic_corrupt(f->model, ANALYTIC_CORRUPT_NONE, 0);
            f->cfg.batch_size = 16;
        }
    }
    /* Zero target weights explain 0 * logits: nothing depends on the layer. */
    float zeros[L] = {0};
    f->cfg.method = EGCAM_METHOD_GRADCAM;
    f->cfg.target_weights = zeros;
    f->cfg.target_weights_count = L;
    assert_int_equal(explain(f, &res), EGCAM_OK);
    assert_int_equal(egcam_result_flags(res), EGCAM_RESULT_ZERO_GRADIENT);
    egcam_result_free(res);
    assert_int_equal(egcam_result_flags(NULL), 0);
}

/* egcam_explain_cost() says what egcam_explain() then does: the rows the
 * backend forwards (for backward or not) and pulls back, for every method,
 * with noise, without it, with the clean difference, with built-in uniform
 * references and with a set; and refuses what explain refuses. */
static void test_cost_matches_passes(void **state)
{
    fixture *f = *state;
    float refs_data[3 * C * H * W];
    analytic_fill_uniform(refs_data, 3 * C * H * W, 9, 0.0f, 1.0f);
    egcam_tensor refs_t = {refs_data, {3, C, H, W}, 4, 0};
    egcam_refset *set;
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &refs_t, 2, &set), EGCAM_OK);
    static const struct {
        uint32_t method, references, flags;
        float noise;
        int with_set;
        uint64_t forward, backward, references_made;
    } cases[] = {
        {EGCAM_METHOD_GRADCAM, EGCAM_REFERENCES_ZEROS, 0, 0.1f, 0, 1, 1, 0},
        {EGCAM_METHOD_GRADCAM, EGCAM_REFERENCES_ZEROS, 0, 0.1f, 1, 1, 1, 0},
        {EGCAM_METHOD_INTEGRATED, EGCAM_REFERENCES_ZEROS, 0, 0.1f, 0, 5 + 1 + 1, 5, 1},
        {EGCAM_METHOD_INTEGRATED, EGCAM_REFERENCES_BLUR, 0, 0.1f, 0, 5 + 1 + 1, 5, 1},
        {EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_ZEROS, 0, 0.1f, 0, 2 * 6 + 1 + 1, 6, 1},
        {EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_ZEROS, 0, 0.0f, 0, 6 + 1 + 1, 6, 1},
        {EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_ZEROS, EGCAM_FLAG_CLEAN_DIFFERENCE, 0.1f, 0,
         6 + 1 + 1, 6, 1},
        {EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_UNIFORM, 0, 0.1f, 0, 2 * 6 + 1 + 4, 6, 4},
        {EGCAM_METHOD_EXPECTED, EGCAM_REFERENCES_ZEROS, 0, 0.1f, 1, 2 * 6 + 1, 6, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        egcam_config cfg;
        assert_int_equal(egcam_config_init(&cfg), EGCAM_OK);
        cfg.method = cases[i].method;
        cfg.references = cases[i].references;
        cfg.reference_count = 4;
        cfg.flags = cases[i].flags;
        cfg.noise_level = cases[i].noise;
        cfg.steps = 5;
        cfg.samples = 6;
        cfg.batch_size = 4;
        const egcam_refset *r = cases[i].with_set ? set : NULL;
        uint64_t fwd = 0, bwd = 0, made = 0;
        assert_int_equal(egcam_explain_cost(f->ctx, &cfg, &f->input, r, &fwd, &bwd, &made),
                         EGCAM_OK);
        assert_int_equal(fwd, cases[i].forward);
        assert_int_equal(bwd, cases[i].backward);
        assert_int_equal(made, cases[i].references_made);
        analytic_reset_counters(f->model);
        egcam_result *res;
        assert_int_equal(egcam_explain(f->ctx, f->backend, &cfg, &f->input, r, &res), EGCAM_OK);
        egcam_result_free(res);
        analytic_counters c = analytic_get_counters(f->model);
        assert_int_equal(c.forward_rows_grad + c.forward_rows_nograd, fwd);
        assert_int_equal(c.backward_rows, bwd);
        assert_int_equal(egcam_explain_cost(f->ctx, &cfg, &f->input, r, NULL, NULL, NULL),
                         EGCAM_OK);
    }
    /* What explain refuses before its first forward, cost refuses too. */
    egcam_config cfg;
    assert_int_equal(egcam_config_init(&cfg), EGCAM_OK);
    cfg.method = EGCAM_METHOD_INTEGRATED;
    assert_int_equal(egcam_explain_cost(f->ctx, &cfg, &f->input, set, NULL, NULL, NULL),
                     EGCAM_E_INVALID_ARGUMENT);
    assert_error_mentions(f, "one baseline");
    cfg.samples = 0;
    assert_int_equal(egcam_explain_cost(f->ctx, &cfg, &f->input, NULL, NULL, NULL, NULL),
                     EGCAM_E_EMPTY);
    assert_int_equal(egcam_explain_cost(f->ctx, NULL, &f->input, NULL, NULL, NULL, NULL),
                     EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_explain_cost(NULL, &cfg, &f->input, NULL, NULL, NULL, NULL),
                     EGCAM_E_NULL_ARGUMENT);
    egcam_refset_free(set);
}

typedef struct progress_log {
    uint64_t calls, last_done, total;
    int monotonic;
    uint64_t cancel_at; /* 0: never */
} progress_log;

static int on_progress(void *user, uint64_t done, uint64_t total)
{
    progress_log *log = user;
    if (done <= log->last_done || done > total)
        log->monotonic = 0;
    log->calls++;
    log->last_done = done;
    log->total = total;
    return log->cancel_at && done >= log->cancel_at;
}

static void test_progress_and_cancel(void **state)
{
    fixture *f = *state;
    egcam_result *res;
    progress_log log = {.monotonic = 1};
    assert_int_equal(egcam_ctx_set_progress(f->ctx, on_progress, &log), EGCAM_OK);
    f->cfg.samples = 10; /* batches of 4: 4, 8, 10 */
    assert_int_equal(explain(f, &res), EGCAM_OK);
    egcam_result_free(res);
    assert_int_equal(log.calls, 3);
    assert_int_equal(log.last_done, 10);
    assert_int_equal(log.total, 10);
    assert_true(log.monotonic);

    log = (progress_log){.monotonic = 1, .cancel_at = 8};
    analytic_reset_counters(f->model);
    assert_int_equal(explain(f, &res), EGCAM_E_CANCELLED);
    assert_error_mentions(f, "cancelled");
    assert_int_equal(log.calls, 2);
    /* It stopped there: 8 gradient rows, not 10. */
    assert_int_equal(analytic_get_counters(f->model).backward_rows, 8);

    /* Making a reference set reports progress too, and can be cancelled. */
    float refs[5 * C * H * W] = {0};
    egcam_tensor t = {refs, {5, C, H, W}, 4, 0};
    egcam_refset *set;
    log = (progress_log){.monotonic = 1};
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &t, 2, &set), EGCAM_OK);
    assert_int_equal(log.calls, 3);
    assert_int_equal(log.last_done, 5);
    egcam_refset_free(set);
    log = (progress_log){.monotonic = 1, .cancel_at = 1};
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &t, 2, &set), EGCAM_E_CANCELLED);
    assert_null(set);

    assert_int_equal(egcam_ctx_set_progress(f->ctx, NULL, NULL), EGCAM_OK);
    log = (progress_log){.monotonic = 1};
    assert_int_equal(explain(f, &res), EGCAM_OK);
    egcam_result_free(res);
    assert_int_equal(log.calls, 0);
}

/* Memory grows with the batch, not the samples: no backend call ever sees
 * more rows than batch_size, however large N is. */
static void test_batches_bounded(void **state)
{
    fixture *f = *state;
    egcam_result *res;
    f->cfg.samples = 1000;
    f->cfg.batch_size = 8;
    analytic_reset_counters(f->model);
    assert_int_equal(explain(f, &res), EGCAM_OK);
    egcam_result_free(res);
    analytic_counters c = analytic_get_counters(f->model);
    assert_int_equal(c.max_forward_rows, 8);
    assert_int_equal(c.backward_rows, 1000);
    assert_int_equal(c.backward_calls, 125);
}

/* Built-in references: the blurred input and uniform noise work for the
 * methods they serve, are deterministic, and the noise follows the seed. */
static void test_builtin_references(void **state)
{
    fixture *f = *state;
    egcam_result *a, *b;
    uint32_t h, w;
    f->cfg.references = EGCAM_REFERENCES_BLUR;
    for (size_t m = 1; m < 3; m++) {
        f->cfg.method = methods[m];
        assert_int_equal(explain(f, &a), EGCAM_OK);
        assert_true(isfinite(egcam_result_completeness(a)));
        egcam_result_free(a);
    }
    f->cfg.references = EGCAM_REFERENCES_UNIFORM;
    f->cfg.reference_count = 5;
    analytic_reset_counters(f->model);
    assert_int_equal(explain(f, &a), EGCAM_OK);
    /* 1 input + 5 references + 2N points */
    assert_int_equal(analytic_get_counters(f->model).forward_rows_nograd +
                         analytic_get_counters(f->model).forward_rows_grad,
                     1 + 5 + 2 * f->cfg.samples);
    assert_int_equal(explain(f, &b), EGCAM_OK);
    uint32_t k;
    const float *wa = egcam_result_weights(a, &k);
    assert_memory_equal(wa, egcam_result_weights(b, NULL), k * sizeof(float));
    const float *ma = egcam_result_map(a, EGCAM_MAP_LAYER, &h, &w);
    assert_memory_equal(ma, egcam_result_map(b, EGCAM_MAP_LAYER, NULL, NULL),
                        h * w * sizeof(float));
    egcam_result_free(b);
    f->cfg.seed++;
    assert_int_equal(explain(f, &b), EGCAM_OK);
    assert_memory_not_equal(wa, egcam_result_weights(b, NULL), k * sizeof(float));
    egcam_result_free(a);
    egcam_result_free(b);
}

/* A reference set is forwarded once and reused: an explanation with a set
 * of zeros equals the built-in zeros bit for bit, minus one forward row. */
static void test_refset_reused(void **state)
{
    fixture *f = *state;
    float zeros[C * H * W] = {0};
    egcam_tensor t = {zeros, {1, C, H, W}, 4, 0};
    egcam_refset *set;
    assert_int_equal(egcam_refset_new(f->ctx, f->backend, &t, 0, &set), EGCAM_OK);
    for (size_t m = 1; m < 3; m++) {
        egcam_result *builtin, *cached;
        f->cfg.method = methods[m];
        analytic_reset_counters(f->model);
        assert_int_equal(explain(f, &builtin), EGCAM_OK);
        uint64_t rows_builtin = analytic_get_counters(f->model).forward_rows_nograd;
        analytic_reset_counters(f->model);
        assert_int_equal(egcam_explain(f->ctx, f->backend, &f->cfg, &f->input, set, &cached),
                         EGCAM_OK);
        assert_int_equal(analytic_get_counters(f->model).forward_rows_nograd, rows_builtin - 1);
        uint32_t h, w;
        const float *mb = egcam_result_map(builtin, EGCAM_MAP_INPUT, &h, &w);
        assert_memory_equal(mb, egcam_result_map(cached, EGCAM_MAP_INPUT, NULL, NULL),
                            h * w * sizeof(float));
        assert_true(egcam_result_completeness(builtin) == egcam_result_completeness(cached));
        egcam_result_free(builtin);
        egcam_result_free(cached);
    }
    egcam_refset_free(set);
}

/* The explicand and the references never ask for autograd state; only
 * the gradient points do (and Grad-CAM's one forward). */
static void test_forward_flags(void **state)
{
    fixture *f = *state;
    egcam_result *res;
    f->cfg.method = EGCAM_METHOD_EXPECTED;
    f->cfg.samples = 8;
    analytic_reset_counters(f->model);
    assert_int_equal(explain(f, &res), EGCAM_OK);
    egcam_result_free(res);
    analytic_counters c = analytic_get_counters(f->model);
    assert_int_equal(c.forward_rows_grad, 8);
    assert_int_equal(c.forward_rows_nograd, 1 + 1 + 8); /* x, zeros, x + eps */
    assert_int_equal(c.backward_rows, 8);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_backend_failures_propagate),
        T(test_bad_backend_outputs_caught),
        T(test_zero_gradient_flagged),
        T(test_cost_matches_passes),
        T(test_progress_and_cancel),
        T(test_batches_bounded),
        T(test_builtin_references),
        T(test_refset_reused),
        T(test_forward_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
