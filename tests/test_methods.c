/*
 * test_methods.c - Grad-CAM, Integrated Grad-CAM and Expected Grad-CAM
 * against closed forms, through the public API only.
 *
 * The analytic backend's model is affine up to the target layer and a
 * cubic in the channel sums after it, so every method has an exact answer
 * (computed in double by analytic_backend.c, never by libegcam). The cubic
 * term makes the gradient quadratic along a path, so a quadrature rule shows
 * through its second moment sum omega_m alpha_m^2 and Expected Grad-CAM
 * through E[alpha^2]: wrong weights on the right nodes, or a fixed alpha,
 * cannot pass (test_integrated_second_moment, test_expected_alpha_law).
 * - Grad-CAM and Integrated Grad-CAM are deterministic: the library must
 *   match to float rounding. Tolerances are 1e-5 times the natural scale of
 *   the rounding (the mean |attribution| of a channel for weights, the sum
 *   of |attribution| for completeness), since a weight is a GAP of terms
 *   that can cancel.
 * - Expected Grad-CAM is a Monte-Carlo estimate: it must match the exact
 *   expectation within 5 standard errors, the standard error estimated
 *   from the spread of MC_SEEDS independent runs of MC_N samples (a
 *   Student t with 15 degrees of freedom exceeds 5 with probability ~1e-4),
 *   plus the same float-rounding floor.
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
    NA = K * HW
};
#define MODEL_SEED 1234u
#define ROUND 1e-5 /* float rounding, relative to its scale */
#define MC_SEEDS 16
#define MC_N 4096u

typedef struct fixture {
    egcam_ctx *ctx;
    analytic_model *m; /* owned by be */
    egcam_backend *be;
    float x[IN]; /* the input explained, in [-1, 1) */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || egcam_ctx_new(&f->ctx) != EGCAM_OK)
        return -1;
    f->m = analytic_new(C, H, W, S, K, L, MODEL_SEED);
    if (!f->m || analytic_wrap(f->ctx, f->m, &f->be) != EGCAM_OK)
        return -1;
    analytic_fill_uniform(f->x, IN, 1, -1.0f, 1.0f);
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

/* ---- helpers -------------------------------------------------------------- */

static egcam_config config(uint32_t method)
{
    egcam_config cfg;
    assert_int_equal(egcam_config_init(&cfg), EGCAM_OK);
    cfg.method = method;
    return cfg;
}

static egcam_result *explain(fixture *f, const egcam_config *cfg, const float *x,
                             const egcam_refset *refs)
{
    const egcam_tensor in = {x, {C, H, W, 0}, 3, 0};
    egcam_result *res = NULL;
    const egcam_status st = egcam_explain(f->ctx, f->be, cfg, &in, refs, &res);
    if (st != EGCAM_OK)
        fail_msg("egcam_explain: %s: %s", egcam_status_string(st), egcam_ctx_last_error(f->ctx));
    assert_non_null(res);
    return res;
}

static egcam_refset *make_refs(fixture *f, const float *data, uint32_t R)
{
    const egcam_tensor t = {data, {R, C, H, W}, 4, 0};
    egcam_refset *refs = NULL;
    const egcam_status st = egcam_refset_new(f->ctx, f->be, &t, 0, &refs);
    if (st != EGCAM_OK)
        fail_msg("egcam_refset_new: %s: %s", egcam_status_string(st), egcam_ctx_last_error(f->ctx));
    assert_int_equal(egcam_refset_count(refs), R);
    return refs;
}

static void weights_of(const egcam_result *res, double *w)
{
    uint32_t count = 0;
    const float *p = egcam_result_weights(res, &count);
    assert_non_null(p);
    assert_int_equal(count, K);
    for (int k = 0; k < K; k++)
        w[k] = p[k];
}

/* Scale of rounding in a weight: the largest mean |attribution| of a channel. */
static double weight_scale(const double *attr)
{
    double best = 0;
    for (int k = 0; k < K; k++) {
        double sum = 0;
        for (int p = 0; p < HW; p++)
            sum += fabs(attr[k * HW + p]);
        best = fmax(best, sum / HW);
    }
    return best;
}

static double abs_sum(const double *v, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += fabs(v[i]);
    return sum;
}

static void check_close(const char *what, const double *got, const double *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= tol))
            fail_msg("%s[%d]: got %.9g, want %.9g (|diff| %.3g > tol %.3g)", what, i, got[i],
                     want[i], fabs(got[i] - want[i]), tol);
}

static void check_weights(const char *what, const egcam_result *res, const double *want,
                          const double *attr)
{
    double w[K];
    weights_of(res, w);
    check_close(what, w, want, K, ROUND * weight_scale(attr));
}

static void check_scalar(const char *what, double got, double want, double tol)
{
    check_close(what, &got, &want, 1, tol);
}

/* The top class of x, checked to be unambiguous in float arithmetic. */
static int clear_top(fixture *f, const float *x)
{
    double y[L];
    analytic_logits(f->m, x, y);
    const int top = analytic_argmax(f->m, x);
    for (int l = 0; l < L; l++)
        assert_true(l == top || y[top] - y[l] > 1e-3 * (1 + fabs(y[top])));
    return top;
}

/* ---- Grad-CAM --------------------------------------------------------------- */

