/*
 * analytic_backend.h - a tiny model whose activations and gradients are
 * known in closed form, as an egcam backend, for the test suites.
 *
 * The model, for an input x of shape C x H x W (H and W divisible by s):
 *
 *   target layer   A_kij = q_k + sum_c P_kc * mean over the s x s block (i,j)
 *                  of x_c                               (K x h x w, h = H/s)
 *   logits         y_l = b_l + sum_kij V_lkij A_kij + 1/2 sum_k u_lk S_k^2
 *                        + 1/6 sum_k t_lk S_k^3,      S_k = sum_ij A_kij
 *   gradient       for a seed s over the logits,
 *                  G_kij = sum_l s_l (V_lkij + u_lk S_k + 1/2 t_lk S_k^2)
 *
 * A is affine in the input and y is a cubic in A, so the three estimators
 * of the spec (estimators.md) have exact answers; the analytic_* helpers compute
 * them in double precision, independently of libegcam.
 *
 * Why cubic: along a straight path G is then quadratic in the position
 * alpha, so a quadrature rule shows through sum omega_m alpha_m^2 as well as
 * sum omega_m and sum omega_m alpha_m, and Expected Grad-CAM depends on
 * E[alpha^2], not just E[alpha]. With a quadratic model, flat weights on the
 * trapezoid nodes, or alpha fixed at 1/2, would give the exact answers.
 *
 * Parameters are fixed pseudo-random numbers (splitmix64 of a seed):
 * P, V, b in [-1, 1], q in [-0.5, 0.5], u in [-0.1, 0.1] (small, so that
 * u_lk S_k stays of the order of V), t in [-ANALYTIC_T_SCALE, ANALYTIC_T_SCALE]
 * (so that t_lk S_k^2 / 2 stays below V too: for the test models, |S_k| < 7
 * for inputs in [-1, 1] or [-4, 4], whose pixels cancel in the sums, and
 * < 13 for non-negative inputs in [0, 1], so t S^2 / 2 < 0.85). t is drawn
 * after the others, which are those of the quadratic model of earlier versions.
 */
#ifndef ANALYTIC_BACKEND_H
#define ANALYTIC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <egcam/egcam.h>
#include <egcam/egcam_backend.h>

typedef struct analytic_model analytic_model;

/** Range of the cubic coefficients t. */
#define ANALYTIC_T_SCALE 0.01

typedef struct analytic_shape {
    uint32_t C, H, W; /* input */
    uint32_t s;       /* pooling factor */
    uint32_t K, h, w; /* target layer, h = H/s, w = W/s */
    uint32_t L;       /* logits */
} analytic_shape;

/* ---- making the model ------------------------------------------------- */

/** A model with the given sizes and parameters drawn from seed. NULL when a
 *  size is 0, H or W is not divisible by s, or memory runs out. Free with
 *  analytic_free(), unless egcam_backend_new() accepted it: then the backend
 *  owns it and egcam_backend_free() frees it (the pointer stays usable for
 *  the counters until then). */
analytic_model *analytic_new(uint32_t C, uint32_t H, uint32_t W, uint32_t s, uint32_t K, uint32_t L,
                             uint64_t seed);
void analytic_free(analytic_model *m);

/** The static table: abi_version EGCAM_BACKEND_ABI_VERSION, struct_size
 *  sizeof(egcam_backend_ops), name "analytic", release = analytic_free,
 *  backward_retain set (several backwards per forward). Its backward()
 *  takes one backward per forward, as version 1 promises, and refuses a
 *  second (ANALYTIC_NO_FORWARD). */
const egcam_backend_ops *analytic_ops(void);

/** egcam_backend_new(ctx, analytic_ops(), m, out); on failure frees m. */
/** The same table with forward_flags EGCAM_FORWARD_ACTIVATIONS_ONLY: such
 *  forwards give activations and empty logits. */
const egcam_backend_ops *analytic_ops_activations_only(void);

