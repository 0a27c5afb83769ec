/*
 * analytic_backend.c - see analytic_backend.h for the model.
 *
 * The backend computes in double and hands libegcam float views of buffers
 * it owns; the closed-form helpers share the same parameter arrays but none
 * of libegcam's code, so the tests compare libegcam against mathematics.
 */
#include "analytic_backend.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct analytic_model {
    analytic_shape d;
    double *P, *q, *V, *u, *b, *t; /* parameters, see the header */

    /* Buffers behind the views handed to libegcam; cap_rows rows each, one
     * more than the largest batch so that ACT_ROWS/LOGIT_ROWS/GRAD_ROWS
     * corruptions never point past the memory they describe. */
    uint32_t cap_rows;
    float *acts, *logits, *grad;
    double *S;        /* S_k per row of the last forward */
    float *seed;      /* seed of the last backward */
    uint32_t rows;    /* rows of the last forward */
    int can_backward; /* last forward had FOR_BACKWARD */
    int have_seed;
    uint32_t seed_rows;

    analytic_counters cnt;
    uint32_t fail_fwd, fail_bwd; /* countdowns; 0 = disarmed */
    analytic_corruption corrupt;
    uint32_t corrupt_wait; /* calls still to pass before it starts */
    int *release_flag;
};

/* ---- small utilities --------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static double unit(uint64_t *state) { return (double)(splitmix64(state) >> 11) * 0x1.0p-52 - 1.0; }

static void msg(char *errbuf, size_t size, const char *fmt, ...)
{
    if (!errbuf || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, size, fmt, ap);
    va_end(ap);
}

static size_t act_size(const analytic_model *m) { return (size_t)m->d.K * m->d.h * m->d.w; }
static size_t in_size(const analytic_model *m) { return (size_t)m->d.C * m->d.H * m->d.W; }

/* ---- the model in double ------------------------------------------------ */

static void acts_of(const analytic_model *m, const float *x, double *A)
{
    const analytic_shape *d = &m->d;
    const double inv = 1.0 / ((double)d->s * d->s);
    for (uint32_t i = 0; i < d->h; i++)
        for (uint32_t j = 0; j < d->w; j++) {
            double pool[64];
            double *pc = d->C <= 64 ? pool : malloc(d->C * sizeof *pc);
            for (uint32_t c = 0; c < d->C; c++) {
                double sum = 0;
                for (uint32_t a = 0; a < d->s; a++)
                    for (uint32_t bb = 0; bb < d->s; bb++)
                        sum += x[((size_t)c * d->H + i * d->s + a) * d->W + j * d->s + bb];
                pc[c] = sum * inv;
            }
            for (uint32_t k = 0; k < d->K; k++) {
                double v = m->q[k];
                for (uint32_t c = 0; c < d->C; c++)
                    v += m->P[k * d->C + c] * pc[c];
                A[((size_t)k * d->h + i) * d->w + j] = v;
            }
            if (pc != pool)
                free(pc);
        }
}

static void channel_sums(const analytic_model *m, const double *A, double *S)
{
    const size_t hw = (size_t)m->d.h * m->d.w;
    for (uint32_t k = 0; k < m->d.K; k++) {
        S[k] = 0;
        for (size_t p = 0; p < hw; p++)
            S[k] += A[k * hw + p];
    }
}

static void logits_of_acts(const analytic_model *m, const double *A, double *y)
{
    const size_t n = act_size(m);
    double S[256];
    double *Sk = m->d.K <= 256 ? S : malloc(m->d.K * sizeof *Sk);
    channel_sums(m, A, Sk);
    for (uint32_t l = 0; l < m->d.L; l++) {
        double v = m->b[l];
        for (size_t e = 0; e < n; e++)
            v += m->V[l * n + e] * A[e];
        for (uint32_t k = 0; k < m->d.K; k++)
            v += 0.5 * m->u[l * m->d.K + k] * Sk[k] * Sk[k] +
                 m->t[l * m->d.K + k] * Sk[k] * Sk[k] * Sk[k] / 6.0;
        y[l] = v;
    }
    if (Sk != S)
        free(Sk);
}

/* G_kij = sum_l seed_l (V_lkij + u_lk S_k + t_lk S_k^2 / 2), given the
 * channel sums S. */