/* Default class: the top logit. Weights GAP(G(x)), map ReLU(sum w_k A_k(x)). */
static void test_gradcam_default(void **state)
{
    fixture *f = *state;
    double y[L], seed[L], G[NA], w[K], A[NA], AG[NA], map[HW];
    analytic_logits(f->m, f->x, y);
    const int top = clear_top(f, f->x);
    analytic_onehot(f->m, top, seed);
    const double comp = analytic_gradcam(f->m, f->x, seed, G, w);
    analytic_activations(f->m, f->x, A);
    for (int e = 0; e < NA; e++)
        AG[e] = A[e] * G[e];

    egcam_config cfg = config(EGCAM_METHOD_GRADCAM);
    egcam_result *res = explain(f, &cfg, f->x, NULL);
    assert_int_equal(egcam_result_class(res), top);
    check_scalar("logit", egcam_result_logit(res), y[top], ROUND * fabs(y[top]));
    check_weights("gradcam weights", res, w, G); /* rounding scale: mean |G| */
    check_scalar("completeness", egcam_result_completeness(res), comp, ROUND * abs_sum(AG, NA));

    uint32_t mh = 0, mw = 0;
    const float *lm = egcam_result_map(res, EGCAM_MAP_LAYER, &mh, &mw);
    assert_non_null(lm);
    assert_int_equal(mh, H / S);
    assert_int_equal(mw, W / S);
    analytic_layer_map(f->m, f->x, w, map);
    /* Each w_k is off by up to ROUND * weight_scale, and the sum rounds
     * relative to sum_k |w_k A_k|: bound both by max|A|. */
    double maxA = 0, got[HW], peak = 0;
    for (int e = 0; e < NA; e++)
        maxA = fmax(maxA, fabs(A[e]));
    const double tol = ROUND * (K * weight_scale(G) + abs_sum(w, K)) * maxA;
    for (int p = 0; p < HW; p++) {
        got[p] = lm[p];
        peak = fmax(peak, map[p]);
    }
    check_close("layer map", got, map, HW, tol);
    assert_true(peak > 100 * tol); /* the map must not be trivially zero */
    egcam_result_free(res);
}

static void test_gradcam_explicit_class(void **state)
{
    fixture *f = *state;
    const int cls = (analytic_argmax(f->m, f->x) + 1) % L; /* not the top one */
    double y[L], seed[L], G[NA], w[K], wtop[K], stop[L];
    analytic_logits(f->m, f->x, y);
    analytic_onehot(f->m, cls, seed);
    analytic_gradcam(f->m, f->x, seed, G, w);
    /* The top class's weights must differ, or the test could not tell. */
    analytic_onehot(f->m, analytic_argmax(f->m, f->x), stop);
    analytic_gradcam(f->m, f->x, stop, NULL, wtop);
    assert_true(fabs(w[0] - wtop[0]) + fabs(w[1] - wtop[1]) + fabs(w[2] - wtop[2]) >
                100 * ROUND * weight_scale(G));

    egcam_config cfg = config(EGCAM_METHOD_GRADCAM);
    cfg.target_class = cls;
    egcam_result *res = explain(f, &cfg, f->x, NULL);
    assert_int_equal(egcam_result_class(res), cls);
    check_scalar("logit", egcam_result_logit(res), y[cls], ROUND * fabs(y[cls]));
    check_weights("weights of an explicit class", res, w, G);
    egcam_result_free(res);
}

/* Contrast +1 class a, -1 class b: weights of the seeded gradient, class -1. */
static void test_gradcam_target_weights(void **state)
{
    fixture *f = *state;
    const float tw[L] = {0.0f, 1.0f, 0.0f, -1.0f};
    double seed[L], G[NA], w[K];
    for (int l = 0; l < L; l++)
        seed[l] = tw[l];
    analytic_gradcam(f->m, f->x, seed, G, w);
    const double logit = analytic_seeded_logit(f->m, f->x, seed);
    double y[L];
    analytic_logits(f->m, f->x, y);

    egcam_config cfg = config(EGCAM_METHOD_GRADCAM);
    cfg.target_weights = tw;
    cfg.target_weights_count = L;
    egcam_result *res = explain(f, &cfg, f->x, NULL);
    assert_int_equal(egcam_result_class(res), -1);
    check_scalar("contrast logit", egcam_result_logit(res), logit,
                 ROUND * (fabs(y[1]) + fabs(y[3])));
    check_weights("contrast weights", res, w, G);
    egcam_result_free(res);
}

/* ---- Integrated Grad-CAM ------------------------------------------------------ */

/* Moments W1 = sum_m omega_m alpha_m and W2 = sum_m omega_m alpha_m^2 of a
 * rule (sum_m omega_m = 1 for all), as polynomials in 1/M: derived by hand,
 * independent of the closed-form helper, which sums its nodes. */
static void rule_moments(uint32_t rule, uint32_t M, double *W1, double *W2)
{
    const double m = M;
    switch (rule) {
    case EGCAM_RULE_LEFT:
        *W1 = 0.5 - 0.5 / m;
        *W2 = 1.0 / 3 - 0.5 / m + 1.0 / (6 * m * m);
        break;
    case EGCAM_RULE_RIGHT:
        *W1 = 0.5 + 0.5 / m;
        *W2 = 1.0 / 3 + 0.5 / m + 1.0 / (6 * m * m);
        break;
    case EGCAM_RULE_TRAPEZOID:
        *W1 = 0.5;
        *W2 = 1.0 / 3 + 1.0 / (6 * (m - 1) * (m - 1));
        break;
    default: /* midpoint */
        *W1 = 0.5;
        *W2 = 1.0 / 3 - 1.0 / (12 * m * m);
        break;
    }
}

