/*
 * test_eval.c - the metrics of egcam_eval.h against closed forms.
 *
 * The model is a small linear backend written here, "lin":
 *
 *   layer    A_kp = q_k + sum_c P_kc x_cp          (K x H x W: pixel p kept)
 *   logits   y_l  = b_l + sum_kp V_lkp A_kp
 *   gradient G_kp = sum_l seed_l V_lkp             (constant: y is linear)
 *
 * so scores, logit differences, gradients and Grad-CAM maps are known by
 * hand, and a test can choose a model whose score depends only on a set of
 * pixels (deletion/insertion become step functions), whose input gradient
 * is a given map (infidelity 0), or whose Grad-CAM map does not depend on x
 * (max-sensitivity in closed form). The backend counts its calls and can
 * record every input it is sent, so random perturbations can be checked
 * against the formulas on the very draws the library made.
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

#include <egcam/egcam.h>
#include <egcam/egcam_backend.h>
#include <egcam/egcam_eval.h>

/* ---- the linear backend ------------------------------------------------ */

typedef struct lin {
    uint32_t C, H, W, K, L;
    double *P, *q, *V, *b;       /* K*C, K, L*K*H*W, L */
    float *acts, *logits, *grad; /* the views handed back */
    size_t cap;                  /* rows they hold */
    size_t rows;                 /* rows of the last forward */
    uint64_t forward_calls, forward_rows, backward_calls, max_rows;
    int record; /* keep a copy of every input row */
    float *seen;
    size_t seen_rows, seen_cap;
    uint32_t fail_in; /* the nth forward from now fails */
    int nan_logits;   /* logits[0] = NaN on every forward */
} lin;

static size_t lin_area(const lin *m) { return (size_t)m->H * m->W; }
static size_t lin_size(const lin *m) { return m->C * lin_area(m); }

static lin *lin_new(uint32_t C, uint32_t H, uint32_t W, uint32_t K, uint32_t L)
{
    lin *m = calloc(1, sizeof *m);
    assert_non_null(m);
    *m = (lin){.C = C, .H = H, .W = W, .K = K, .L = L};
    m->P = calloc((size_t)K * C, sizeof *m->P);
    m->q = calloc(K, sizeof *m->q);
    m->V = calloc((size_t)L * K * H * W, sizeof *m->V);
    m->b = calloc(L, sizeof *m->b);
    assert_true(m->P && m->q && m->V && m->b);
    return m;
}

static void lin_free(void *self)
{
    lin *m = self;
    free(m->P);
    free(m->q);
    free(m->V);
    free(m->b);
    free(m->acts);
    free(m->logits);
    free(m->grad);
    free(m->seen);
    free(m);
}

static double *lin_V(lin *m, uint32_t l, uint32_t k)
{
    return m->V + ((size_t)l * m->K + k) * lin_area(m);
}

/* y_l(z) in double, from an input of C*H*W floats. */
static double lin_logit(const lin *m, const float *z, uint32_t l)
{
    size_t area = lin_area(m);
    double y = m->b[l];
    for (uint32_t k = 0; k < m->K; k++)
        for (size_t p = 0; p < area; p++) {
            double a = m->q[k];
            for (uint32_t c = 0; c < m->C; c++)
                a += m->P[k * m->C + c] * z[c * area + p];
            y += m->V[((size_t)l * m->K + k) * area + p] * a;
        }
    return y;
}

static egcam_status lin_forward(void *self, const egcam_tensor *in, uint32_t flags,
                                egcam_tensor *acts, egcam_tensor *logits, char *err, size_t n)
{
    (void)flags;
    lin *m = self;
    size_t rows = (size_t)in->shape[0], area = lin_area(m), size = lin_size(m);
    m->forward_calls++;
    if (m->fail_in && --m->fail_in == 0) {
        snprintf(err, n, "lin: injected forward failure");
        return EGCAM_E_BACKEND;
    }
    if (rows > m->cap) {
        m->acts = realloc(m->acts, rows * m->K * area * sizeof *m->acts);
        m->logits = realloc(m->logits, rows * m->L * sizeof *m->logits);
        m->grad = realloc(m->grad, rows * m->K * area * sizeof *m->grad);
        assert_true(m->acts && m->logits && m->grad);
        m->cap = rows;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *z = in->data + r * size;
        for (uint32_t k = 0; k < m->K; k++)
            for (size_t p = 0; p < area; p++) {
                double a = m->q[k];
                for (uint32_t c = 0; c < m->C; c++)
                    a += m->P[k * m->C + c] * z[c * area + p];
                m->acts[(r * m->K + k) * area + p] = (float)a;
            }
        for (uint32_t l = 0; l < m->L; l++)
            m->logits[r * m->L + l] = (float)lin_logit(m, z, l);
    }
    if (m->nan_logits)
        m->logits[0] = NAN;
    if (m->record) {
        if (m->seen_rows + rows > m->seen_cap) {
            m->seen_cap = 2 * (m->seen_rows + rows);
            m->seen = realloc(m->seen, m->seen_cap * size * sizeof *m->seen);
            assert_non_null(m->seen);
        }
        memcpy(m->seen + m->seen_rows * size, in->data, rows * size * sizeof *m->seen);
        m->seen_rows += rows;
    }
    m->forward_rows += rows;
    m->max_rows = rows > m->max_rows ? rows : m->max_rows;
    m->rows = rows;
    *acts = (egcam_tensor){m->acts, {(int64_t)rows, m->K, m->H, m->W}, 4, 0};
    *logits = (egcam_tensor){m->logits, {(int64_t)rows, m->L}, 2, 0};
    return EGCAM_OK;
}

static egcam_status lin_backward(void *self, const float *seed, egcam_tensor *grad, char *err,
                                 size_t n)
{
    (void)err, (void)n;
    lin *m = self;
    size_t area = lin_area(m);
    m->backward_calls++;
    for (size_t r = 0; r < m->rows; r++)
        for (uint32_t k = 0; k < m->K; k++)
            for (size_t p = 0; p < area; p++) {
                double g = 0.0;
                for (uint32_t l = 0; l < m->L; l++)
                    g += seed[r * m->L + l] * m->V[((size_t)l * m->K + k) * area + p];
                m->grad[(r * m->K + k) * area + p] = (float)g;
            }
    *grad = (egcam_tensor){m->grad, {(int64_t)m->rows, m->K, m->H, m->W}, 4, 0};
    return EGCAM_OK;
}

static const egcam_backend_ops lin_ops = {EGCAM_BACKEND_ABI_VERSION,
                                          sizeof(egcam_backend_ops),
                                          "lin",
                                          lin_forward,
                                          lin_backward,
                                          lin_free,
                                          NULL,
                                          0};

static void lin_reset(lin *m)
{
    m->forward_calls = m->forward_rows = m->backward_calls = m->max_rows = 0;
    m->seen_rows = 0;
}

/* ---- fixture ------------------------------------------------------------- */