egcam_status analytic_wrap(egcam_ctx *ctx, analytic_model *m, egcam_backend **out);

analytic_shape analytic_get_shape(const analytic_model *m);

/** Raw parameters (row-major, double): P [K*C], q [K], V [L*K*h*w],
 *  u [L*K], b [L]. Any out pointer may be NULL. */
void analytic_params(const analytic_model *m, const double **P, const double **q, const double **V,
                     const double **u, const double **b);

/** The cubic coefficients t [L*K] (row-major, double). */
void analytic_params_cubic(const analytic_model *m, const double **t);

/** If flag is non-NULL, release (egcam_backend_free) adds 1 to *flag. */
void analytic_set_release_counter(analytic_model *m, int *flag);

/* ---- what the engine did ---------------------------------------------- */

typedef struct analytic_counters {
    uint64_t forward_calls;
    uint64_t forward_rows_nograd;    /* rows forwarded without FOR_BACKWARD */
    uint64_t forward_rows_grad;      /* rows forwarded with FOR_BACKWARD */
    uint64_t forward_rows_acts_only; /* of the former, with ACTIVATIONS_ONLY */
    uint64_t backward_calls;         /* both slots */
    uint64_t backward_retained;      /* backward_retain calls with EGCAM_BACKWARD_RETAIN */
    uint64_t backward_rows;
    uint64_t max_forward_rows; /* largest batch seen by forward */
    uint32_t last_forward_flags;
} analytic_counters;

analytic_counters analytic_get_counters(const analytic_model *m);
void analytic_reset_counters(analytic_model *m);

/** Row `row` of the seed of the last successful backward, as floats, into
 *  out[L]. Returns 0, or -1 when there was none or row is out of range. */
int analytic_last_seed(const analytic_model *m, uint32_t row, float *out);

/* ---- failure injection ------------------------------------------------- */

/* Messages of injected failures (errbuf starts with these). */
#define ANALYTIC_FORWARD_FAILURE "analytic: injected forward failure"
#define ANALYTIC_BACKWARD_FAILURE "analytic: injected backward failure"
#define ANALYTIC_NO_FORWARD "analytic: backward without a forward for backward"

/** The nth forward (backward) call from now fails with EGCAM_E_BACKEND
 *  (n = 1: the next one); later calls succeed again. n = 0 disarms. */
void analytic_fail_forward(analytic_model *m, uint32_t n);
void analytic_fail_backward(analytic_model *m, uint32_t n);

typedef enum analytic_corruption {
    ANALYTIC_CORRUPT_NONE = 0,
    ANALYTIC_CORRUPT_NAN_ACTIVATION, /* forward: activations[0] = NaN */
    ANALYTIC_CORRUPT_INF_LOGIT,      /* forward: logits[0] = +inf */
    ANALYTIC_CORRUPT_ACT_ROWS,       /* forward: activations claim N+1 rows
                                          (the buffer really holds N+1) */
    ANALYTIC_CORRUPT_ACT_CHANNELS,   /* forward: activations claim K+1
                                          channels (buffer large enough) */
    ANALYTIC_CORRUPT_ACT_NDIM,       /* forward: activations ndim 3 */
    ANALYTIC_CORRUPT_LOGIT_ROWS,     /* forward: logits claim N+1 rows */
    ANALYTIC_CORRUPT_NULL_DATA,      /* forward: activations.data = NULL */
    ANALYTIC_CORRUPT_ACT_EMPTY,      /* forward: activations claim h = 0 */
    ANALYTIC_CORRUPT_LOGIT_CLASSES,  /* forward: logits claim L-1 classes */
    ANALYTIC_CORRUPT_NAN_GRADIENT,   /* backward: grad[0] = NaN */
    ANALYTIC_CORRUPT_GRAD_ROWS,      /* backward: grad claims N+1 rows */
    ANALYTIC_CORRUPT_ZERO_GRADIENT   /* backward: every gradient entry 0 */
} analytic_corruption;