/* The quadrature error of a rule's completeness, sum attr - (y(x) - y(b)),
 * for the seed of class cls. G(z) = Vs + us S + ts S^2 / 2 on the path
 * S = S_b + alpha dS, so a rule is off by
 *   sum_k dS_k^2 (W1 - 1/2)(us_k + ts_k S_b,k) + ts_k/2 dS_k^3 (W2 - 1/3):
 * O(1/M) for left and right, O(1/M^2) for midpoint (-ts dS^3 / 24M^2) and
 * trapezoid (+ts dS^3 / 12(M-1)^2). No rule is exact at finite M. */
static double quadrature_error(fixture *f, const float *x, const float *b, int cls, uint32_t rule,
                               uint32_t M)
{
    double Ax[NA], Ab[NA], W1, W2, err = 0;
    const double *u, *t;
    analytic_params(f->m, NULL, NULL, NULL, &u, NULL);
    analytic_params_cubic(f->m, &t);
    analytic_activations(f->m, x, Ax);
    analytic_activations(f->m, b, Ab);
    rule_moments(rule, M, &W1, &W2);
    for (int k = 0; k < K; k++) {
        double Sx = 0, Sb = 0;
        for (int p = 0; p < HW; p++) {
            Sx += Ax[k * HW + p];
            Sb += Ab[k * HW + p];
        }
        const double dS = Sx - Sb, us = u[cls * K + k], ts = t[cls * K + k];
        err += dS * dS * (W1 - 0.5) * (us + ts * Sb) + 0.5 * ts * dS * dS * dS * (W2 - 1.0 / 3);
    }
    return err;
}

/* One input, one rule, one baseline (b NULL: the built-in zeros, else a
 * refset {b}). The library must match the closed form (weights), and its
 * completeness must be y(x) - y(b) plus the rule's quadrature error, computed
 * here from the logits and the parameters alone. Returns the library's
 * completeness minus y(x) - y(b). */
static double check_integrated(fixture *f, const float *x, const float *b, uint32_t rule,
                               uint32_t M)
{
    const int top = clear_top(f, x);
    double seed[L], attr[NA], w[K];
    analytic_onehot(f->m, top, seed);
    const double comp = analytic_integrated(f->m, x, b, rule, M, seed, attr, w);

    float zero[IN] = {0};
    const float *base = b ? b : zero;
    const double dy =
        analytic_seeded_logit(f->m, x, seed) - analytic_seeded_logit(f->m, base, seed);
    const double want = dy + quadrature_error(f, x, base, top, rule, M);
    const double ctol = ROUND * abs_sum(attr, NA);
    if (rule == EGCAM_RULE_LEFT || rule == EGCAM_RULE_RIGHT)
        assert_true(fabs(want - dy) > 2 * ctol); /* a first-order rule shows */
    check_scalar("closed-form completeness", comp, want, 1e-12 * abs_sum(attr, NA));

    egcam_config cfg = config(EGCAM_METHOD_INTEGRATED);
    cfg.rule = rule;
    cfg.steps = M;
    egcam_refset *refs = b ? make_refs(f, b, 1) : NULL;
    egcam_result *res = explain(f, &cfg, x, refs);
    char what[80];
    snprintf(what, sizeof what, "IG rule %u M %u %s%s", rule, M, x == f->x ? "" : "image ",
             b ? "baseline" : "zeros");
    check_weights(what, res, w, attr);
    const double got = egcam_result_completeness(res);
    check_scalar(what, got, want, ctol);
    assert_int_equal(egcam_result_class(res), top);
    egcam_result_free(res);
    egcam_refset_free(refs);
    return got - dy;
}

/* An image-like input: non-negative pixels, so that the channel sums move by
 * several units between the zeros baseline and x (|dS_k| ~ 5..8, against ~1
 * for inputs in [-1, 1]) and the cubic term t S^3 / 6 shows. */
static void image_input(float *x) { analytic_fill_uniform(x, IN, 5, 0.0f, 1.0f); }

static void test_integrated_rules(void **state)
{
    fixture *f = *state;
    float b[IN], img[IN];
    analytic_fill_uniform(b, IN, 2, -1.0f, 1.0f);
    image_input(img);
    const uint32_t rules[] = {EGCAM_RULE_MIDPOINT, EGCAM_RULE_LEFT, EGCAM_RULE_RIGHT,
                              EGCAM_RULE_TRAPEZOID};
    for (int i = 0; i < 4; i++) {
        check_integrated(f, f->x, NULL, rules[i], 8); /* few steps: rules differ most */
        check_integrated(f, f->x, b, rules[i], 8);
        check_integrated(f, f->x, b, rules[i], 50);
        check_integrated(f, img, NULL, rules[i], 4);
        check_integrated(f, img, NULL, rules[i], 50);
        check_integrated(f, img, b, rules[i], 8);
    }

    /* The defaults are the midpoint rule with M = 50 and the zeros baseline. */
    double seed[L], attr[NA], w[K], wl[K];
    analytic_onehot(f->m, analytic_argmax(f->m, f->x), seed);
    analytic_integrated(f->m, f->x, NULL, EGCAM_RULE_MIDPOINT, 50, seed, attr, w);
    analytic_integrated(f->m, f->x, NULL, EGCAM_RULE_LEFT, 50, seed, NULL, wl);
    double gap = 0; /* midpoint vs left at M = 50 must be tellable apart */
    for (int k = 0; k < K; k++)
        gap = fmax(gap, fabs(w[k] - wl[k]));
    assert_true(gap > 3 * ROUND * weight_scale(attr));
    egcam_config cfg = config(EGCAM_METHOD_INTEGRATED);
    egcam_result *res = explain(f, &cfg, f->x, NULL);
    check_weights("IG defaults", res, w, attr);
    egcam_result_free(res);
}