typedef struct fixture {
    egcam_ctx *ctx;
    egcam_eval_options opts;
    lin *m; /* owned by be */
    egcam_backend *be;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(egcam_ctx_new(&f->ctx), EGCAM_OK);
    assert_int_equal(egcam_eval_options_init(&f->opts), EGCAM_OK);
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

static lin *use_model(fixture *f, lin *m)
{
    egcam_backend_free(f->be);
    f->m = m;
    assert_int_equal(egcam_backend_new(f->ctx, &lin_ops, m, &f->be), EGCAM_OK);
    return m;
}

/* Deterministic uniform numbers in [lo, hi) (splitmix64), for inputs and
 * parameters. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(mix(s) >> 11) * 0x1.0p-53;
}

static void fill_uniform(float *v, size_t n, uint64_t seed, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)uniform(&seed, lo, hi);
}

static double sigmoid(double t) { return 1.0 / (1.0 + exp(-t)); }

static void assert_message(const fixture *f)
{
    const char *msg = egcam_ctx_last_error(f->ctx);
    if (!msg[0])
        fail_msg("a failure left no message");
}

#define assert_close(a, b, tol)                                                                    \
  do {                                                                                             \
    double a_ = (a), b_ = (b);                                                                     \
    if (!(fabs(a_ - b_) <= (tol)))                                                                 \
      fail_msg("%s = %.17g, expected %.17g (tolerance %g)", #a, a_, b_, (double)(tol));            \
  } while (0)

/* ---- options --------------------------------------------------------------- */

static void test_options(void **state)
{
    fixture *f = *state;
    egcam_eval_options o;
    memset(&o, 0xab, sizeof o);
    assert_int_equal(egcam_eval_options_init(&o), EGCAM_OK);
    assert_int_equal(o.struct_size, sizeof o);
    assert_int_equal(o.steps, 28);
    assert_int_equal(o.fill, EGCAM_FILL_BLUR);
    assert_int_equal(o.perturbations, 10);
    assert_int_equal(o.batch_size, 16);
    assert_true(o.infidelity_sigma == 0.05f);
    assert_true(o.sensitivity_radius == 0.02f);
    assert_true(o.seed == 0x6567636dull);
    for (size_t i = 0; i < sizeof o.reserved; i++)
        assert_int_equal(o.reserved[i], 0);
    assert_int_equal(egcam_eval_options_init_sized(NULL, sizeof o), EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_eval_options_init_sized(&o, sizeof o - 1), EGCAM_E_STRUCT_SIZE);
    assert_int_equal(egcam_eval_options_init_sized(&o, 0), EGCAM_E_STRUCT_SIZE);

    /* A newer header's larger struct: accepted with its tail zero, refused
     * once a setting this library does not know is made there. */
    struct {
        egcam_eval_options o;
        uint8_t tail[16];
    } big;
    memset(&big, 0xcd, sizeof big);
    assert_int_equal(egcam_eval_options_init_sized(&big.o, sizeof big), EGCAM_OK);
    assert_int_equal(big.o.struct_size, sizeof big);
    for (size_t i = 0; i < sizeof big.tail; i++)
        assert_int_equal(big.tail[i], 0);
    assert_int_equal(egcam_eval_options_init_sized(&big.o, 5000), EGCAM_E_STRUCT_SIZE);

    lin *m = use_model(f, lin_new(1, 2, 2, 1, 2));
    m->P[0] = 1.0;
    float x[4] = {1, 2, 3, 4}, map[4] = {1, 0, 0, 0};
    egcam_tensor t = {x, {1, 2, 2}, 3, 0};
    double v = -7.0;
    assert_int_equal(egcam_eval_infidelity(f->ctx, f->be, &t, map, 0, &big.o, &v), EGCAM_OK);
    big.tail[3] = 1;
    assert_int_equal(egcam_eval_infidelity(f->ctx, f->be, &t, map, 0, &big.o, &v),
                     EGCAM_E_STRUCT_SIZE);
    assert_message(f);
}

/* ---- deletion and insertion -------------------------------------------- */

enum { SH = 4, SW = 4, SAREA = SH * SW };

/* Score of class 1 depends only on the diagonal S (4 pixels): y_1 = sum_S x,
 * y_0 = 0, so p_1 = sigmoid(sum of x over the pixels of S still there). */
static lin *diagonal_model(fixture *f)
{
    lin *m = use_model(f, lin_new(1, SH, SW, 1, 2));
    m->P[0] = 1.0;
    for (uint32_t i = 0; i < SH; i++)
        lin_V(m, 1, 0)[i * SW + i] = 1.0;
    return m;
}

static double curve_auc(const double *c, size_t steps)
{
    double s = 0.0;
    for (size_t k = 0; k < steps; k++)
        s += (c[k] + c[k + 1]) / 2.0;
    return s / (double)steps;
}

static void check_curve(fixture *f, const egcam_tensor *t, const float *map, uint32_t insertion,
                        const double *expected)
{
    uint32_t steps = f->opts.steps;
    float curve[64];
    double auc = -1.0;
    for (uint32_t batch = 1; batch <= 17; batch += 8) { /* 1, 9, 17 */
        f->opts.batch_size = batch;
        float got[64];
        double a;
        lin_reset(f->m);
        assert_int_equal(
            egcam_eval_deletion(f->ctx, f->be, t, map, 1, insertion, &f->opts, &a, got), EGCAM_OK);
        assert_int_equal(f->m->forward_rows, steps + 1);
        assert_true(f->m->max_rows <= batch);
        assert_int_equal(f->m->forward_calls, (steps + 1 + batch - 1) / batch);
        if (batch == 1) {
            memcpy(curve, got, (steps + 1) * sizeof *got);
            auc = a;
        } else { /* the batch size changes nothing */
            assert_memory_equal(curve, got, (steps + 1) * sizeof *got);
            assert_true(a == auc);
        }
    }
    for (uint32_t k = 0; k <= steps; k++)
        assert_close(curve[k], expected[k], 1e-7);
    assert_close(auc, curve_auc(expected, steps), 1e-12);
    /* Without a curve buffer, the same area. */
    double a2;
    assert_int_equal(egcam_eval_deletion(f->ctx, f->be, t, map, 1, insertion, &f->opts, &a2, NULL),
                     EGCAM_OK);
    assert_true(a2 == auc);
}

/* Steps of 4 pixels. A perfect map ranks S first (ties by position), so
 * deletion loses all of S in step 1; the reversed map ranks S last. */
static void test_deletion_step_function(void **state)
{
    fixture *f = *state;
    diagonal_model(f);
    float x[SAREA], perfect[SAREA], reversed[SAREA];
    for (size_t p = 0; p < SAREA; p++) {
        int on = p % (SW + 1) == 0;
        x[p] = 1.0f;
        perfect[p] = on ? 1.0f : 0.0f;
        reversed[p] = on ? 0.0f : 1.0f;
    }
    egcam_tensor t = {x, {1, 1, SH, SW}, 4, 0};
    f->opts.steps = 4;
    f->opts.fill = EGCAM_FILL_ZEROS;
    double s4 = sigmoid(4.0);
    const double del_perfect[5] = {s4, 0.5, 0.5, 0.5, 0.5};
    const double del_reversed[5] = {s4, s4, s4, s4, 0.5};
    const double ins_perfect[5] = {0.5, s4, s4, s4, s4};
    const double ins_reversed[5] = {0.5, 0.5, 0.5, 0.5, s4};
    check_curve(f, &t, perfect, 0, del_perfect);
    check_curve(f, &t, reversed, 0, del_reversed);
    check_curve(f, &t, perfect, 1, ins_perfect);
    check_curve(f, &t, reversed, 1, ins_reversed);

    /* The areas by hand, and the ordering the metric exists for. */
    double dp, dr, ip, ir;
    assert_int_equal(egcam_eval_deletion(f->ctx, f->be, &t, perfect, 1, 0, &f->opts, &dp, NULL),
                     EGCAM_OK);
    assert_int_equal(egcam_eval_deletion(f->ctx, f->be, &t, reversed, 1, 0, &f->opts, &dr, NULL),
                     EGCAM_OK);
    assert_int_equal(egcam_eval_deletion(f->ctx, f->be, &t, perfect, 1, 1, &f->opts, &ip, NULL),
                     EGCAM_OK);
    assert_int_equal(egcam_eval_deletion(f->ctx, f->be, &t, reversed, 1, 1, &f->opts, &ir, NULL),
                     EGCAM_OK);
    assert_close(dp, ((s4 + 0.5) / 2 + 1.5) / 4, 1e-12);
    assert_close(dr, (3 * s4 + (s4 + 0.5) / 2) / 4, 1e-12);
    assert_close(ip, ((0.5 + s4) / 2 + 3 * s4) / 4, 1e-12);
    assert_close(ir, (1.5 + (0.5 + s4) / 2) / 4, 1e-12);
    assert_true(dp < dr);
    assert_true(ip > ir);
}

/* The rows themselves: after k steps the first floor(k * HW / steps) ranked
 * pixels (ties by position) are moved, in every channel, to the fill. */
static void reference_order(const float *map, size_t n, size_t *order)
{
    int *taken = calloc(n, sizeof *taken);
    assert_non_null(taken);
    for (size_t r = 0; r < n; r++) { /* selection: largest value, first position */
        size_t best = n;
        for (size_t p = 0; p < n; p++)
            if (!taken[p] && (best == n || map[p] > map[best]))
                best = p;
        taken[best] = 1;
        order[r] = best;
    }
    free(taken);
}

/* Gaussian blur as documented: separable, sigma pixels, radius ceil(3 sigma),
 * edges replicated. */
static void reference_blur(const float *in, float *out, size_t C, size_t H, size_t W, double sigma)
{
    int radius = (int)ceil(3.0 * sigma);
    double kernel[64], total = 0.0;
    assert_true(radius < 32);
    for (int k = -radius; k <= radius; k++)
        total += kernel[k + radius] = exp(-0.5 * k * k / (sigma * sigma));
    double *tmp = calloc(C * H * W, sizeof *tmp);
    assert_non_null(tmp);
    for (size_t c = 0; c < C; c++) {
        for (size_t i = 0; i < H; i++)
            for (size_t j = 0; j < W; j++) {
                double s = 0.0;
                for (int k = -radius; k <= radius; k++) {
                    long jj = (long)j + k;
                    jj = jj < 0 ? 0 : jj >= (long)W ? (long)W - 1 : jj;
                    s += kernel[k + radius] / total * in[(c * H + i) * W + (size_t)jj];
                }
                tmp[(c * H + i) * W + j] = (float)s;
            }
        for (size_t i = 0; i < H; i++)
            for (size_t j = 0; j < W; j++) {
                double s = 0.0;
                for (int k = -radius; k <= radius; k++) {
                    long ii = (long)i + k;
                    ii = ii < 0 ? 0 : ii >= (long)H ? (long)H - 1 : ii;
                    s += kernel[k + radius] / total * tmp[(c * H + (size_t)ii) * W + j];
                }
                out[(c * H + i) * W + j] = (float)s;
            }
    }
    free(tmp);
}

static void test_deletion_rows(void **state)
{
    fixture *f = *state;
    enum { C = 2, H = 5, W = 6, AREA = H * W, N = C * AREA };
    lin *m = use_model(f, lin_new(C, H, W, 1, 3));
    m->P[0] = 1.0;
    m->P[1] = -0.5;
    for (size_t p = 0; p < AREA; p++)
        lin_V(m, 2, 0)[p] = 0.05 * ((double)p - 12.0);
    m->record = 1;
    float x[N], map[AREA], fill[N];
    fill_uniform(x, N, 3, -1.0, 2.0);
    fill_uniform(map, AREA, 4, 0.0, 1.0);
    map[7] = map[3] = map[20] = map[11]; /* ties, broken by position */
    map[0] = map[29] = 0.0f;
    size_t order[AREA];
    reference_order(map, AREA, order);
    egcam_tensor t = {x, {C, H, W}, 3, 0};
    f->opts.steps = 7; /* 30 pixels: 4 or 5 per step, n_k = floor(30 k / 7) */
    f->opts.batch_size = 3;
    for (uint32_t fl = EGCAM_FILL_BLUR; fl <= EGCAM_FILL_MEAN; fl++) {
        if (fl == EGCAM_FILL_ZEROS)
            memset(fill, 0, sizeof fill);
        else if (fl == EGCAM_FILL_MEAN)
            for (size_t c = 0; c < C; c++) {
                double s = 0.0;
                for (size_t p = 0; p < AREA; p++)
                    s += x[c * AREA + p];
                for (size_t p = 0; p < AREA; p++)
                    fill[c * AREA + p] = (float)(s / AREA);
            }
        else
            reference_blur(x, fill, C, H, W, 0.1 * 5);
        f->opts.fill = fl;
        for (uint32_t ins = 0; ins < 2; ins++) {
            float curve[8];
            double auc;
            lin_reset(m);
            assert_int_equal(
                egcam_eval_deletion(f->ctx, f->be, &t, map, 2, ins, &f->opts, &auc, curve),
                EGCAM_OK);
            assert_int_equal(m->seen_rows, 8);
            double expected[8];
            for (size_t k = 0; k <= 7; k++) {
                size_t moved = 30 * k / 7;
                const float *row = m->seen + k * N;
                float want[N];
                for (size_t e = 0; e < N; e++)
                    want[e] = ins ? fill[e] : x[e];
                for (size_t r = 0; r < moved; r++)
                    for (size_t c = 0; c < C; c++) {
                        size_t e = c * AREA + order[r];
                        want[e] = ins ? x[e] : fill[e];
                    }
                for (size_t e = 0; e < N; e++)
                    assert_close(row[e], want[e], fl == EGCAM_FILL_BLUR ? 1e-6 : 0.0);
                /* softmax over y = (0, 0, y_2) */
                double y2 = lin_logit(m, want, 2);
                expected[k] = exp(y2) / (2.0 + exp(y2));
                assert_close(curve[k], expected[k], 1e-6);
            }
            assert_close(auc, curve_auc(expected, 7), 1e-6);
        }
    }
}

/* Softmax with logits near 1000 overflows exp() unless the largest logit is
 * taken out first. */
static void test_softmax_stable(void **state)
{
    fixture *f = *state;
    lin *m = use_model(f, lin_new(1, 2, 2, 1, 3));
    m->b[0] = 1000.0;
    m->b[1] = 1001.0;
    m->b[2] = -5.0;
    float x[4] = {1, 2, 3, 4}, map[4] = {4, 3, 2, 1};
    egcam_tensor t = {x, {1, 2, 2}, 3, 0};
    f->opts.steps = 2;
    f->opts.fill = EGCAM_FILL_ZEROS;
    float curve[3];
    double auc;
    double p0 = 1.0 / (1.0 + exp(1.0) + exp(-1005.0));
    assert_int_equal(egcam_eval_deletion(f->ctx, f->be, &t, map, 0, 0, &f->opts, &auc, curve),
                     EGCAM_OK);
    for (int k = 0; k < 3; k++)
        assert_close(curve[k], p0, 1e-7);
    assert_close(auc, p0, 1e-15);
    double drop = -1.0;
    int inc = -1;
    assert_int_equal(egcam_eval_confidence(f->ctx, f->be, &t, map, 1, &drop, &inc), EGCAM_OK);
    assert_true(drop == 0.0);
    assert_int_equal(inc, 0);
}

/* ---- infidelity ---------------------------------------------------------- */

enum { IC = 2, IH = 8, IW = 8, IAREA = IH * IW, IN = IC * IAREA };

/* y_1 = b + sum_p V_p (x_0p + w1 x_1p): linear; its input gradient is V in
 * channel 0 and w1 V in channel 1. With w1 = 1, the map V broadcast over
 * both channels is exactly the gradient. */
static lin *linear_model(fixture *f, double w1, float *v)
{
    lin *m = use_model(f, lin_new(IC, IH, IW, 1, 2));
    m->P[0] = 1.0;
    m->P[1] = w1;
    m->b[0] = 0.25;
    m->b[1] = -0.5;
    uint64_t s = 99;
    for (size_t p = 0; p < IAREA; p++) {
        lin_V(m, 0, 0)[p] = uniform(&s, -1.0, 1.0);
        lin_V(m, 1, 0)[p] = uniform(&s, -1.0, 1.0);
        if (v)
            v[p] = (float)lin_V(m, 1, 0)[p];
    }
    return m;
}

/* Infidelity from the rows the backend was sent: row 0 is x, rows 1..N are
 * x - I_n. Returns sum dy^2 / N through *plain. */
static double reference_infidelity(const lin *m, const float *x, const float *map, double *plain)
{
    size_t n = m->seen_rows - 1;
    double y_x = lin_logit(m, x, 1), aa = 0, ab = 0, bb = 0;
    double *a = calloc(n, sizeof *a), *d = calloc(n, sizeof *d);
    assert_true(a && d);
    assert_memory_equal(m->seen, x, IN * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        const float *row = m->seen + (i + 1) * IN;
        for (size_t c = 0; c < IC; c++)
            for (size_t p = 0; p < IAREA; p++)
                a[i] += ((double)x[c * IAREA + p] - row[c * IAREA + p]) * map[p];
        d[i] = y_x - lin_logit(m, row, 1);
        aa += a[i] * a[i];
        ab += a[i] * d[i];
        bb += d[i] * d[i];
    }
    double beta = aa != 0.0 ? ab / aa : 0.0, e = 0.0;
    for (size_t i = 0; i < n; i++)
        e += (beta * a[i] - d[i]) * (beta * a[i] - d[i]);
    free(a);
    free(d);
    *plain = bb / (double)n;
    return e / (double)n;
}

static void test_infidelity_exact_map(void **state)
{
    fixture *f = *state;
    float v[IAREA], x[IN], scaled[IAREA], negated[IAREA];
    lin *m = linear_model(f, 1.0, v);
    m->record = 1;
    fill_uniform(x, IN, 7, 0.0, 1.0);
    egcam_tensor t = {x, {IC, IH, IW}, 3, 0};
    for (size_t p = 0; p < IAREA; p++) {
        scaled[p] = 3.0f * v[p];
        negated[p] = -v[p];
    }
    const float *maps[3] = {v, scaled, negated};
    for (int i = 0; i < 3; i++) {
        double infd = -1.0, plain;
        lin_reset(m);
        assert_int_equal(egcam_eval_infidelity(f->ctx, f->be, &t, maps[i], 1, &f->opts, &infd),
                         EGCAM_OK);
        reference_infidelity(m, x, maps[i], &plain);
        assert_true(plain > 1e-3); /* the perturbations do move y */
        assert_true(infd >= 0.0);
        assert_true(infd < 1e-9 * plain); /* float rounding of the logits only */
    }
}

static void test_infidelity_wrong_map(void **state)
{
    fixture *f = *state;
    float v[IAREA], x[IN], wrong[IAREA], zeros[IAREA] = {0};
    lin *m = linear_model(f, 0.5, v); /* channel 1 counts half: V broadcast is wrong */
    m->record = 1;
    fill_uniform(x, IN, 8, -1.0, 1.0);
    for (size_t p = 0; p < IAREA; p++)
        wrong[p] = v[IAREA - 1 - p];
    egcam_tensor t = {x, {1, IC, IH, IW}, 4, 0};
    f->opts.perturbations = 25;
    f->opts.batch_size = 4;
    const float *maps[3] = {v, wrong, zeros};
    double values[3];
    for (int i = 0; i < 3; i++) {
        double plain;
        lin_reset(m);
        assert_int_equal(egcam_eval_infidelity(f->ctx, f->be, &t, maps[i], 1, &f->opts, &values[i]),
                         EGCAM_OK);
        assert_int_equal(m->seen_rows, 26);
        assert_int_equal(m->forward_calls, 7); /* ceil(26 / 4) */
        assert_true(m->max_rows <= 4);
        double want = reference_infidelity(m, x, maps[i], &plain);
        assert_true(values[i] > 1e-4 * plain);
        assert_close(values[i], want, 1e-5 * plain);
        if (maps[i] == zeros) /* beta = 0 (Captum's safe_div): the plain mean of dy^2 */
            assert_close(values[i], plain, 1e-5 * plain);
    }
    assert_true(values[0] < values[1]); /* half right beats wrong */

    /* The draws: I ~ N(0, s^2), s = sigma (max(x) - min(x)), i.i.d. */
    float lo = x[0], hi = x[0];
    for (size_t e = 0; e < IN; e++) {
        lo = x[e] < lo ? x[e] : lo;
        hi = x[e] > hi ? x[e] : hi;
    }
    double s = 0.05 * ((double)hi - lo), sum = 0, sq = 0;
    size_t n = 25 * IN;
    for (size_t i = 1; i <= 25; i++) {
        if (i > 1) /* each perturbation draws its own numbers */
            assert_memory_not_equal(m->seen + i * IN, m->seen + (i - 1) * IN, IN * sizeof *x);
        for (size_t e = 0; e < IN; e++) {
            double d = (double)x[e] - m->seen[i * IN + e];
            sum += d;
            sq += d * d;
        }
    }
    double mean = sum / (double)n, sd = sqrt(sq / (double)n - mean * mean);
    assert_true(fabs(mean) < 5.0 * s / sqrt((double)n));
    assert_close(sd, s, 0.05 * s);
}

/* Same seed, same numbers, whatever the batch size; another seed, others. */
static void test_infidelity_deterministic(void **state)
{
    fixture *f = *state;
    float v[IAREA], x[IN];
    linear_model(f, 0.5, v);
    fill_uniform(x, IN, 9, 0.0, 1.0);
    egcam_tensor t = {x, {IC, IH, IW}, 3, 0};
    double a, b, c, d;
    f->opts.batch_size = 1;
    assert_int_equal(egcam_eval_infidelity(f->ctx, f->be, &t, v, 1, &f->opts, &a), EGCAM_OK);
    f->opts.batch_size = 16;
    assert_int_equal(egcam_eval_infidelity(f->ctx, f->be, &t, v, 1, &f->opts, &b), EGCAM_OK);
    assert_int_equal(egcam_eval_infidelity(f->ctx, f->be, &t, v, 1, &f->opts, &c), EGCAM_OK);
    f->opts.seed++;
    assert_int_equal(egcam_eval_infidelity(f->ctx, f->be, &t, v, 1, &f->opts, &d), EGCAM_OK);
    assert_true(a == b);
    assert_true(b == c);
    assert_true(c != d);
}

/* ---- max-sensitivity -------------------------------------------------------- */

enum { SSIDE = 4, SSAREA = SSIDE * SSIDE };

static egcam_config gradcam(int32_t target)
{
    egcam_config cfg;
    assert_int_equal(egcam_config_init(&cfg), EGCAM_OK);
    cfg.method = EGCAM_METHOD_GRADCAM;
    cfg.target_class = target;
    return cfg;
}

static const float *explain_map(fixture *f, const egcam_config *cfg, const egcam_tensor *t,
                                egcam_result **res)
{
    assert_int_equal(egcam_explain(f->ctx, f->be, cfg, t, NULL, res), EGCAM_OK);
    uint32_t h, w;
    const float *map = egcam_result_map(*res, EGCAM_MAP_INPUT, &h, &w);
    assert_int_equal(h * w, (uint32_t)(t->shape[t->ndim - 2] * t->shape[t->ndim - 1]));
    return map;
}

/* A linear model whose Grad-CAM map does not depend on x: A_0 = 1 + x and
 * A_1 = 1 - x, V_l0 = v_l + u_l, V_l1 = v_l - u_l with mean(u_l) = 0, so both
 * channel weights are mean(v_l) = mu and the map is ReLU(mu (A_0 + A_1)) =
 * 2 mu everywhere, while y_l = 2 sum v_l + 2 sum u_l x still moves with x. */
static void test_sensitivity_constant_map(void **state)
{
    fixture *f = *state;
    lin *m = use_model(f, lin_new(1, SSIDE, SSIDE, 2, 2));
    m->q[0] = m->q[1] = 1.0;
    m->P[0] = 1.0;
    m->P[1] = -1.0;
    uint64_t s = 5;
    for (uint32_t l = 0; l < 2; l++)
        for (size_t p = 0; p < SSAREA; p++) {
            double u = (p % 2 ? 1.0 : -1.0) * uniform(&s, 0.1, 1.0);
            double v = 0.25 + 0.5 * l;
            lin_V(m, l, 0)[p] = v + u;
            lin_V(m, l, 1)[p] = v - u;
        }
    for (uint32_t l = 0; l < 2; l++) { /* make mean(u_l) exactly 0 */
        double mu = 0.0;
        for (size_t p = 0; p < SSAREA; p++)
            mu += lin_V(m, l, 0)[p] - lin_V(m, l, 1)[p];
        mu /= 2.0 * SSAREA;
        for (size_t p = 0; p < SSAREA; p++) {
            lin_V(m, l, 0)[p] -= mu;
            lin_V(m, l, 1)[p] += mu;
        }
    }
    float x[SSAREA];
    fill_uniform(x, SSAREA, 11, 0.0, 1.0);
    egcam_tensor t = {x, {1, SSIDE, SSIDE}, 3, 0};
    egcam_config cfg = gradcam(1);
    egcam_result *res;
    const float *map = explain_map(f, &cfg, &t, &res);
    double level = 2.0 * 0.75; /* 2 mu, mu = mean(v_1) */
    for (size_t p = 0; p < SSAREA; p++)
        assert_close(map[p], level, 1e-6);
    float twice[SSAREA], zeros[SSAREA] = {0};
    for (size_t p = 0; p < SSAREA; p++)
        twice[p] = 2.0f * map[p];

    double sens = -1.0;
    lin_reset(m);
    assert_int_equal(egcam_eval_sensitivity(f->ctx, f->be, &cfg, &t, NULL, map, &f->opts, &sens),
                     EGCAM_OK);
    assert_true(sens >= 0.0 && sens < 1e-6);
    /* Exactly `perturbations` explanations: Grad-CAM is 1 forward row and 1
     * backward each; a fixed class needs no look at x first. */
    assert_int_equal(m->backward_calls, f->opts.perturbations);
    assert_int_equal(m->forward_rows, f->opts.perturbations);
    /* ||M - 2M|| / ||2M|| = 1/2: divided by the norm of the map given. */
    assert_int_equal(egcam_eval_sensitivity(f->ctx, f->be, &cfg, &t, NULL, twice, &f->opts, &sens),
                     EGCAM_OK);
    assert_close(sens, 0.5, 1e-6);
    /* ||M(x)|| = 0: Captum divides by 1 instead: ||M|| = 2 mu * 4. */
    assert_int_equal(egcam_eval_sensitivity(f->ctx, f->be, &cfg, &t, NULL, zeros, &f->opts, &sens),
                     EGCAM_OK);
    assert_close(sens, level * SSIDE, 1e-5);
    /* Target -1: one more forward row (x's top class), no more backward. */
    egcam_config top = gradcam(-1);
    f->opts.perturbations = 3;
    lin_reset(m);
    assert_int_equal(egcam_eval_sensitivity(f->ctx, f->be, &top, &t, NULL, map, &f->opts, &sens),
                     EGCAM_OK);
    assert_int_equal(m->backward_calls, 3);
    assert_int_equal(m->forward_rows, 4);
    egcam_result_free(res);
}

/* A = x, y_1 = sum_p V_p x_p with V > 0 and x > r: M(z) = w z with w =
 * mean(V), so the value follows from the perturbed inputs themselves. */
static void test_sensitivity_closed_form(void **state)
{
    fixture *f = *state;
    lin *m = use_model(f, lin_new(1, SSIDE, SSIDE, 1, 2));
    m->P[0] = 1.0;
    uint64_t s = 17;
    for (size_t p = 0; p < SSAREA; p++)
        lin_V(m, 1, 0)[p] = uniform(&s, 0.5, 1.5);
    float x[SSAREA];
    fill_uniform(x, SSAREA, 12, 0.5, 1.0);
    egcam_tensor t = {x, {1, SSIDE, SSIDE}, 3, 0};
    egcam_config cfg = gradcam(1);
    egcam_result *res;
    const float *map = explain_map(f, &cfg, &t, &res);
    double w = egcam_result_weights(res, NULL)[0], norm = 0.0;
    for (size_t p = 0; p < SSAREA; p++) {
        assert_close(map[p], w * x[p], 1e-6);
        norm += (double)map[p] * map[p];
    }
    norm = sqrt(norm);
    f->opts.perturbations = 20;
    f->opts.sensitivity_radius = 0.1f;
    m->record = 1;
    double sens, again;
    lin_reset(m);
    assert_int_equal(egcam_eval_sensitivity(f->ctx, f->be, &cfg, &t, NULL, map, &f->opts, &sens),
                     EGCAM_OK);
    assert_int_equal(m->seen_rows, 20);
    double want = 0.0, lowest = 0.0, highest = 0.0;
    for (size_t n = 0; n < 20; n++) {
        const float *z = m->seen + n * SSAREA;
        double d = 0.0;
        for (size_t p = 0; p < SSAREA; p++) {
            double dz = (double)z[p] - x[p];
            assert_true(fabs(dz) <= 0.1 + 1e-6);
            lowest = dz < lowest ? dz : lowest;
            highest = dz > highest ? dz : highest;
            d += (w * z[p] - map[p]) * (w * z[p] - map[p]);
        }
        want = sqrt(d) > want ? sqrt(d) : want;
        if (n > 0) /* each perturbation draws its own numbers */
            assert_memory_not_equal(z, z - SSAREA, SSAREA * sizeof *z);
    }
    assert_true(lowest < -0.09 && highest > 0.09); /* the draws fill the ball */
    assert_close(sens, want / norm, 1e-5 * want / norm);
    assert_int_equal(egcam_eval_sensitivity(f->ctx, f->be, &cfg, &t, NULL, map, &f->opts, &again),
                     EGCAM_OK);
    assert_true(sens == again);
    f->opts.seed++;
    assert_int_equal(egcam_eval_sensitivity(f->ctx, f->be, &cfg, &t, NULL, map, &f->opts, &again),
                     EGCAM_OK);
    assert_true(sens != again);
    egcam_result_free(res);
}

/* Two nearly tied classes: y_0 = sum x, y_1 = sum x - 0.001 at x. Many
 * perturbed inputs prefer class 1, whose map is 0 (V_1 = 0); with target -1
 * every one must still explain class 0, the class of M(x). */
static void test_sensitivity_target_pinned(void **state)
{
    fixture *f = *state;
    lin *m = use_model(f, lin_new(1, SSIDE, SSIDE, 1, 2));
    m->P[0] = 1.0;
    float x[SSAREA];
    fill_uniform(x, SSAREA, 13, 0.5, 1.0);
    double sum = 0.0;
    for (size_t p = 0; p < SSAREA; p++) {
        lin_V(m, 0, 0)[p] = 1.0;
        sum += x[p];
    }
    m->b[1] = sum - 0.001;
    egcam_tensor t = {x, {1, SSIDE, SSIDE}, 3, 0};
    egcam_config top = gradcam(-1), zero = gradcam(0);
    egcam_result *res;
    const float *map = explain_map(f, &top, &t, &res);
    assert_int_equal(egcam_result_class(res), 0);
    f->opts.perturbations = 16;
    m->record = 1;
    double pinned, explicit_class;
    lin_reset(m);
    assert_int_equal(egcam_eval_sensitivity(f->ctx, f->be, &top, &t, NULL, map, &f->opts, &pinned),
                     EGCAM_OK);
    int flipped = 0;
    for (size_t n = 1; n < m->seen_rows; n++) /* row 0: x, for its top class */
        flipped += lin_logit(m, m->seen + n * SSAREA, 1) > lin_logit(m, m->seen + n * SSAREA, 0);
    assert_true(flipped > 0); /* the case is real */
    assert_int_equal(
        egcam_eval_sensitivity(f->ctx, f->be, &zero, &t, NULL, map, &f->opts, &explicit_class),
        EGCAM_OK);
    assert_true(pinned == explicit_class);
    assert_true(pinned < 0.2); /* a flipped class would give 1: ||0 - M|| / ||M|| */
    egcam_result_free(res);
}

/* ---- complexity ---------------------------------------------------------- */

/* The complexity of map as the library computes it, or NaN when the call
 * fails, checking the status against want (EGCAM_OK: success) and, for a
 * failure, that the message is set and the output untouched. */
static double complexity(const float *map, uint32_t h, uint32_t w, egcam_status want)
{
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    double v = -7.0;
    assert_int_equal(egcam_eval_complexity(ctx, map, h, w, &v), want);
    if (want != EGCAM_OK) {
        assert_true(v == -7.0);
        assert_true(egcam_ctx_last_error(ctx)[0] != '\0');
        v = NAN;
    }
    egcam_ctx_free(ctx);
    return v;
}

static void test_complexity(void **state)
{
    (void)state;
    float map[6 * 7];
    for (size_t i = 0; i < 42; i++)
        map[i] = 0.3f;
    assert_close(complexity(map, 6, 7, EGCAM_OK), log(42.0), 1e-12);
    memset(map, 0, sizeof map);
    map[17] = 5.0f;
    assert_true(complexity(map, 6, 7, EGCAM_OK) == 0.0);
    map[3] = 5.0f;
    map[4] = 10.0f; /* p = 1/4, 1/4, 1/2 */
    assert_close(complexity(map, 6, 7, EGCAM_OK), 1.5 * log(2.0), 1e-12);
    memset(map, 0, sizeof map);
    assert_true(isnan(complexity(map, 6, 7, EGCAM_OK))); /* a value: undefined, not an error */
    map[0] = 1.0f;
    map[1] = -0.5f;
    complexity(map, 6, 7, EGCAM_E_INVALID_ARGUMENT);
    map[1] = NAN;
    complexity(map, 6, 7, EGCAM_E_NON_FINITE);
    map[1] = INFINITY;
    complexity(map, 6, 7, EGCAM_E_NON_FINITE);
    map[1] = 0.0f;
    assert_true(complexity(map, 6, 7, EGCAM_OK) == 0.0);
    complexity(NULL, 6, 7, EGCAM_E_NULL_ARGUMENT);
    complexity(map, 0, 7, EGCAM_E_EMPTY);
    complexity(map, 6, 0, EGCAM_E_EMPTY);
    double v;
    assert_int_equal(egcam_eval_complexity(NULL, map, 6, 7, &v), EGCAM_E_NULL_ARGUMENT);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    assert_int_equal(egcam_eval_complexity(ctx, map, 6, 7, NULL), EGCAM_E_NULL_ARGUMENT);
    egcam_ctx_free(ctx);
}

/* ---- confidence ---------------------------------------------------------- */

static void test_confidence(void **state)
{
    fixture *f = *state;
    enum { C = 2, H = 3, W = 4, AREA = H * W, N = C * AREA };
    lin *m = use_model(f, lin_new(C, H, W, 1, 2));
    m->P[0] = 1.0;
    m->P[1] = 2.0;
    uint64_t s = 21;
    for (size_t p = 0; p < AREA; p++)
        lin_V(m, 1, 0)[p] = p < 4 ? -uniform(&s, 0.5, 1.0) : uniform(&s, 0.2, 1.0);
    m->record = 1;
    float x[N], ones[AREA], half[AREA], positive[AREA];
    fill_uniform(x, N, 22, 0.2, 1.0);
    for (size_t p = 0; p < AREA; p++) {
        ones[p] = 1.0f;
        half[p] = 0.5f;
        positive[p] = p < 4 ? 0.0f : 1.0f;
    }
    egcam_tensor t = {x, {C, H, W}, 3, 0};
    double y = lin_logit(m, x, 1), Y = sigmoid(y);
    assert_true(y > 0.0);
    double drop;
    int inc;

    lin_reset(m);
    assert_int_equal(egcam_eval_confidence(f->ctx, f->be, &t, ones, 1, &drop, &inc), EGCAM_OK);
    assert_int_equal(m->forward_calls, 1);
    assert_int_equal(m->forward_rows, 2);
    assert_true(drop == 0.0);
    assert_int_equal(inc, 0);

    /* Half the input halves the logit: O = sigmoid(y / 2) < Y. */
    lin_reset(m);
    assert_int_equal(egcam_eval_confidence(f->ctx, f->be, &t, half, 1, &drop, &inc), EGCAM_OK);
    assert_memory_equal(m->seen, x, sizeof x);
    for (size_t c = 0; c < C; c++)
        for (size_t p = 0; p < AREA; p++)
            assert_true(m->seen[N + c * AREA + p] == x[c * AREA + p] * 0.5f);
    assert_close(drop, (Y - sigmoid(y / 2)) / Y, 1e-6);
    assert_int_equal(inc, 0);

    /* Masking out the negative evidence raises the score: increase, no drop. */
    double o = 0.0;
    float masked[N];
    for (size_t c = 0; c < C; c++)
        for (size_t p = 0; p < AREA; p++)
            masked[c * AREA + p] = x[c * AREA + p] * positive[p];
    o = sigmoid(lin_logit(m, masked, 1));
    assert_true(o > Y);
    assert_int_equal(egcam_eval_confidence(f->ctx, f->be, &t, positive, 1, &drop, &inc), EGCAM_OK);
    assert_true(drop == 0.0);
    assert_int_equal(inc, 1);

    /* Class 0 (y_0 = 0) under the half map: its score rises. */
    assert_int_equal(egcam_eval_confidence(f->ctx, f->be, &t, half, 0, &drop, &inc), EGCAM_OK);
    assert_true(drop == 0.0);
    assert_int_equal(inc, 1);
}

/* ---- pointing game ------------------------------------------------------- */

static void test_pointing(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    enum { H = 4, W = 5 };
    float map[H * W] = {0};
    map[1 * W + 2] = 4.0f; /* the maximum, at x = 2, y = 1 */
    map[3 * W + 4] = 4.0f; /* tied, later in row-major order */
    map[0] = 1.0f;
    map[2 * W + 2] = 1.0f; /* total 10 */
    int hit = -1;
    double energy = -1.0;
    static const struct {
        uint32_t box[4];
        int hit;
        double energy;
    } cases[] = {
        {{2, 1, 3, 2}, 1, 0.4},                         /* exactly the maximum's pixel */
        {{0, 0, 2, 2}, 0, 0.1},                         /* x1 = 2 is excluded */
        {{0, 0, 5, 1}, 0, 0.1},                         /* y1 = 1 is excluded */
        {{3, 0, 5, 4}, 0, 0.4},                         /* only the later tie */
        {{2, 1, 5, 4}, 1, 0.9}, {{0, 0, 5, 4}, 1, 1.0}, /* the whole map */
        {{0, 2, 5, 4}, 0, 0.5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(egcam_eval_pointing(ctx, map, H, W, cases[i].box, &hit, &energy),
                         EGCAM_OK);
        assert_int_equal(hit, cases[i].hit);
        assert_close(energy, cases[i].energy, 1e-15);
    }
    /* A map of zeros: no energy to share; the maximum is the first pixel. */
    float zeros[H * W] = {0};
    const uint32_t corner[4] = {0, 0, 1, 1}, away[4] = {1, 1, 2, 2};
    assert_int_equal(egcam_eval_pointing(ctx, zeros, H, W, corner, &hit, &energy), EGCAM_OK);
    assert_int_equal(hit, 1);
    assert_true(isnan(energy));
    assert_int_equal(egcam_eval_pointing(ctx, zeros, H, W, away, &hit, &energy), EGCAM_OK);
    assert_int_equal(hit, 0);

    /* Bad arguments, each with its status; outputs untouched. */
    const uint32_t ok[4] = {0, 0, 2, 2};
    static const struct {
        uint32_t box[4];
        egcam_status st;
    } bad[] = {
        {{1, 0, 1, 2}, EGCAM_E_EMPTY},
        {{0, 3, 2, 3}, EGCAM_E_EMPTY},
        {{2, 0, 1, 2}, EGCAM_E_INVALID_ARGUMENT},
        {{0, 2, 2, 1}, EGCAM_E_INVALID_ARGUMENT},
        {{0, 0, 6, 2}, EGCAM_E_INVALID_ARGUMENT},
        {{0, 0, 2, 5}, EGCAM_E_INVALID_ARGUMENT},
        {{6, 0, 7, 2}, EGCAM_E_INVALID_ARGUMENT},
    };
    hit = -1;
    energy = -1.0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(egcam_eval_pointing(ctx, map, H, W, bad[i].box, &hit, &energy), bad[i].st);
    assert_int_equal(egcam_eval_pointing(ctx, NULL, H, W, ok, &hit, &energy),
                     EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_eval_pointing(ctx, map, H, W, NULL, &hit, &energy),
                     EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_eval_pointing(ctx, map, H, W, ok, NULL, &energy), EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_eval_pointing(ctx, map, H, W, ok, &hit, NULL), EGCAM_E_NULL_ARGUMENT);
    assert_int_equal(egcam_eval_pointing(ctx, map, 0, W, ok, &hit, &energy), EGCAM_E_EMPTY);
    assert_int_equal(egcam_eval_pointing(ctx, map, H, 0, ok, &hit, &energy), EGCAM_E_EMPTY);
    map[7] = -1.0f;
    assert_int_equal(egcam_eval_pointing(ctx, map, H, W, ok, &hit, &energy),
                     EGCAM_E_INVALID_ARGUMENT);
    map[7] = NAN;
    assert_int_equal(egcam_eval_pointing(ctx, map, H, W, ok, &hit, &energy), EGCAM_E_NON_FINITE);
    assert_true(strstr(egcam_ctx_last_error(ctx), "egcam_eval_pointing") != NULL);
    assert_int_equal(hit, -1);
    assert_true(energy == -1.0);
    assert_int_equal(egcam_eval_pointing(NULL, map, H, W, ok, &hit, &energy),
                     EGCAM_E_NULL_ARGUMENT);
    egcam_ctx_free(ctx);
}

/* ---- bad inputs -------------------------------------------------------------- */

enum { M_DELETION, M_INFIDELITY, M_SENSITIVITY, M_CONFIDENCE, METRICS };
static const char *const metric_names[METRICS] = {"deletion", "infidelity", "sensitivity",
                                                  "confidence"};

typedef struct call {
    egcam_ctx *ctx;
    egcam_backend *be;
    const egcam_tensor *input;
    const float *map;
    int32_t target;
    uint32_t insertion;
    const egcam_eval_options *opts;
    const egcam_config *cfg;
    int null_out;
} call;

/* Run metric `which`; on failure, check that the outputs were not touched. */
static egcam_status run_metric(int which, const call *c)
{
    double v = -42.0, v2 = -43.0;
    float curve[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    int inc = -44;
    egcam_status st;
    switch (which) {
    case M_DELETION:
        st = egcam_eval_deletion(c->ctx, c->be, c->input, c->map, c->target, c->insertion, c->opts,
                                 c->null_out ? NULL : &v, curve);
        break;
    case M_INFIDELITY:
        st = egcam_eval_infidelity(c->ctx, c->be, c->input, c->map, c->target, c->opts,
                                   c->null_out ? NULL : &v);
        break;
    case M_SENSITIVITY:
        st = egcam_eval_sensitivity(c->ctx, c->be, c->cfg, c->input, NULL, c->map, c->opts,
                                    c->null_out ? NULL : &v);
        break;
    default:
        st = egcam_eval_confidence(c->ctx, c->be, c->input, c->map, c->target,
                                   c->null_out == 1 ? NULL : &v2, c->null_out == 2 ? NULL : &inc);
        break;
    }
    if (st != EGCAM_OK) {
        assert_true(v == -42.0 && v2 == -43.0 && inc == -44);
        for (int i = 0; i < 8; i++)
            assert_true(curve[i] == -1.0f);
    }
    return st;
}

static void expect(fixture *f, int which, const call *c, egcam_status want, const char *what)
{
    egcam_status st = run_metric(which, c);
    if (st != want)
        fail_msg("%s, %s: status %d (%s), expected %d; message \"%s\"", metric_names[which], what,
                 st, egcam_status_string(st), want, egcam_ctx_last_error(f->ctx));
    if (st != EGCAM_OK && c->ctx)
        assert_message(f);
}

static void test_bad_inputs(void **state)
{
    fixture *f = *state;
    enum { C = 2, H = 3, W = 3, N = C * H * W };
    lin *m = use_model(f, lin_new(C, H, W, 1, 3));
    m->P[0] = m->P[1] = 1.0;
    for (size_t p = 0; p < H * W; p++)
        lin_V(m, 1, 0)[p] = 0.5;
    float x[N], map[H * W], bad_x[N], bad_map[H * W];
    fill_uniform(x, N, 31, 0.0, 1.0);
    fill_uniform(map, H * W, 32, 0.0, 1.0);
    memcpy(bad_x, x, sizeof x);
    memcpy(bad_map, map, sizeof map);
    bad_x[5] = NAN;
    bad_map[2] = INFINITY;
    egcam_tensor t = {x, {C, H, W}, 3, 0};
    egcam_config cfg = gradcam(1);
    f->opts.steps = 4;
    f->opts.perturbations = 3;
    f->opts.batch_size = 2;
    const call good = {f->ctx, f->be, &t, map, 1, 0, &f->opts, &cfg, 0};

    for (int w = 0; w < METRICS; w++) {
        call c = good;
        expect(f, w, &c, EGCAM_OK, "good call");
        c.ctx = NULL;
        expect(f, w, &c, EGCAM_E_NULL_ARGUMENT, "NULL ctx");
        c = good;
        c.null_out = 1;
        expect(f, w, &c, EGCAM_E_NULL_ARGUMENT, "NULL out");
        if (w == M_CONFIDENCE) {
            c.null_out = 2;
            expect(f, w, &c, EGCAM_E_NULL_ARGUMENT, "NULL increase");
        }
        c = good;
        c.be = NULL;
        expect(f, w, &c, EGCAM_E_NULL_ARGUMENT, "NULL backend");
        c = good;
        c.input = NULL;
        expect(f, w, &c, EGCAM_E_NULL_ARGUMENT, "NULL input");
        egcam_tensor u = t;
        c.input = &u;
        u.data = NULL;
        expect(f, w, &c, EGCAM_E_NULL_ARGUMENT, "NULL data");
        u = (egcam_tensor){x, {N}, 1, 0};
        expect(f, w, &c, EGCAM_E_SHAPE_MISMATCH, "1-D input");
        u = (egcam_tensor){x, {2, 1, H, W}, 4, 0};
        expect(f, w, &c, EGCAM_E_SHAPE_MISMATCH, "two images");
        u = (egcam_tensor){x, {C, 0, W}, 3, 0};
        expect(f, w, &c, EGCAM_E_EMPTY, "zero height");
        u = t;
        u.reserved = 1;
        expect(f, w, &c, EGCAM_E_STRUCT_SIZE, "tensor reserved");
        u = t;
        u.data = bad_x;
        expect(f, w, &c, EGCAM_E_NON_FINITE, "NaN input");
        c = good;
        c.map = NULL;
        expect(f, w, &c, EGCAM_E_NULL_ARGUMENT, "NULL map");
        c.map = bad_map;
        expect(f, w, &c, EGCAM_E_NON_FINITE, "infinite map");

        /* The target: negative at once, too large after the first forward. */
        if (w != M_SENSITIVITY) {
            c = good;
            c.target = -1;
            lin_reset(m);
            expect(f, w, &c, EGCAM_E_CLASS_OUT_OF_RANGE, "target -1");
            assert_int_equal(m->forward_calls, 0);
            c.target = 3;
            expect(f, w, &c, EGCAM_E_CLASS_OUT_OF_RANGE, "target 3 of 3 logits");
            assert_int_equal(m->forward_calls, 1);
        } else {
            egcam_config bad = cfg;
            c = good;
            c.cfg = &bad;
            bad.target_class = 3;
            expect(f, w, &c, EGCAM_E_CLASS_OUT_OF_RANGE, "cfg target 3 of 3 logits");
            bad = cfg;
            bad.method = 0;
            expect(f, w, &c, EGCAM_E_INVALID_ARGUMENT, "cfg method 0");
            bad = cfg;
            bad.struct_size = 0;
            expect(f, w, &c, EGCAM_E_STRUCT_SIZE, "cfg struct_size 0");
            c.cfg = NULL;
            expect(f, w, &c, EGCAM_E_NULL_ARGUMENT, "NULL cfg");
        }

        /* The backend fails, first or later; its logits are NaN. */
        c = good;
        for (uint32_t n = 1; n <= 2; n++) {
            if (w == M_CONFIDENCE && n == 2)
                break; /* one call only */
            m->fail_in = n;
            expect(f, w, &c, EGCAM_E_BACKEND, "forward failure");
            if (!strstr(egcam_ctx_last_error(f->ctx), "injected forward failure"))
                fail_msg("%s: message \"%s\"", metric_names[w], egcam_ctx_last_error(f->ctx));
            m->fail_in = 0;
        }
        m->nan_logits = 1;
        expect(f, w, &c, EGCAM_E_NON_FINITE, "NaN logits");
        m->nan_logits = 0;
        expect(f, w, &c, EGCAM_OK, "recovered");

        /* Options, for every metric that takes them. */
        if (w == M_CONFIDENCE)
            continue;
        egcam_eval_options o = f->opts;
        c.opts = &o;
        static const struct {
            size_t offset;
            int kind; /* 0 uint32, 1 float, 2 byte */
            double value;
            egcam_status st;
        } bad[] = {
            {offsetof(egcam_eval_options, steps), 0, 0, EGCAM_E_EMPTY},
            {offsetof(egcam_eval_options, perturbations), 0, 0, EGCAM_E_EMPTY},
            {offsetof(egcam_eval_options, batch_size), 0, 0, EGCAM_E_EMPTY},
            {offsetof(egcam_eval_options, fill), 0, 0, EGCAM_E_INVALID_ARGUMENT},
            {offsetof(egcam_eval_options, fill), 0, 4, EGCAM_E_INVALID_ARGUMENT},
            {offsetof(egcam_eval_options, infidelity_sigma), 1, -0.5, EGCAM_E_INVALID_ARGUMENT},
            {offsetof(egcam_eval_options, infidelity_sigma), 1, NAN, EGCAM_E_NON_FINITE},
            {offsetof(egcam_eval_options, sensitivity_radius), 1, -1e-3, EGCAM_E_INVALID_ARGUMENT},
            {offsetof(egcam_eval_options, sensitivity_radius), 1, INFINITY, EGCAM_E_NON_FINITE},
            {offsetof(egcam_eval_options, reserved) + 31, 2, 1, EGCAM_E_STRUCT_SIZE},
            {offsetof(egcam_eval_options, struct_size), 3, 0, EGCAM_E_STRUCT_SIZE},
            {offsetof(egcam_eval_options, struct_size), 3, 8, EGCAM_E_STRUCT_SIZE},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            o = f->opts;
            char *p = (char *)&o + bad[i].offset;
            if (bad[i].kind == 0) {
                uint32_t v = (uint32_t)bad[i].value;
                memcpy(p, &v, sizeof v);
            } else if (bad[i].kind == 1) {
                float v = (float)bad[i].value;
                memcpy(p, &v, sizeof v);
            } else if (bad[i].kind == 2) {
                *p = 1;
            } else {
                size_t v = (size_t)bad[i].value;
                memcpy(p, &v, sizeof v);
            }
            char what[64];
            snprintf(what, sizeof what, "bad option %zu", i);
            expect(f, w, &c, bad[i].st, what);
        }
        c.opts = NULL;
        expect(f, w, &c, EGCAM_E_NULL_ARGUMENT, "NULL opts");
        if (w == M_DELETION) {
            c = good;
            c.insertion = 2;
            expect(f, w, &c, EGCAM_E_INVALID_ARGUMENT, "insertion 2");
        }
    }

    /* A reference set of another backend: the explanation's own check. */
    lin *other = lin_new(C, H, W, 1, 3);
    egcam_backend *ob;
    assert_int_equal(egcam_backend_new(f->ctx, &lin_ops, other, &ob), EGCAM_OK);
    float zeros[N] = {0};
    egcam_tensor rt = {zeros, {1, C, H, W}, 4, 0};
    egcam_refset *set;
    assert_int_equal(egcam_refset_new(f->ctx, ob, &rt, 0, &set), EGCAM_OK);
    egcam_config ig = cfg;
    ig.method = EGCAM_METHOD_INTEGRATED;
    ig.steps = 4;
    double v = -1.0;
    assert_int_equal(egcam_eval_sensitivity(f->ctx, f->be, &ig, &t, set, map, &f->opts, &v),
                     EGCAM_E_MISUSE);
    assert_true(v == -1.0);
    assert_int_equal(egcam_eval_sensitivity(f->ctx, ob, &ig, &t, set, map, &f->opts, &v), EGCAM_OK);
    assert_true(v >= 0.0);
    egcam_refset_free(set);
    egcam_backend_free(ob);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_options),
        T(test_deletion_step_function),
        T(test_deletion_rows),
        T(test_softmax_stable),
        T(test_infidelity_exact_map),
        T(test_infidelity_wrong_map),
        T(test_infidelity_deterministic),
        T(test_sensitivity_constant_map),
        T(test_sensitivity_closed_form),
        T(test_sensitivity_target_pinned),
        T(test_complexity),
        T(test_confidence),
        T(test_pointing),
        T(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