static void grad_of_sums(const analytic_model *m, const double *S, const double *seed, double *G)
{
    const size_t hw = (size_t)m->d.h * m->d.w, n = act_size(m);
    for (size_t e = 0; e < n; e++) {
        const uint32_t k = (uint32_t)(e / hw);
        double v = 0;
        for (uint32_t l = 0; l < m->d.L; l++)
            v += seed[l] * (m->V[l * n + e] + m->u[l * m->d.K + k] * S[k] +
                            0.5 * m->t[l * m->d.K + k] * S[k] * S[k]);
        G[e] = v;
    }
}

/* ---- lifetime ----------------------------------------------------------- */

analytic_model *analytic_new(uint32_t C, uint32_t H, uint32_t W, uint32_t s, uint32_t K, uint32_t L,
                             uint64_t seed)
{
    if (!C || !H || !W || !s || !K || !L || H % s || W % s)
        return NULL;
    analytic_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->d = (analytic_shape){C, H, W, s, K, H / s, W / s, L};
    const size_t n = act_size(m);
    m->P = malloc((size_t)K * C * sizeof *m->P);
    m->q = malloc(K * sizeof *m->q);
    m->V = malloc(L * n * sizeof *m->V);
    m->u = malloc((size_t)L * K * sizeof *m->u);
    m->b = malloc(L * sizeof *m->b);
    m->t = malloc((size_t)L * K * sizeof *m->t);
    m->seed = NULL;
    if (!m->P || !m->q || !m->V || !m->u || !m->b || !m->t) {
        analytic_free(m);
        return NULL;
    }
    uint64_t st = seed;
    for (size_t i = 0; i < (size_t)K * C; i++)
        m->P[i] = unit(&st);
    for (size_t i = 0; i < K; i++)
        m->q[i] = 0.5 * unit(&st);
    for (size_t i = 0; i < L * n; i++)
        m->V[i] = unit(&st);
    for (size_t i = 0; i < (size_t)L * K; i++)
        m->u[i] = 0.1 * unit(&st);
    for (size_t i = 0; i < L; i++)
        m->b[i] = unit(&st);
    /* Drawn last, so P, q, V, u and b are those of the quadratic model. */
    for (size_t i = 0; i < (size_t)L * K; i++)
        m->t[i] = ANALYTIC_T_SCALE * unit(&st);
    return m;
}

void analytic_free(analytic_model *m)
{
    if (!m)
        return;
    if (m->release_flag)
        (*m->release_flag)++;
    free(m->P);
    free(m->q);
    free(m->V);
    free(m->u);
    free(m->b);
    free(m->t);
    free(m->acts);
    free(m->logits);
    free(m->grad);
    free(m->S);
    free(m->seed);
    free(m);
}

static void release_slot(void *self) { analytic_free(self); }

/* Make room for rows (+1 spare) rows in every buffer. */
static int reserve(analytic_model *m, uint32_t rows)
{
    if (rows + 1 <= m->cap_rows)
        return 0;
    const uint32_t cap = rows + 1;
    const size_t n = act_size(m);
    float *a = realloc(m->acts, cap * n * sizeof *a);
    if (a)
        m->acts = a;
    float *g = realloc(m->grad, cap * n * sizeof *g);
    if (g)
        m->grad = g;
    float *y = realloc(m->logits, (size_t)cap * m->d.L * sizeof *y);
    if (y)
        m->logits = y;
    double *S = realloc(m->S, (size_t)cap * m->d.K * sizeof *S);
    if (S)
        m->S = S;
    float *sd = realloc(m->seed, (size_t)cap * m->d.L * sizeof *sd);
    if (sd)
        m->seed = sd;
    if (!a || !g || !y || !S || !sd)
        return -1;
    /* Spare rows read as zeros when a corruption claims them. */
    memset(m->acts, 0, cap * n * sizeof *a);
    memset(m->grad, 0, cap * n * sizeof *g);
    memset(m->logits, 0, (size_t)cap * m->d.L * sizeof *y);
    m->cap_rows = cap;
    return 0;
}

/* Counts a call down a failure countdown; 1 when this call is to fail. */
static int countdown(uint32_t *n)
{
    if (*n == 0)
        return 0;
    return --*n == 0;
}

static int is_forward_corruption(analytic_corruption c)
{
    return c != ANALYTIC_CORRUPT_NONE && c != ANALYTIC_CORRUPT_NAN_GRADIENT &&
           c != ANALYTIC_CORRUPT_GRAD_ROWS && c != ANALYTIC_CORRUPT_ZERO_GRADIENT;
}

/* 1 when the current call of the slot `forward` is to be corrupted. */
static int corrupt_now(analytic_model *m, int forward)
{
    if (m->corrupt == ANALYTIC_CORRUPT_NONE || is_forward_corruption(m->corrupt) != forward)
        return 0;
    if (m->corrupt_wait > 0) {
        m->corrupt_wait--;
        return 0;
    }
    return 1;
}