/* Rules that share sum omega_m and sum omega_m alpha_m differ only through
 * sum omega_m alpha_m^2, i.e. through the cubic term. The test must be able to
 * tell them apart: midpoint from trapezoid, and the trapezoid from the
 * trapezoid's nodes with flat weights 1/M (W2 = 1/3 + 1/(6(M-1)) instead of
 * 1/3 + 1/(6(M-1)^2)), by far more than the rounding tolerance. */
static void test_integrated_second_moment(void **state)
{
    fixture *f = *state;
    float img[IN];
    image_input(img);
    double seed[L], attr[NA], wt[K], wm[K], wflat[K];
    analytic_onehot(f->m, clear_top(f, img), seed);
    for (uint32_t M = 4; M <= 8; M *= 2) {
        double alpha[8], omega[8];
        const double ct =
            analytic_integrated(f->m, img, NULL, EGCAM_RULE_TRAPEZOID, M, seed, attr, wt);
        const double cm =
            analytic_integrated(f->m, img, NULL, EGCAM_RULE_MIDPOINT, M, seed, NULL, wm);
        assert_int_equal(analytic_rule(EGCAM_RULE_TRAPEZOID, M, alpha, omega), 0);
        for (uint32_t i = 0; i < M; i++)
            omega[i] = 1.0 / M; /* the flat-weight trapezoid */
        const double cf =
            analytic_integrated_nodes(f->m, img, NULL, M, alpha, omega, seed, NULL, wflat);
        const double tol = ROUND * weight_scale(attr), ctol = ROUND * abs_sum(attr, NA);
        double dm = 0, dflat = 0;
        for (int k = 0; k < K; k++) {
            dm = fmax(dm, fabs(wt[k] - wm[k]));
            dflat = fmax(dflat, fabs(wt[k] - wflat[k]));
        }
        print_message("# M %u: trapezoid vs midpoint %.3g, vs flat weights %.3g "
                      "(weight tol %.2g); completeness %.3g, %.3g (tol %.2g)\n",
                      M, dm, dflat, tol, fabs(ct - cm), fabs(ct - cf), ctol);
        assert_true(dm > 50 * tol);
        assert_true(dflat > 100 * tol);
        assert_true(fabs(ct - cm) > 20 * ctol);
        assert_true(fabs(ct - cf) > 20 * ctol);
    }
}

/* As M grows, every rule's completeness approaches y(x) - y(b), at its order:
 * the error quadrature_error() predicts (checked against the library at each
 * M by check_integrated) falls as 1/M for left and right and 1/M^2 for
 * midpoint and trapezoid, until it is lost in the float rounding. */
static void test_integrated_convergence(void **state)
{
    fixture *f = *state;
    float img[IN], zero[IN] = {0};
    image_input(img);
    const int top = clear_top(f, img);
    double seed[L], attr[NA], w[K];
    analytic_onehot(f->m, top, seed);
    analytic_integrated(f->m, img, NULL, EGCAM_RULE_MIDPOINT, 16, seed, attr, w);
    const double ctol = ROUND * abs_sum(attr, NA);
    const uint32_t rules[] = {EGCAM_RULE_MIDPOINT, EGCAM_RULE_LEFT, EGCAM_RULE_RIGHT,
                              EGCAM_RULE_TRAPEZOID};
    for (int i = 0; i < 4; i++) {
        const int second = rules[i] == EGCAM_RULE_MIDPOINT || rules[i] == EGCAM_RULE_TRAPEZOID;
        double prev = 0;
        for (uint32_t M = 4; M <= 1024; M *= 4) {
            const double e = quadrature_error(f, img, zero, top, rules[i], M);
            const double got = check_integrated(f, img, NULL, rules[i], M);
            if (M > 4) { /* the predicted error shrinks at the rule's order */
                const double ratio = prev / e, m1 = M - 1.0, q1 = M / 4 - 1.0;
                const double order = rules[i] == EGCAM_RULE_TRAPEZOID ? m1 * m1 / (q1 * q1)
                                     : second                         ? 16.0
                                                                      : 4.0;
                /* second order: exact but for the rounding of W2 - 1/3 */
                if (!(fabs(ratio / order - 1) < (second ? 1e-6 : 0.2)))
                    fail_msg("rule %u: error ratio M/4 -> M = %u: %.4g, want ~%g", rules[i], M,
                             ratio, order);
            }
            prev = e;
            if (M == 1024 && second && !(fabs(got) <= ctol)) /* y(x) - y(b) reached */
                fail_msg("rule %u M 1024: completeness off y(x) - y(b) by %.3g > %.3g", rules[i],
                         fabs(got), ctol);
        }
        /* Midpoint: the exact O(1/M^2) term, -sum_k ts_k dS_k^3 / (24 M^2). */
        if (rules[i] == EGCAM_RULE_MIDPOINT) {
            double Ax[NA], A0[NA], want = 0;
            const double *t;
            analytic_params_cubic(f->m, &t);
            analytic_activations(f->m, img, Ax);
            analytic_activations(f->m, zero, A0);
            for (int k = 0; k < K; k++) {
                double dS = 0;
                for (int p = 0; p < HW; p++)
                    dS += Ax[k * HW + p] - A0[k * HW + p];
                want -= t[top * K + k] * dS * dS * dS / (24.0 * 4 * 4);
            }
            check_scalar("midpoint error M 4", quadrature_error(f, img, zero, top, rules[i], 4),
                         want, 1e-12 * fabs(want));
            print_message("# midpoint completeness - (y(x) - y(b)) at M 4: %.3g (tol %.2g)\n", want,
                          ctol);
            assert_true(fabs(want) > 10 * ctol); /* the library showed it at M = 4 */
        }
    }
}

