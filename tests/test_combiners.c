/*
 * test_combiners.c - every combiner of the Grad-CAM family on every
 * estimator, against closed forms, through the public API only.
 *
 * A combiner is post-processing on the gradient term R, the attribution Phi
 * and A(x) (the project's combiners.md). The analytic backend gives R in
 * closed form for the two deterministic estimators (Grad-CAM's G(x),
 * Integrated Grad-CAM's (A(x) - A(b)) (.) sum_m omega_m G(z_m)). For
 * Expected Grad-CAM R depends on the random points: a recording backend
 * around the analytic one keeps every row the engine forwards, and the test
 * recomputes R exactly at those points,
 *
 *     R = (1/N) sum_n (A(x + eps_n) - A(x'_n)) (.) G(z_n),
 *
 * with the closed-form A and G, in double. Each combiner's formula is then
 * written here again, independently of lib/core/combine.c, and the
 * library's signed map, layer map and weights must match it to float
 * rounding. Beyond the formulas: a result combined afterwards
 * (egcam_result_combine) is bit for bit the explanation made with that
 * combiner; combiner 0 is Grad-CAM's, bit for bit; the combiners without
 * channel weights report none; `complete`'s signed map sums to the
 * completeness value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytic_backend.h"

enum {
    C = 2,
    H = 8,
    W = 8,
    S = 2,
    K = 3,
    L = 4,
    HW = (H / S) * (W / S),
    IN = C * H * W,
    NA = K * HW,
    N_SAMPLES = 64,
    M_STEPS = 16
};
#define MODEL_SEED 1234u
#define COMBINER_COUNT 7u

static const uint32_t estimators[] = {EGCAM_METHOD_GRADCAM, EGCAM_METHOD_INTEGRATED,
                                      EGCAM_METHOD_EXPECTED};

/* ---- a backend that records what it forwards ------------------------------------ */

typedef struct rows {
    float *data;
    size_t count, cap;
} rows;

typedef struct recorder {
    analytic_model *m;
    rows plain, for_backward; /* forwarded rows, in order */
} recorder;

static void rows_add(rows *r, const float *data, size_t n)
{
    if (r->count + n > r->cap) {
        r->cap = 2 * (r->count + n);
        r->data = realloc(r->data, r->cap * IN * sizeof *r->data);
        assert_non_null(r->data);
    }
    memcpy(r->data + r->count * IN, data, n * IN * sizeof *data);
    r->count += n;
}

static egcam_status rec_forward(void *self, const egcam_tensor *inputs, uint32_t flags,
                                egcam_tensor *activations, egcam_tensor *logits, char *errbuf,
                                size_t errbuf_size)
{
    recorder *r = self;
    size_t n = (size_t)inputs->shape[0];
    rows_add(flags & EGCAM_FORWARD_FOR_BACKWARD ? &r->for_backward : &r->plain, inputs->data, n);
    return analytic_ops()->forward(r->m, inputs, flags, activations, logits, errbuf, errbuf_size);
}

static egcam_status rec_backward(void *self, const float *seed, egcam_tensor *grad, char *errbuf,
                                 size_t errbuf_size)
{
    recorder *r = self;
    return analytic_ops()->backward(r->m, seed, grad, errbuf, errbuf_size);
}

static void rec_release(void *self)
{
    recorder *r = self;
    analytic_free(r->m);
    free(r->plain.data);
    free(r->for_backward.data);
    free(r);
}

static const egcam_backend_ops rec_ops = {
    .abi_version = EGCAM_BACKEND_ABI_VERSION,
    .struct_size = sizeof(egcam_backend_ops),
    .name = "recording analytic",
    .forward = rec_forward,
    .backward = rec_backward,
    .release = rec_release,
};

/* ---- fixture ------------------------------------------------------------------- */

typedef struct fixture {
    egcam_ctx *ctx;
    recorder *rec; /* owned by be */
    egcam_backend *be;
    float x[IN];
    double A[NA];   /* A(x) */
    double seed[L]; /* one-hot at the top class */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || egcam_ctx_new(&f->ctx) != EGCAM_OK)
        return -1;
    f->rec = calloc(1, sizeof *f->rec);
    f->rec->m = analytic_new(C, H, W, S, K, L, MODEL_SEED);
    if (!f->rec->m || egcam_backend_new(f->ctx, &rec_ops, f->rec, &f->be) != EGCAM_OK)
        return -1;
    analytic_fill_uniform(f->x, IN, 1, -1.0f, 1.0f);
    analytic_activations(f->rec->m, f->x, f->A);
    analytic_onehot(f->rec->m, analytic_argmax(f->rec->m, f->x), f->seed);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    egcam_backend_free(f->be);
    egcam_ctx_free(f->ctx);
    free(f);
    return 0;
}