/* ---- the backend slots -------------------------------------------------- */

static egcam_status forward_slot(void *self, const egcam_tensor *in, uint32_t flags,
                                 egcam_tensor *acts, egcam_tensor *logits, char *errbuf,
                                 size_t errbuf_size)
{
    analytic_model *m = self;
    const analytic_shape *d = &m->d;
    m->cnt.forward_calls++;
    m->can_backward = 0; /* any forward ends the previous batch */
    if (!in || !acts || !logits || !in->data) {
        msg(errbuf, errbuf_size, "analytic: forward given a NULL pointer");
        return EGCAM_E_BACKEND;
    }
    if (in->ndim != 4 || in->shape[0] < 1 || in->shape[1] != d->C || in->shape[2] != d->H ||
        in->shape[3] != d->W) {
        msg(errbuf, errbuf_size,
            "analytic: forward expects inputs [N>=1, %u, %u, %u], got ndim %u "
            "[%lld, %lld, %lld, %lld]",
            d->C, d->H, d->W, in->ndim, (long long)in->shape[0], (long long)in->shape[1],
            (long long)in->shape[2], (long long)in->shape[3]);
        return EGCAM_E_BACKEND;
    }
    if (flags & ~(EGCAM_FORWARD_FOR_BACKWARD | EGCAM_FORWARD_ACTIVATIONS_ONLY) ||
        (flags & EGCAM_FORWARD_FOR_BACKWARD && flags & EGCAM_FORWARD_ACTIVATIONS_ONLY)) {
        msg(errbuf, errbuf_size, "analytic: unknown forward flags 0x%x", flags);
        return EGCAM_E_BACKEND;
    }
    if (countdown(&m->fail_fwd)) {
        msg(errbuf, errbuf_size, ANALYTIC_FORWARD_FAILURE " (call %llu)",
            (unsigned long long)m->cnt.forward_calls);
        return EGCAM_E_BACKEND;
    }
    if (in->shape[0] > 1 << 24) {
        msg(errbuf, errbuf_size, "analytic: batch of %lld rows is absurd", (long long)in->shape[0]);
        return EGCAM_E_BACKEND;
    }
    const uint32_t N = (uint32_t)in->shape[0];
    if (reserve(m, N) != 0) {
        msg(errbuf, errbuf_size, "analytic: out of memory for %u rows", N);
        return EGCAM_E_OUT_OF_MEMORY;
    }
    const size_t n = act_size(m);
    double *A = malloc(n * sizeof *A), *y = malloc(d->L * sizeof *y);
    if (!A || !y) {
        free(A);
        free(y);
        msg(errbuf, errbuf_size, "analytic: out of memory");
        return EGCAM_E_OUT_OF_MEMORY;
    }
    for (uint32_t r = 0; r < N; r++) {
        acts_of(m, in->data + r * in_size(m), A);
        logits_of_acts(m, A, y);
        channel_sums(m, A, m->S + (size_t)r * d->K);
        for (size_t e = 0; e < n; e++)
            m->acts[r * n + e] = (float)A[e];
        for (uint32_t l = 0; l < d->L; l++)
            m->logits[(size_t)r * d->L + l] = (float)y[l];
    }
    free(A);
    free(y);

    const int grad = (flags & EGCAM_FORWARD_FOR_BACKWARD) != 0;
    m->rows = N;
    m->can_backward = grad;
    m->cnt.last_forward_flags = flags;
    if (grad)
        m->cnt.forward_rows_grad += N;
    else
        m->cnt.forward_rows_nograd += N;
    if (flags & EGCAM_FORWARD_ACTIVATIONS_ONLY)
        m->cnt.forward_rows_acts_only += N;
    if (N > m->cnt.max_forward_rows)
        m->cnt.max_forward_rows = N;

    *acts = (egcam_tensor){m->acts, {N, d->K, d->h, d->w}, 4, 0};
    *logits = (egcam_tensor){m->logits, {N, d->L, 0, 0}, 2, 0};
    if (flags & EGCAM_FORWARD_ACTIVATIONS_ONLY) /* none asked for: none given */
        *logits = (egcam_tensor){0};
    if (corrupt_now(m, 1)) {
        switch (m->corrupt) {
        case ANALYTIC_CORRUPT_NAN_ACTIVATION: m->acts[0] = NAN; break;
        case ANALYTIC_CORRUPT_INF_LOGIT: m->logits[0] = INFINITY; break;
        case ANALYTIC_CORRUPT_ACT_ROWS: acts->shape[0] = N + 1; break;
        case ANALYTIC_CORRUPT_ACT_CHANNELS:
            /* Claim K+1 channels over the same rows: fits in (N+1)*K*h*w
             * floats only while K+1 <= K*(N+1)/N, so shrink rows if needed. */
            acts->shape[1] = d->K + 1;
            if ((size_t)N * (d->K + 1) > (size_t)(N + 1) * d->K)
                acts->shape[0] = 1;
            break;
        case ANALYTIC_CORRUPT_ACT_NDIM: acts->ndim = 3; break;
        case ANALYTIC_CORRUPT_LOGIT_ROWS: logits->shape[0] = N + 1; break;
        case ANALYTIC_CORRUPT_NULL_DATA: acts->data = NULL; break;
        case ANALYTIC_CORRUPT_ACT_EMPTY: acts->shape[2] = 0; break;
        case ANALYTIC_CORRUPT_LOGIT_CLASSES: logits->shape[1] = d->L - 1; break;
        default: break;
        }
    }
    return EGCAM_OK;
}