/* ---- Expected Grad-CAM --------------------------------------------------------- */

typedef struct mc {
    double w[MC_SEEDS][K], comp[MC_SEEDS];
    double mean[K], sd[K], comp_mean, comp_sd; /* sd: of one run */
} mc;

static void mean_sd(const double *v, size_t stride, double *mean, double *sd)
{
    double m = 0, s2 = 0;
    for (int i = 0; i < MC_SEEDS; i++)
        m += v[i * stride] / MC_SEEDS;
    for (int i = 0; i < MC_SEEDS; i++)
        s2 += (v[i * stride] - m) * (v[i * stride] - m) / (MC_SEEDS - 1);
    *mean = m;
    *sd = sqrt(s2);
}

/* MC_SEEDS runs of MC_N samples with seeds 1000, 1001, ... */
static void run_mc(fixture *f, egcam_config cfg, const float *x, const egcam_refset *refs, mc *r)
{
    cfg.samples = MC_N;
    cfg.batch_size = 256;
    for (int i = 0; i < MC_SEEDS; i++) {
        cfg.seed = 1000u + (uint64_t)i;
        egcam_result *res = explain(f, &cfg, x, refs);
        weights_of(res, r->w[i]);
        r->comp[i] = egcam_result_completeness(res);
        egcam_result_free(res);
    }
    for (int k = 0; k < K; k++)
        mean_sd(&r->w[0][k], K, &r->mean[k], &r->sd[k]);
    mean_sd(r->comp, 1, &r->comp_mean, &r->comp_sd);
}

/* Tolerance of the mean of weight k: 5 standard errors plus rounding. */
static double mc_tol(const mc *r, int k, double scale)
{
    return 5 * r->sd[k] / sqrt(MC_SEEDS) + ROUND * scale;
}

/* The mean within 5 SE of the expectation, every run within 6 sd. */
static void check_mc(const char *what, const mc *r, const double *w, double comp,
                     const double *attr)
{
    const double scale = weight_scale(attr), cscale = abs_sum(attr, NA);
    for (int k = 0; k < K; k++) {
        const double tol = mc_tol(r, k, scale);
        if (!(fabs(r->mean[k] - w[k]) <= tol))
            fail_msg("%s: weight %d: mean %.7g, expectation %.7g, |diff| %.3g > %.3g "
                     "(5 SE %.3g)",
                     what, k, r->mean[k], w[k], fabs(r->mean[k] - w[k]), tol,
                     5 * r->sd[k] / sqrt(MC_SEEDS));
        for (int i = 0; i < MC_SEEDS; i++)
            if (!(fabs(r->w[i][k] - w[k]) <= 6 * r->sd[k] + ROUND * scale))
                fail_msg("%s: weight %d, run %d: %.7g vs expectation %.7g", what, k, i, r->w[i][k],
                         w[k]);
    }
    const double ctol = 5 * r->comp_sd / sqrt(MC_SEEDS) + ROUND * cscale;
    if (!(fabs(r->comp_mean - comp) <= ctol))
        fail_msg("%s: completeness: mean %.7g, expectation %.7g, |diff| %.3g > %.3g", what,
                 r->comp_mean, comp, fabs(r->comp_mean - comp), ctol);
}

/* Largest |a_k - b_k| in units of the MC tolerance: > 1 means rejected. */
static double rejection(const mc *r, const double *a, const double *b, const double *attr)
{
    double worst = 0;
    for (int k = 0; k < K; k++)
        worst = fmax(worst, fabs(a[k] - b[k]) / mc_tol(r, k, weight_scale(attr)));
    return worst;
}

static void expected_case_at(fixture *f, const char *what, const float *x, float noise,
                             uint32_t flags, const float *refdata, uint32_t R, const double *other)
{
    double seed[L], attr[NA], w[K];
    analytic_onehot(f->m, analytic_argmax(f->m, x), seed);
    const double sigma = analytic_sigma(f->m, x, noise);
    const double comp = analytic_expected(
        f->m, x, refdata, R, sigma, (flags & EGCAM_FLAG_CLEAN_DIFFERENCE) != 0, seed, attr, w);
    egcam_config cfg = config(EGCAM_METHOD_EXPECTED);
    cfg.noise_level = noise;
    cfg.flags = flags;
    egcam_refset *refs = refdata ? make_refs(f, refdata, R) : NULL;
    mc r;
    run_mc(f, cfg, x, refs, &r);
    check_mc(what, &r, w, comp, attr);
    /* `other` is a plausible wrong answer the test must reject. */
    if (other) {
        const double rej = rejection(&r, w, other, attr);
        print_message("# %s: the wrong answer is %.3g tolerances away\n", what, rej);
        if (!(rej > 2))
            fail_msg("%s: cannot tell the expectation from a wrong one (%.3g)", what, rej);
    }
    egcam_refset_free(refs);
}

static void expected_case(fixture *f, const char *what, float noise, uint32_t flags,
                          const float *refdata, uint32_t R, const double *other)
{
    expected_case_at(f, what, f->x, noise, flags, refdata, R, other);
}