static egcam_config config(uint32_t method, uint32_t combiner)
{
    egcam_config cfg;
    assert_int_equal(egcam_config_init(&cfg), EGCAM_OK);
    cfg.method = method;
    cfg.combiner = combiner;
    cfg.samples = N_SAMPLES;
    cfg.steps = M_STEPS;
    cfg.batch_size = N_SAMPLES; /* one batch: the x + eps rows are the last plain ones */
    return cfg;
}

static egcam_result *explain(fixture *f, const egcam_config *cfg)
{
    const egcam_tensor in = {f->x, {C, H, W, 0}, 3, 0};
    egcam_result *res = NULL;
    f->rec->plain.count = f->rec->for_backward.count = 0;
    egcam_status st = egcam_explain(f->ctx, f->be, cfg, &in, NULL, &res);
    if (st != EGCAM_OK)
        fail_msg("egcam_explain: %s: %s", egcam_status_string(st), egcam_ctx_last_error(f->ctx));
    return res;
}

/* ---- R and Phi in closed form ---------------------------------------------------- */

/* R of the last explanation with `method` (default references: zeros). */
static void exact_term(fixture *f, uint32_t method, double *R)
{
    double w[K];
    if (method == EGCAM_METHOD_GRADCAM) {
        analytic_gradcam(f->rec->m, f->x, f->seed, R, w);
        return;
    }
    if (method == EGCAM_METHOD_INTEGRATED) {
        analytic_integrated(f->rec->m, f->x, NULL, EGCAM_RULE_MIDPOINT, M_STEPS, f->seed, R, w);
        return;
    }
    /* Expected: the recorded points. The zero reference's activations are
     * A(0); each x + eps_n was forwarded (plain) before its z_n (for
     * backward). */
    const rows *z = &f->rec->for_backward, *plain = &f->rec->plain;
    assert_int_equal(z->count, N_SAMPLES);
    assert_true(plain->count >= N_SAMPLES);
    const float *tops = plain->data + (plain->count - N_SAMPLES) * IN;
    static const float zeros[IN];
    double A0[NA], At[NA], G[NA];
    analytic_activations(f->rec->m, zeros, A0);
    memset(R, 0, NA * sizeof *R);
    for (int n = 0; n < N_SAMPLES; n++) {
        analytic_activations(f->rec->m, tops + n * IN, At);
        analytic_gradient(f->rec->m, z->data + n * IN, f->seed, G);
        for (int j = 0; j < NA; j++)
            R[j] += (At[j] - A0[j]) * G[j] / N_SAMPLES;
    }
}

/* ---- the combiners, written again from the spec ----------------------------------- */

/* The signed map (h*w) of `combiner` from R, A and whether Phi is R; its
 * channel weights in w, or 0 returned for a combiner without weights. */
static int reference_map(uint32_t combiner, const double *R, const double *A, int phi_is_term,
                         double *map, double *w)
{
    int has_weights = combiner <= EGCAM_COMBINER_XGRADCAM;
    for (int k = 0; k < K && has_weights; k++) {
        const double *r = R + k * HW, *a = A + k * HW;
        double sum_a = 0, v = 0;
        for (int p = 0; p < HW; p++)
            sum_a += a[p];
        for (int p = 0; p < HW; p++) {
            if (combiner == EGCAM_COMBINER_GRADCAM) {
                v += r[p] / HW;
            } else if (combiner == EGCAM_COMBINER_GRADCAM_PLUSPLUS) {
                double alpha =
                    r[p] == 0 ? 0 : r[p] * r[p] / (2 * r[p] * r[p] + sum_a * pow(r[p], 3) + 1e-6);
                v += alpha * fmax(r[p], 0);
            } else {
                v += r[p] * a[p] / (sum_a + 1e-7);
            }
        }
        w[k] = v;
    }
    for (int p = 0; p < HW; p++) {
        double v = 0;
        for (int k = 0; k < K; k++) {
            double r = R[k * HW + p], a = A[k * HW + p];
            switch (combiner) {
            case EGCAM_COMBINER_HIRESCAM: v += r * a; break;
            case EGCAM_COMBINER_ELEMENTWISE: v += fmax(r * a, 0); break;
            case EGCAM_COMBINER_LAYERCAM: v += fmax(r, 0) * a; break;
            case EGCAM_COMBINER_COMPLETE: v += phi_is_term ? r : r * a; break;
            default: v += w[k] * a; break;
            }
        }
        map[p] = v;
    }
    return has_weights;
}

static double max_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* ---- tests ------------------------------------------------------------------------ */

/* 21 pairs: the library's signed map, layer map and weights against the
 * formulas applied to the exact R. */