static egcam_status backward_of(analytic_model *m, const float *seed, int retain,
                                egcam_tensor *grad, char *errbuf, size_t errbuf_size);

/* Version 1: one backward per forward, as the ABI promises; a second one is
 * refused, so a test sees the engine forward again instead. */
static egcam_status backward_slot(void *self, const float *seed, egcam_tensor *grad, char *errbuf,
                                  size_t errbuf_size)
{
    return backward_of(self, seed, 0, grad, errbuf, errbuf_size);
}

/* Version 2: the state kept while EGCAM_BACKWARD_RETAIN says more follow. */
static egcam_status backward_retain_slot(void *self, const float *seed, uint32_t flags,
                                         egcam_tensor *grad, char *errbuf, size_t errbuf_size)
{
    analytic_model *m = self;
    if (flags & ~EGCAM_BACKWARD_RETAIN) {
        msg(errbuf, errbuf_size, "analytic: backward_retain given unknown flags 0x%x", flags);
        return EGCAM_E_BACKEND;
    }
    if (flags & EGCAM_BACKWARD_RETAIN)
        m->cnt.backward_retained++;
    return backward_of(m, seed, (flags & EGCAM_BACKWARD_RETAIN) != 0, grad, errbuf, errbuf_size);
}

static egcam_status backward_of(analytic_model *m, const float *seed, int retain,
                                egcam_tensor *grad, char *errbuf, size_t errbuf_size)
{
    const analytic_shape *d = &m->d;
    m->cnt.backward_calls++;
    if (!seed || !grad) {
        msg(errbuf, errbuf_size, "analytic: backward given a NULL pointer");
        return EGCAM_E_BACKEND;
    }
    if (!m->can_backward) {
        msg(errbuf, errbuf_size, ANALYTIC_NO_FORWARD);
        return EGCAM_E_BACKEND;
    }
    if (countdown(&m->fail_bwd)) {
        msg(errbuf, errbuf_size, ANALYTIC_BACKWARD_FAILURE " (call %llu)",
            (unsigned long long)m->cnt.backward_calls);
        return EGCAM_E_BACKEND;
    }
    const size_t n = act_size(m);
    double *sd = malloc(d->L * sizeof *sd), *G = malloc(n * sizeof *G);
    if (!sd || !G) {
        free(sd);
        free(G);
        msg(errbuf, errbuf_size, "analytic: out of memory");
        return EGCAM_E_OUT_OF_MEMORY;
    }
    for (uint32_t r = 0; r < m->rows; r++) {
        for (uint32_t l = 0; l < d->L; l++)
            sd[l] = seed[(size_t)r * d->L + l];
        grad_of_sums(m, m->S + (size_t)r * d->K, sd, G);
        for (size_t e = 0; e < n; e++)
            m->grad[r * n + e] = (float)G[e];
    }
    free(sd);
    free(G);
    memcpy(m->seed, seed, (size_t)m->rows * d->L * sizeof *seed);
    m->can_backward = retain;
    m->have_seed = 1;
    m->seed_rows = m->rows;
    m->cnt.backward_rows += m->rows;

    *grad = (egcam_tensor){m->grad, {m->rows, d->K, d->h, d->w}, 4, 0};
    if (corrupt_now(m, 0)) {
        if (m->corrupt == ANALYTIC_CORRUPT_NAN_GRADIENT)
            m->grad[0] = NAN;
        else if (m->corrupt == ANALYTIC_CORRUPT_GRAD_ROWS)
            grad->shape[0] = m->rows + 1;
        else if (m->corrupt == ANALYTIC_CORRUPT_ZERO_GRADIENT)
            memset(m->grad, 0, (size_t)m->rows * n * sizeof *m->grad);
    }
    return EGCAM_OK;
}