/* Defaults: zeros reference, noise 0.1. */
static void test_expected_default(void **state)
{
    fixture *f = *state;
    expected_case(f, "EG zeros noise 0.1", 0.1f, 0, NULL, 1, NULL);
    expected_case(f, "EG zeros noise 0", 0.0f, 0, NULL, 1, NULL);
}

/* A caller reference set: the expectation averages over all five refs; the
 * first reference alone is a wrong answer the test must reject. */
static void test_expected_refset(void **state)
{
    fixture *f = *state;
    float refs[5 * IN];
    analytic_fill_uniform(refs, 5 * IN, 3, -1.0f, 1.0f);
    double seed[L], first[K];
    analytic_onehot(f->m, analytic_argmax(f->m, f->x), seed);
    analytic_expected(f->m, f->x, refs, 1, analytic_sigma(f->m, f->x, 0.1), 0, seed, NULL, first);
    expected_case(f, "EG 5 refs noise 0.1", 0.1f, 0, refs, 5, first);
    expected_case(f, "EG 5 refs noise 0", 0.0f, 0, refs, 5, NULL);
}

/* The sampling schemes past independent (stratified points, balanced
 * references, antithetic noise) estimate the same expectation: their mean
 * over the seeds is the exact one, and a wrong answer (the first reference
 * alone) is rejected. They also spread less than independent sampling at
 * the same N: the mean standard deviation of the weights is smaller. */
static void test_expected_sampling_schemes(void **state)
{
    fixture *f = *state;
    float refs[5 * IN];
    analytic_fill_uniform(refs, 5 * IN, 3, -1.0f, 1.0f);
    double seed[L], attr[NA], w[K], first[K];
    analytic_onehot(f->m, analytic_argmax(f->m, f->x), seed);
    const double sigma = analytic_sigma(f->m, f->x, 0.1);
    const double comp = analytic_expected(f->m, f->x, refs, 5, sigma, 0, seed, attr, w);
    analytic_expected(f->m, f->x, refs, 1, sigma, 0, seed, NULL, first);
    egcam_refset *set = make_refs(f, refs, 5);
    static const uint32_t schemes[3] = {EGCAM_SAMPLING_INDEPENDENT, EGCAM_SAMPLING_STRATIFIED,
                                        EGCAM_SAMPLING_ANTITHETIC};
    double spread[3];
    for (int s = 0; s < 3; s++) {
        egcam_config cfg = config(EGCAM_METHOD_EXPECTED);
        cfg.sampling = schemes[s];
        static mc r;
        run_mc(f, cfg, f->x, set, &r);
        char what[64];
        snprintf(what, sizeof what, "EG 5 refs, %s", egcam_sampling_name(schemes[s]));
        check_mc(what, &r, w, comp, attr);
        const double rej = rejection(&r, w, first, attr);
        if (!(rej > 2))
            fail_msg("%s: cannot tell the expectation from a wrong one (%.3g)", what, rej);
        spread[s] = 0;
        for (int k = 0; k < K; k++)
            spread[s] += r.sd[k] / K;
        print_message("# %s: mean sd of the weights %.4g\n", what, spread[s]);
    }
    assert_true(spread[1] < spread[0]);
    assert_true(spread[2] < spread[0]);
    egcam_refset_free(set);
}

/* Noise 1.0 makes the noise terms large. The noisy difference correlates
 * with the gradient: c_k (us_k/2 + ts_k (S_r/2 + dS/3)), c_k = sigma^2/s^2
 * sum_c P_kc^2, which the clean difference must not show. (Both share
 * D ts_k v_k / 6, v_k = hw c_k: G is taken at the noisy point either way.) */
static void test_expected_noise_term(void **state)
{
    fixture *f = *state;
    float refs[5 * IN];
    analytic_fill_uniform(refs, 5 * IN, 3, -1.0f, 1.0f);
    double seed[L], noisy[K], clean[K];
    analytic_onehot(f->m, analytic_argmax(f->m, f->x), seed);
    const double sigma = analytic_sigma(f->m, f->x, 1.0);
    analytic_expected(f->m, f->x, refs, 5, sigma, 0, seed, NULL, noisy);
    analytic_expected(f->m, f->x, refs, 5, sigma, 1, seed, NULL, clean);
    expected_case(f, "EG noise 1", 1.0f, 0, refs, 5, clean);
    expected_case(f, "EG noise 1 clean difference", 1.0f, EGCAM_FLAG_CLEAN_DIFFERENCE, refs, 5,
                  noisy);
    expected_case(f, "EG noise 0.1 clean difference", 0.1f, EGCAM_FLAG_CLEAN_DIFFERENCE, NULL, 1,
                  NULL);
}

/* alpha ~ U(0, 1) has E[alpha^2] = 1/3; alpha fixed at 1/2 (or any law with
 * mean 1/2) agrees with it on everything but the terms of ts = seeded t that
 * carry alpha^2, ts/2 dS^2 (E[alpha^2] - 1/4) and its noise companions. On the
 * image-like input (|dS_k| ~ 5..8 from the zeros reference) they put alpha =
 * 1/2 about 3.5 Monte-Carlo tolerances (5 standard errors each, so ~17 SE)
 * from the expectation; expected_case_at() requires more than 2. */