static void test_every_pair_closed_form(void **state)
{
    fixture *f = *state;
    for (size_t e = 0; e < 3; e++) {
        uint32_t method = estimators[e];
        for (uint32_t c = 1; c <= COMBINER_COUNT; c++) {
            egcam_config cfg = config(method, c);
            egcam_result *res = explain(f, &cfg);
            assert_int_equal(egcam_result_combiner(res), c);
            double R[NA], want[HW], w[K];
            exact_term(f, method, R);
            int has_weights = reference_map(c, R, f->A, method != EGCAM_METHOD_GRADCAM, want, w);
            uint32_t h, wd;
            const float *sig = egcam_result_map(res, EGCAM_MAP_SIGNED, &h, &wd);
            const float *lay = egcam_result_map(res, EGCAM_MAP_LAYER, NULL, NULL);
            assert_int_equal(h * wd, HW);
            /* Rounding: float activations and gradients, a double sum. */
            double tol = 1e-4 * (max_abs(want, HW) + 1e-3);
            for (int p = 0; p < HW; p++) {
                if (!(fabs(sig[p] - want[p]) <= tol))
                    fail_msg("%s + %s at %d: %.9g, want %.9g (tolerance %.3g)",
                             method == EGCAM_METHOD_GRADCAM      ? "gradcam"
                             : method == EGCAM_METHOD_INTEGRATED ? "integrated"
                                                                 : "expected",
                             egcam_combiner_name(c), p, sig[p], want[p], tol);
                assert_true(lay[p] == (sig[p] > 0 ? sig[p] : 0.0f));
            }
            uint32_t count = 99;
            const float *got_w = egcam_result_weights(res, &count);
            if (has_weights) {
                assert_non_null(got_w);
                assert_int_equal(count, K);
                double wtol = 1e-4 * (max_abs(w, K) + 1e-3);
                for (int k = 0; k < K; k++)
                    if (!(fabs(got_w[k] - w[k]) <= wtol))
                        fail_msg("%s weight %d: %.9g, want %.9g", egcam_combiner_name(c), k,
                                 got_w[k], w[k]);
            } else {
                assert_null(got_w);
                assert_int_equal(count, 0);
            }
            egcam_result_free(res);
        }
    }
}

/* The signed map of `complete` sums to the completeness value: the
 * property the journal version of Expected Grad-CAM builds on. */
static void test_complete_sums_to_completeness(void **state)
{
    fixture *f = *state;
    for (size_t e = 0; e < 3; e++) {
        egcam_config cfg = config(estimators[e], EGCAM_COMBINER_COMPLETE);
        egcam_result *res = explain(f, &cfg);
        const float *sig = egcam_result_map(res, EGCAM_MAP_SIGNED, NULL, NULL);
        double sum = 0, scale = 0;
        for (int p = 0; p < HW; p++)
            sum += sig[p], scale += fabs(sig[p]);
        double comp = egcam_result_completeness(res);
        if (!(fabs(sum - comp) <= 1e-5 * scale))
            fail_msg("method %u: the signed map sums to %.9g, completeness %.9g", estimators[e],
                     sum, comp);
        assert_true(scale > 0);
        egcam_result_free(res);
    }
}

static void assert_same_result(const egcam_result *a, const egcam_result *b)
{
    static const uint32_t kinds[] = {EGCAM_MAP_LAYER, EGCAM_MAP_INPUT, EGCAM_MAP_NORMALIZED,
                                     EGCAM_MAP_SIGNED};
    for (size_t i = 0; i < 4; i++) {
        uint32_t h, w;
        const float *ma = egcam_result_map(a, kinds[i], &h, &w);
        assert_memory_equal(ma, egcam_result_map(b, kinds[i], NULL, NULL), h * w * sizeof *ma);
    }
    uint32_t ca, cb;
    const float *wa = egcam_result_weights(a, &ca), *wb = egcam_result_weights(b, &cb);
    assert_int_equal(ca, cb);
    if (ca)
        assert_memory_equal(wa, wb, ca * sizeof *wa);
    assert_int_equal(egcam_result_combiner(a), egcam_result_combiner(b));
    assert_true(egcam_result_completeness(a) == egcam_result_completeness(b));
    assert_true(egcam_result_logit(a) == egcam_result_logit(b));
    assert_int_equal(egcam_result_class(a), egcam_result_class(b));
    assert_int_equal(egcam_result_flags(a), egcam_result_flags(b));
}

/* One explanation's passes serve every combiner: combining afterwards is
 * the explanation made with that combiner, bit for bit, and calls the
 * backend no more. Combiner 0 is Grad-CAM's. */