static const egcam_backend_ops ops = {
    .abi_version = EGCAM_BACKEND_ABI_VERSION,
    .struct_size = sizeof(egcam_backend_ops),
    .name = "analytic",
    .forward = forward_slot,
    .backward = backward_slot,
    .release = release_slot,
    .backward_retain = backward_retain_slot,
};

const egcam_backend_ops *analytic_ops(void) { return &ops; }

static const egcam_backend_ops ops_activations_only = {
    .abi_version = EGCAM_BACKEND_ABI_VERSION,
    .struct_size = sizeof(egcam_backend_ops),
    .name = "analytic",
    .forward = forward_slot,
    .backward = backward_slot,
    .release = release_slot,
    .backward_retain = backward_retain_slot,
    .forward_flags = EGCAM_FORWARD_ACTIVATIONS_ONLY,
};

const egcam_backend_ops *analytic_ops_activations_only(void) { return &ops_activations_only; }

egcam_status analytic_wrap(egcam_ctx *ctx, analytic_model *m, egcam_backend **out)
{
    egcam_status st = egcam_backend_new(ctx, &ops, m, out);
    if (st != EGCAM_OK) {
        m->release_flag = NULL; /* not a release by the library */
        analytic_free(m);
    }
    return st;
}

/* ---- accessors, counters, injection -------------------------------------- */

analytic_shape analytic_get_shape(const analytic_model *m) { return m->d; }

void analytic_params(const analytic_model *m, const double **P, const double **q, const double **V,
                     const double **u, const double **b)
{
    if (P)
        *P = m->P;
    if (q)
        *q = m->q;
    if (V)
        *V = m->V;
    if (u)
        *u = m->u;
    if (b)
        *b = m->b;
}

void analytic_params_cubic(const analytic_model *m, const double **t)
{
    if (t)
        *t = m->t;
}

void analytic_set_release_counter(analytic_model *m, int *flag) { m->release_flag = flag; }

analytic_counters analytic_get_counters(const analytic_model *m) { return m->cnt; }

void analytic_reset_counters(analytic_model *m) { memset(&m->cnt, 0, sizeof m->cnt); }

int analytic_last_seed(const analytic_model *m, uint32_t row, float *out)
{
    if (!m->have_seed || row >= m->seed_rows)
        return -1;
    memcpy(out, m->seed + (size_t)row * m->d.L, m->d.L * sizeof *out);
    return 0;
}

void analytic_fail_forward(analytic_model *m, uint32_t n) { m->fail_fwd = n; }
void analytic_fail_backward(analytic_model *m, uint32_t n) { m->fail_bwd = n; }

void analytic_corrupt(analytic_model *m, analytic_corruption mode, uint32_t n)
{
    m->corrupt = mode;
    m->corrupt_wait = n > 1 ? n - 1 : 0;
}

/* ---- closed forms -------------------------------------------------------- */

void analytic_activations(const analytic_model *m, const float *x, double *A) { acts_of(m, x, A); }

void analytic_logits(const analytic_model *m, const float *x, double *y)
{
    double *A = malloc(act_size(m) * sizeof *A);
    acts_of(m, x, A);
    logits_of_acts(m, A, y);
    free(A);
}

double analytic_seeded_logit(const analytic_model *m, const float *x, const double *seed)
{
    double *y = malloc(m->d.L * sizeof *y), v = 0;
    analytic_logits(m, x, y);
    for (uint32_t l = 0; l < m->d.L; l++)
        v += seed[l] * y[l];
    free(y);
    return v;
}

int analytic_argmax(const analytic_model *m, const float *x)
{
    double *y = malloc(m->d.L * sizeof *y);
    analytic_logits(m, x, y);
    int best = 0;
    for (uint32_t l = 1; l < m->d.L; l++)
        if (y[l] > y[best])
            best = (int)l;
    free(y);
    return best;
}

void analytic_onehot(const analytic_model *m, int cls, double *seed)
{
    for (uint32_t l = 0; l < m->d.L; l++)
        seed[l] = (int)l == cls ? 1.0 : 0.0;
}

void analytic_gradient(const analytic_model *m, const float *x, const double *seed, double *G)
{
    double *A = malloc(act_size(m) * sizeof *A), *S = malloc(m->d.K * sizeof *S);
    acts_of(m, x, A);
    channel_sums(m, A, S);
    grad_of_sums(m, S, seed, G);
    free(A);
    free(S);
}