/** Corrupt the outputs of the nth call from now of the slot the mode
 *  concerns (n = 0 or 1: the next one) and of every such call after it,
 *  until reset with ANALYTIC_CORRUPT_NONE. The call still returns EGCAM_OK:
 *  it is the engine's job to notice. */
void analytic_corrupt(analytic_model *m, analytic_corruption mode, uint32_t n);

/* ---- closed forms (double precision, independent of libegcam) ----------- */
/* x, baselines and references are float inputs of C*H*W (R*C*H*W) values,
 * exactly what libegcam is given; seed has L entries (a one-hot row for a
 * class). attr (K*h*w) may be NULL; weights has K entries (GAP of attr,
 * except Grad-CAM: GAP of the gradient). */

void analytic_activations(const analytic_model *m, const float *x, double *A);
void analytic_logits(const analytic_model *m, const float *x, double *y);
double analytic_seeded_logit(const analytic_model *m, const float *x, const double *seed);
int analytic_argmax(const analytic_model *m, const float *x);
void analytic_onehot(const analytic_model *m, int cls, double *seed);
void analytic_gradient(const analytic_model *m, const float *x, const double *seed, double *G);

/** sigma = noise_level * (max(x) - min(x)). */
double analytic_sigma(const analytic_model *m, const float *x, double noise_level);

/** ReLU(sum_k weights_k A_k(x)), h*w values. */
void analytic_layer_map(const analytic_model *m, const float *x, const double *weights,
                        double *map);

/** Nodes and weights of an EGCAM_RULE_* with M steps into alpha[M],
 *  omega[M]. Returns 0, or -1 for an unknown rule or trapezoid with M < 2. */
int analytic_rule(uint32_t rule, uint32_t M, double *alpha, double *omega);

/** Grad-CAM: weights = GAP(G(x)); grad (K*h*w, may be NULL) receives G(x).
 *  Returns the completeness sum A(x) . G(x). */
double analytic_gradcam(const analytic_model *m, const float *x, const double *seed, double *grad,
                        double *weights);

/** Integrated Grad-CAM with baseline b (NULL: zeros), rule, M steps:
 *  attr = (A(x) - A(b)) . sum_m omega_m G(z_m). Returns sum(attr), the
 *  completeness; it equals y(x) - y(b) for no rule (see the .c file for the
 *  exact difference). NAN for an unknown rule. */
double analytic_integrated(const analytic_model *m, const float *x, const float *b, uint32_t rule,
                           uint32_t M, const double *seed, double *attr, double *weights);

/** The same for any M nodes alpha[M] and weights omega[M] (e.g. a wrong rule
 *  a test must reject, or a fine rule that approximates the exact integral). */
double analytic_integrated_nodes(const analytic_model *m, const float *x, const float *b,
                                 uint32_t M, const double *alpha, const double *omega,
                                 const double *seed, double *attr, double *weights);

/** Expected Grad-CAM: the exact expectation of the attribution over
 *  r uniform in refs[R] (refs NULL: one all-zero reference), alpha ~ U(0,1),
 *  eps ~ N(0, sigma^2 I); clean != 0 for EGCAM_FLAG_CLEAN_DIFFERENCE.
 *  Returns the expected completeness. */
double analytic_expected(const analytic_model *m, const float *x, const float *refs, uint32_t R,
                         double sigma, int clean, const double *seed, double *attr,
                         double *weights);

/** The same for any distribution of alpha with moments a1 = E[alpha] and
 *  a2 = E[alpha^2] (the expectation depends on no other): analytic_expected
 *  is a1 = 1/2, a2 = 1/3. a1 = 1/2, a2 = 1/4 is alpha fixed at 1/2. */
double analytic_expected_moments(const analytic_model *m, const float *x, const float *refs,
                                 uint32_t R, double sigma, int clean, double a1, double a2,
                                 const double *seed, double *attr, double *weights);

/** Fill x[n] with deterministic uniform values in [lo, hi). */
void analytic_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);

#endif /* ANALYTIC_BACKEND_H */