static void test_expected_alpha_law(void **state)
{
    fixture *f = *state;
    float img[IN];
    image_input(img);
    double seed[L], fixed[K], fixed_clean[K];
    analytic_onehot(f->m, clear_top(f, img), seed);
    const float levels[2] = {0.0f, 0.1f};
    for (int i = 0; i < 2; i++) {
        const double sigma = analytic_sigma(f->m, img, levels[i]);
        analytic_expected_moments(f->m, img, NULL, 1, sigma, 0, 0.5, 0.25, seed, NULL, fixed);
        analytic_expected_moments(f->m, img, NULL, 1, sigma, 1, 0.5, 0.25, seed, NULL, fixed_clean);
        double wx[K], attr[NA]; /* the law must show in the closed forms themselves */
        analytic_expected(f->m, img, NULL, 1, sigma, 0, seed, attr, wx);
        double gap = 0;
        for (int k = 0; k < K; k++)
            gap = fmax(gap, fabs(wx[k] - fixed[k]));
        assert_true(gap > 1000 * ROUND * weight_scale(attr));

        char what[64];
        snprintf(what, sizeof what, "EG image zeros noise %g", levels[i]);
        expected_case_at(f, what, img, levels[i], 0, NULL, 1, fixed);
        if (levels[i] > 0) {
            snprintf(what, sizeof what, "EG image zeros noise %g clean", levels[i]);
            expected_case_at(f, what, img, levels[i], EGCAM_FLAG_CLEAN_DIFFERENCE, NULL, 1,
                             fixed_clean);
        }
    }
}

/* D = {b}, noise 0.1 -> 0.01 -> 0: Expected Grad-CAM approaches Integrated
 * Grad-CAM. At noise 0 it estimates the exact path integral, which the
 * midpoint rule with M = 256 misses by the W2 - 1/3 = -1/(12 M^2) term only:
 * checked below to be under the float rounding. Inputs in [-4, 4] so that
 * the noise term at 0.1 is many standard errors. */
static void test_expected_to_integrated(void **state)
{
    fixture *f = *state;
    float x[IN], b[IN];
    analytic_fill_uniform(x, IN, 4, -4.0f, 4.0f);
    for (int i = 0; i < IN; i++)
        b[i] = 0.5f * x[i];
    double seed[L], attr[NA], w_ig[K], ig[K];
    analytic_onehot(f->m, clear_top(f, x), seed);
    analytic_integrated(f->m, x, b, EGCAM_RULE_MIDPOINT, 256, seed, attr, w_ig);
    double w_path[K]; /* the exact path integral: EG at noise 0 */
    analytic_expected(f->m, x, b, 1, 0.0, 0, seed, NULL, w_path);
    check_close("IG M 256 vs the path integral", w_ig, w_path, K, ROUND * weight_scale(attr));
    egcam_refset *refs = make_refs(f, b, 1);

    egcam_config cfg = config(EGCAM_METHOD_INTEGRATED);
    cfg.steps = 256;
    egcam_result *res = explain(f, &cfg, x, refs);
    check_weights("IG M 256", res, w_ig, attr); /* anchor IG to its closed form */
    weights_of(res, ig);
    egcam_result_free(res);

    const float levels[3] = {0.1f, 0.01f, 0.0f};
    double dist[3];
    mc r;
    for (int i = 0; i < 3; i++) {
        cfg = config(EGCAM_METHOD_EXPECTED);
        cfg.noise_level = levels[i];
        run_mc(f, cfg, x, refs, &r);
        dist[i] = 0;
        for (int k = 0; k < K; k++)
            dist[i] += (r.mean[k] - ig[k]) * (r.mean[k] - ig[k]);
        dist[i] = sqrt(dist[i]);
        if (i == 0 && !(rejection(&r, r.mean, ig, attr) > 2))
            fail_msg("noise 0.1 is indistinguishable from IG: the test is too weak");
    }
    print_message("# |EG - IG|: noise 0.1 %.3g, 0.01 %.3g, 0 %.3g\n", dist[0], dist[1], dist[2]);
    assert_true(dist[1] < dist[0]);
    assert_true(dist[2] < dist[0]);
    for (int k = 0; k < K; k++) /* at noise 0, r holds the last run */
        if (!(fabs(r.mean[k] - ig[k]) <= mc_tol(&r, k, weight_scale(attr))))
            fail_msg("noise 0: EG weight %d %.7g vs IG %.7g beyond %.3g", k, r.mean[k], ig[k],
                     mc_tol(&r, k, weight_scale(attr)));
    egcam_refset_free(refs);
}

/* ---- reproducibility and batching ----------------------------------------------- */

static void test_determinism(void **state)
{
    fixture *f = *state;
    egcam_config cfg = config(EGCAM_METHOD_EXPECTED);
    egcam_result *a = explain(f, &cfg, f->x, NULL);
    egcam_result *b = explain(f, &cfg, f->x, NULL);
    cfg.seed += 1;
    egcam_result *c = explain(f, &cfg, f->x, NULL);
    const uint32_t kinds[3] = {EGCAM_MAP_LAYER, EGCAM_MAP_INPUT, EGCAM_MAP_NORMALIZED};
    for (int i = 0; i < 3; i++) {
        uint32_t h = 0, w = 0;
        const float *ma = egcam_result_map(a, kinds[i], &h, &w);
        const float *mb = egcam_result_map(b, kinds[i], NULL, NULL);
        assert_non_null(ma);
        assert_non_null(mb);
        assert_memory_equal(ma, mb, (size_t)h * w * sizeof *ma);
    }
    uint32_t h = 0, w = 0;
    const float *ma = egcam_result_map(a, EGCAM_MAP_LAYER, &h, &w);
    const float *mc_ = egcam_result_map(c, EGCAM_MAP_LAYER, NULL, NULL);
    assert_memory_not_equal(ma, mc_, (size_t)h * w * sizeof *ma);
    egcam_result_free(a);
    egcam_result_free(b);
    egcam_result_free(c);
}