static void test_combine_afterwards(void **state)
{
    fixture *f = *state;
    for (size_t e = 0; e < 3; e++) {
        egcam_config cfg = config(estimators[e], 0);
        egcam_result *base = explain(f, &cfg);
        size_t rows = f->rec->plain.count + f->rec->for_backward.count;
        assert_int_equal(egcam_result_combiner(base), EGCAM_COMBINER_GRADCAM);
        cfg.combiner = EGCAM_COMBINER_GRADCAM;
        egcam_result *explicit_gradcam = explain(f, &cfg);
        assert_same_result(base, explicit_gradcam);
        egcam_result_free(explicit_gradcam);
        for (uint32_t c = 1; c <= COMBINER_COUNT; c++) {
            f->rec->plain.count = f->rec->for_backward.count = 0;
            egcam_result *later = NULL;
            assert_int_equal(egcam_result_combine(f->ctx, base, c, &later), EGCAM_OK);
            assert_int_equal(f->rec->plain.count + f->rec->for_backward.count, 0);
            cfg.combiner = c;
            egcam_result *direct = explain(f, &cfg);
            assert_int_equal(f->rec->plain.count + f->rec->for_backward.count, rows);
            assert_same_result(later, direct);
            /* And back: a combined result combines again. */
            egcam_result *back = NULL;
            assert_int_equal(egcam_result_combine(f->ctx, later, 0, &back), EGCAM_OK);
            assert_same_result(back, base);
            egcam_result_free(back);
            egcam_result_free(direct);
            egcam_result_free(later);
        }
        egcam_result_free(base);
    }
}

/* The vanilla estimator's complete map is HiResCAM's (combiners.md). */
static void test_vanilla_complete_is_hirescam(void **state)
{
    fixture *f = *state;
    egcam_config cfg = config(EGCAM_METHOD_GRADCAM, EGCAM_COMBINER_COMPLETE);
    egcam_result *complete = explain(f, &cfg);
    egcam_result *hires = NULL;
    assert_int_equal(egcam_result_combine(f->ctx, complete, EGCAM_COMBINER_HIRESCAM, &hires),
                     EGCAM_OK);
    const float *a = egcam_result_map(complete, EGCAM_MAP_SIGNED, NULL, NULL);
    const float *b = egcam_result_map(hires, EGCAM_MAP_SIGNED, NULL, NULL);
    assert_memory_equal(a, b, HW * sizeof *a);
    egcam_result_free(hires);
    egcam_result_free(complete);
}

static void test_names_and_errors(void **state)
{
    fixture *f = *state;
    static const char *names[] = {"gradcam",     "gradcam++", "xgradcam", "hirescam",
                                  "elementwise", "layercam",  "complete"};
    for (uint32_t c = 1; c <= COMBINER_COUNT; c++) {
        assert_string_equal(egcam_combiner_name(c), names[c - 1]);
        assert_int_equal(egcam_combiner_by_name(names[c - 1]), c);
    }
    assert_string_equal(egcam_combiner_name(0), "gradcam");
    assert_null(egcam_combiner_name(COMBINER_COUNT + 1));
    assert_int_equal(egcam_combiner_by_name("gradcam+"), 0);
    assert_int_equal(egcam_combiner_by_name(""), 0);
    assert_int_equal(egcam_combiner_by_name(NULL), 0);

    egcam_config cfg = config(EGCAM_METHOD_GRADCAM, COMBINER_COUNT + 1);
    const egcam_tensor in = {f->x, {C, H, W, 0}, 3, 0};
    egcam_result *res = (egcam_result *)&res;
    assert_int_equal(egcam_explain(f->ctx, f->be, &cfg, &in, NULL, &res), EGCAM_E_INVALID_ARGUMENT);
    assert_null(res);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "config.combiner is 8"));

    cfg.combiner = 0;
    egcam_result *base = explain(f, &cfg);
    egcam_result *out = (egcam_result *)&out;
    assert_int_equal(egcam_result_combine(f->ctx, base, 8, &out), EGCAM_E_INVALID_ARGUMENT);
    assert_null(out);
    assert_non_null(strstr(egcam_ctx_last_error(f->ctx), "combiner is 8"));
    out = (egcam_result *)&out;
    assert_int_equal(egcam_result_combine(f->ctx, NULL, 1, &out), EGCAM_E_NULL_ARGUMENT);
    assert_null(out);
    assert_int_equal(egcam_result_combine(f->ctx, base, 1, NULL), EGCAM_E_NULL_ARGUMENT);
    out = (egcam_result *)&out;
    assert_int_equal(egcam_result_combine(NULL, base, 1, &out), EGCAM_E_NULL_ARGUMENT);
    assert_null(out);
    assert_int_equal(egcam_result_combiner(NULL), 0);
    assert_null(egcam_result_map(NULL, EGCAM_MAP_SIGNED, NULL, NULL));
    egcam_result_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_pair_closed_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_sums_to_completeness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_combine_afterwards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vanilla_complete_is_hirescam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_and_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