double analytic_sigma(const analytic_model *m, const float *x, double noise_level)
{
    double lo = x[0], hi = x[0];
    for (size_t i = 1; i < in_size(m); i++) {
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
    }
    return noise_level * (hi - lo);
}

void analytic_layer_map(const analytic_model *m, const float *x, const double *weights, double *map)
{
    const size_t hw = (size_t)m->d.h * m->d.w;
    double *A = malloc(act_size(m) * sizeof *A);
    acts_of(m, x, A);
    for (size_t p = 0; p < hw; p++) {
        double v = 0;
        for (uint32_t k = 0; k < m->d.K; k++)
            v += weights[k] * A[k * hw + p];
        map[p] = v > 0 ? v : 0;
    }
    free(A);
}

int analytic_rule(uint32_t rule, uint32_t M, double *alpha, double *omega)
{
    if (M == 0 || (rule == EGCAM_RULE_TRAPEZOID && M < 2))
        return -1;
    for (uint32_t i = 0; i < M; i++) {
        switch (rule) {
        case EGCAM_RULE_MIDPOINT:
            alpha[i] = (i + 0.5) / M;
            omega[i] = 1.0 / M;
            break;
        case EGCAM_RULE_LEFT:
            alpha[i] = (double)i / M;
            omega[i] = 1.0 / M;
            break;
        case EGCAM_RULE_RIGHT:
            alpha[i] = (i + 1.0) / M;
            omega[i] = 1.0 / M;
            break;
        case EGCAM_RULE_TRAPEZOID:
            alpha[i] = (double)i / (M - 1);
            omega[i] = (i == 0 || i == M - 1) ? 0.5 / (M - 1) : 1.0 / (M - 1);
            break;
        default: return -1;
        }
    }
    return 0;
}

/* weights = GAP(attr); returns sum(attr). */
static double pool(const analytic_model *m, const double *attr, double *weights)
{
    const size_t hw = (size_t)m->d.h * m->d.w;
    double total = 0;
    for (uint32_t k = 0; k < m->d.K; k++) {
        double sum = 0;
        for (size_t p = 0; p < hw; p++)
            sum += attr[k * hw + p];
        weights[k] = sum / (double)hw;
        total += sum;
    }
    return total;
}

double analytic_gradcam(const analytic_model *m, const float *x, const double *seed, double *grad,
                        double *weights)
{
    const size_t n = act_size(m), hw = (size_t)m->d.h * m->d.w;
    double *A = malloc(n * sizeof *A), *G = grad ? grad : malloc(n * sizeof *G);
    acts_of(m, x, A);
    analytic_gradient(m, x, seed, G);
    double total = 0;
    for (size_t e = 0; e < n; e++)
        total += A[e] * G[e];
    for (uint32_t k = 0; k < m->d.K; k++) {
        double sum = 0;
        for (size_t p = 0; p < hw; p++)
            sum += G[k * hw + p];
        weights[k] = sum / (double)hw;
    }
    free(A);
    if (G != grad)
        free(G);
    return total;
}

/* Seeded parameters: Vs = sum_l s_l V_l (K*h*w), us = sum_l s_l u_l (K),
 * ts = sum_l s_l t_l (K). */
static void seeded(const analytic_model *m, const double *seed, double *Vs, double *us, double *ts)
{
    const size_t n = act_size(m);
    for (size_t e = 0; e < n; e++) {
        Vs[e] = 0;
        for (uint32_t l = 0; l < m->d.L; l++)
            Vs[e] += seed[l] * m->V[l * n + e];
    }
    for (uint32_t k = 0; k < m->d.K; k++) {
        us[k] = ts[k] = 0;
        for (uint32_t l = 0; l < m->d.L; l++) {
            us[k] += seed[l] * m->u[l * m->d.K + k];
            ts[k] += seed[l] * m->t[l * m->d.K + k];
        }
    }
}