/* Batching changes how samples are grouped, not which samples are drawn. */
/* The header promises more than closeness: a backend whose rows do not
 * depend on their batch (this one) gives the same bits at any batch size,
 * since every sample draws from its own stream and sums in sample order. */
static void test_batch_sizes(void **state)
{
    fixture *f = *state;
    const uint32_t sizes[4] = {16, 1, 7, 64};
    const uint32_t methods[4] = {EGCAM_METHOD_EXPECTED, EGCAM_METHOD_INTEGRATED,
                                 EGCAM_METHOD_EXPECTED, EGCAM_METHOD_EXPECTED};
    const uint32_t sampling[4] = {0, 0, EGCAM_SAMPLING_STRATIFIED, EGCAM_SAMPLING_ANTITHETIC};
    for (int m = 0; m < 4; m++) {
        float w0[K], map0[H * W];
        for (int i = 0; i < 4; i++) {
            egcam_config cfg = config(methods[m]);
            cfg.sampling = sampling[m];
            cfg.samples = 100; /* not a multiple of 7, 16 or 64 */
            cfg.steps = 50;
            cfg.batch_size = sizes[i];
            analytic_reset_counters(f->m);
            egcam_result *res = explain(f, &cfg, f->x, NULL);
            assert_true(analytic_get_counters(f->m).max_forward_rows <= sizes[i]);
            uint32_t k, h, w;
            const float *weights = egcam_result_weights(res, &k);
            const float *map = egcam_result_map(res, EGCAM_MAP_INPUT, &h, &w);
            assert_int_equal(k, K);
            assert_int_equal(h * w, H * W);
            if (i == 0) {
                memcpy(w0, weights, sizeof w0);
                memcpy(map0, map, sizeof map0);
            } else {
                assert_memory_equal(weights, w0, sizeof w0);
                assert_memory_equal(map, map0, sizeof map0);
            }
            egcam_result_free(res);
        }
    }
}

/* ---- cost, counted by the backend ------------------------------------------------ */

static void expect_cost(fixture *f, const char *what, uint64_t nograd, uint64_t grad,
                        uint64_t backward)
{
    const analytic_counters c = analytic_get_counters(f->m);
    if (c.forward_rows_nograd != nograd || c.forward_rows_grad != grad ||
        c.backward_rows != backward)
        fail_msg("%s: forward rows %llu without grad + %llu with, backward rows %llu; "
                 "want %llu + %llu, %llu",
                 what, (unsigned long long)c.forward_rows_nograd,
                 (unsigned long long)c.forward_rows_grad, (unsigned long long)c.backward_rows,
                 (unsigned long long)nograd, (unsigned long long)grad,
                 (unsigned long long)backward);
}

static void run_counted(fixture *f, const egcam_config *cfg, const egcam_refset *refs)
{
    analytic_reset_counters(f->m);
    egcam_result_free(explain(f, cfg, f->x, refs));
}

static void test_cost(void **state)
{
    fixture *f = *state;
    float b[IN], refdata[4 * IN];
    analytic_fill_uniform(b, IN, 2, -1.0f, 1.0f);
    analytic_fill_uniform(refdata, 4 * IN, 3, -1.0f, 1.0f);
    egcam_refset *base = make_refs(f, b, 1), *set = make_refs(f, refdata, 4);
    const uint32_t M = 50, N = 50;

    egcam_config cfg = config(EGCAM_METHOD_GRADCAM);
    run_counted(f, &cfg, NULL);
    expect_cost(f, "Grad-CAM", 0, 1, 1);

    cfg = config(EGCAM_METHOD_INTEGRATED);
    cfg.steps = M;
    run_counted(f, &cfg, base); /* A(b) comes from the refset */
    expect_cost(f, "IG, cached baseline", 1, M, M);
    run_counted(f, &cfg, NULL); /* built-in zeros: one more forward */
    expect_cost(f, "IG, zeros baseline", 2, M, M);

    cfg = config(EGCAM_METHOD_EXPECTED);
    cfg.samples = N;
    run_counted(f, &cfg, set); /* x, N noisy copies; N points with grad */
    expect_cost(f, "EG, cached refs", N + 1, N, N);
    cfg.flags = EGCAM_FLAG_CLEAN_DIFFERENCE;
    run_counted(f, &cfg, set);
    expect_cost(f, "EG, clean difference", 1, N, N);
    cfg.flags = 0;
    cfg.noise_level = 0.0f;
    run_counted(f, &cfg, set);
    expect_cost(f, "EG, noise 0", 1, N, N);

    /* Defaults: M = 50 steps, N = 50 samples, zeros reference, noise 0.1. */
    cfg = config(EGCAM_METHOD_INTEGRATED);
    run_counted(f, &cfg, NULL);
    expect_cost(f, "IG defaults", 2, 50, 50);
    cfg = config(EGCAM_METHOD_EXPECTED);
    run_counted(f, &cfg, NULL); /* the zeros reference may be cached or not */
    const analytic_counters c = analytic_get_counters(f->m);
    assert_int_equal(c.forward_rows_grad, 50);
    assert_int_equal(c.backward_rows, 50);
    assert_in_range(c.forward_rows_nograd, 50 + 1, 50 + 2);
    egcam_refset_free(set);
    egcam_refset_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gradcam_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gradcam_explicit_class, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gradcam_target_weights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrated_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrated_second_moment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrated_convergence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expected_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expected_refset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expected_sampling_schemes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expected_noise_term, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expected_alpha_law, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expected_to_integrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_determinism, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cost, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