/*
 * Integrated Grad-CAM. z_m = b + alpha_m (x - b) and A is affine, so
 * A(z_m) = A(b) + alpha_m D with D = A(x) - A(b), S(z_m) = S_b + alpha_m dS,
 * and G(z_m) = Vs + us (S_b + alpha_m dS) + ts/2 (S_b + alpha_m dS)^2 is a
 * quadratic in alpha_m. A rule therefore enters only through its moments
 *   W0 = sum omega_m,  W1 = sum omega_m alpha_m,  W2 = sum omega_m alpha_m^2:
 *   sum_m omega_m G(z_m) = W0 Vs + us (W0 S_b + W1 dS)
 *                          + ts/2 (W0 S_b^2 + 2 W1 S_b dS + W2 dS^2).
 * The exact path integral is W = (1, 1/2, 1/3), and its completeness is
 * y(x) - y(b) = sum D.Vs + sum_k [us_k/2 (S_x^2 - S_b^2) + ts_k/6 (S_x^3 - S_b^3)].
 * Every rule has W0 = 1; W1 = 1/2 (midpoint, trapezoid), 1/2 -/+ 1/(2M)
 * (left/right); W2 = 1/3 - 1/(12 M^2) (midpoint), 1/3 + 1/(6 (M-1)^2)
 * (trapezoid), 1/3 -/+ 1/(2M) + 1/(6 M^2) (left/right). A rule's completeness
 * is y(x) - y(b) + sum_k dS_k^2 (W1 - 1/2)(us_k + ts_k S_b,k)
 *                + sum_k ts_k/2 dS_k^3 (W2 - 1/3):
 * exact for no rule; midpoint is off by -sum_k ts_k dS_k^3 / (24 M^2).
 */
double analytic_integrated_nodes(const analytic_model *m, const float *x, const float *b,
                                 uint32_t M, const double *alpha, const double *omega,
                                 const double *seed, double *attr, double *weights)
{
    const size_t n = act_size(m), hw = (size_t)m->d.h * m->d.w;
    const uint32_t K = m->d.K;
    double W0 = 0, W1 = 0, W2 = 0;
    for (uint32_t i = 0; i < M; i++) {
        W0 += omega[i];
        W1 += omega[i] * alpha[i];
        W2 += omega[i] * alpha[i] * alpha[i];
    }
    double *Ax = malloc(n * sizeof *Ax), *Ab = calloc(n, sizeof *Ab);
    double *Vs = malloc(n * sizeof *Vs), *us = malloc(K * sizeof *us);
    double *ts = malloc(K * sizeof *ts);
    double *Sx = malloc(K * sizeof *Sx), *Sb = malloc(K * sizeof *Sb);
    double *T = attr ? attr : malloc(n * sizeof *T);
    acts_of(m, x, Ax);
    if (b) {
        acts_of(m, b, Ab);
    } else {
        float *zero = calloc(in_size(m), sizeof *zero);
        acts_of(m, zero, Ab);
        free(zero);
    }
    channel_sums(m, Ax, Sx);
    channel_sums(m, Ab, Sb);
    seeded(m, seed, Vs, us, ts);
    for (size_t e = 0; e < n; e++) {
        const size_t k = e / hw;
        const double dS = Sx[k] - Sb[k];
        const double Gbar = W0 * Vs[e] + us[k] * (W0 * Sb[k] + W1 * dS) +
                            0.5 * ts[k] * (W0 * Sb[k] * Sb[k] + 2 * W1 * Sb[k] * dS + W2 * dS * dS);
        T[e] = (Ax[e] - Ab[e]) * Gbar;
    }
    const double total = pool(m, T, weights);
    free(Ax);
    free(Ab);
    free(Vs);
    free(us);
    free(ts);
    free(Sx);
    free(Sb);
    if (T != attr)
        free(T);
    return total;
}

double analytic_integrated(const analytic_model *m, const float *x, const float *b, uint32_t rule,
                           uint32_t M, const double *seed, double *attr, double *weights)
{
    double *alpha = malloc((M ? M : 1) * sizeof *alpha);
    double *omega = malloc((M ? M : 1) * sizeof *omega);
    double total = NAN;
    if (analytic_rule(rule, M, alpha, omega) == 0)
        total = analytic_integrated_nodes(m, x, b, M, alpha, omega, seed, attr, weights);
    free(alpha);
    free(omega);
    return total;
}

/*
 * Expected Grad-CAM. Per sample a reference r (uniform over the set), alpha
 * and eps ~ N(0, sigma^2 I), all independent. With D_r = A(x) - A(x'_r),
 * S_r = S(x'_r), dS_r = S(x) - S_r, e = the linear part of A applied to eps
 * (e_kij = sum_c P_kc s^-2 sum_{p in block ij} eps_cp, mean 0), E_k = sum_ij e_kij:
 *   A(x + eps) - A(x'_r) = D_r + e,
 *   S(z)_k = B_k + alpha E_k,   B_k = S_r,k + alpha dS_r,k,
 *   G(z)_kij = Vs_kij + us_k S(z)_k + ts_k/2 S(z)_k^2.
 * e and E are jointly Gaussian with mean 0; the blocks are disjoint, so
 *   E[e_kij e_ki'j'] = delta_ii' delta_jj' c_k,   c_k = sigma^2/s^2 sum_c P_kc^2,
 *   E[e_kij E_k] = c_k,   E[E_k^2] = v_k = hw c_k,   E[e_kij E_k^2] = 0 (odd).
 * Over eps, for fixed r and alpha:
 *   E[D_r G] = D_r (Vs + us B + ts/2 (B^2 + alpha^2 v)),
 *   E[e G]   = us alpha c + ts/2 (2 B alpha c + alpha^2 E[e E^2]) = alpha c (us + ts B).
 * Over alpha, with a1 = E alpha and a2 = E alpha^2 (1/2 and 1/3 for U(0, 1);
 * no higher moment appears):
 *   E[attr_kij] = mean_r D_r,kij (Vs + us (S_r + a1 dS_r)
 *                       + ts/2 (S_r^2 + 2 a1 S_r dS_r + a2 (dS_r^2 + v)))
 *               + mean_r c_k (a1 us + ts (a1 S_r + a2 dS_r)).
 * The clean difference drops e from the first factor, so the second line goes;
 * G is still taken at the noisy point, so v stays in the first.
 * Completeness (noisy, U(0, 1)): mean_r (E y(x + eps) - y(x'_r)), where
 * E y(x + eps) = y(x) + sum_k v_k (us_k + ts_k S_x,k) / 2 (Gaussian moments).
 */
double analytic_expected_moments(const analytic_model *m, const float *x, const float *refs,
                                 uint32_t R, double sigma, int clean, double a1, double a2,
                                 const double *seed, double *attr, double *weights)
{
    const size_t n = act_size(m), hw = (size_t)m->d.h * m->d.w;
    const uint32_t K = m->d.K, s = m->d.s;
    double *Ax = malloc(n * sizeof *Ax), *Ar = malloc(n * sizeof *Ar);
    double *Vs = malloc(n * sizeof *Vs), *us = malloc(K * sizeof *us);
    double *ts = malloc(K * sizeof *ts), *c = malloc(K * sizeof *c);
    double *Sx = malloc(K * sizeof *Sx), *Sr = malloc(K * sizeof *Sr);
    double *T = attr ? attr : malloc(n * sizeof *T);
    float *zero = refs ? NULL : calloc(in_size(m), sizeof *zero);
    if (!refs)
        R = 1;
    acts_of(m, x, Ax);
    channel_sums(m, Ax, Sx);
    seeded(m, seed, Vs, us, ts);
    for (uint32_t k = 0; k < K; k++) {
        double p2 = 0;
        for (uint32_t ch = 0; ch < m->d.C; ch++)
            p2 += m->P[k * m->d.C + ch] * m->P[k * m->d.C + ch];
        c[k] = sigma * sigma / ((double)s * s) * p2;
    }
    for (size_t e = 0; e < n; e++)
        T[e] = 0;
    for (uint32_t r = 0; r < R; r++) {
        acts_of(m, refs ? refs + r * in_size(m) : zero, Ar);
        channel_sums(m, Ar, Sr);
        for (size_t e = 0; e < n; e++) {
            const size_t k = e / hw;
            const double S0 = Sr[k], dS = Sx[k] - Sr[k], v = (double)hw * c[k];
            const double G = Vs[e] + us[k] * (S0 + a1 * dS) +
                             0.5 * ts[k] * (S0 * S0 + 2 * a1 * S0 * dS + a2 * (dS * dS + v));
            T[e] += (Ax[e] - Ar[e]) * G / R;
            if (!clean)
                T[e] += c[k] * (a1 * us[k] + ts[k] * (a1 * S0 + a2 * dS)) / R;
        }
    }
    const double total = pool(m, T, weights);
    free(Ax);
    free(Ar);
    free(Vs);
    free(us);
    free(ts);
    free(c);
    free(Sx);
    free(Sr);
    free(zero);
    if (T != attr)
        free(T);
    return total;
}

double analytic_expected(const analytic_model *m, const float *x, const float *refs, uint32_t R,
                         double sigma, int clean, const double *seed, double *attr, double *weights)
{
    return analytic_expected_moments(m, x, refs, R, sigma, clean, 0.5, 1.0 / 3.0, seed, attr,
                                     weights);
}

void analytic_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    uint64_t st = seed ^ 0x5eed5eed5eedull;
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)(0.5 * (unit(&st) + 1.0));
}
