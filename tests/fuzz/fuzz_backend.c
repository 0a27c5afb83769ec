/*
 * fuzz_backend.c - the backend ABI: egcam_backend_new() with a fuzzed table
 * header, then a fake backend whose forward and backward hand back what the
 * fuzzer chooses (statuses, messages, ranks, row counts, dimensions, NULL
 * data, NaNs and infinities) to egcam_explain(), egcam_refset_new(),
 * egcam_backend_forward() and egcam_backend_backward(). lib/core/backend.c checks
 * what backends return; this harness checks the checks.
 *
 * The contract the fake keeps (docs/backend-authoring.md, egcam_backend.h):
 * a view it claims to be valid is backed by memory of the size its shape
 * says, until its next call (then it is freed, so that a library holding a
 * stale view shows under ASan). A backend that hands back a plausible shape
 * without the memory behind it lies, and no library can defend against
 * that, so the fake never does: a claim that the library must accept (the
 * rank and rows asked for, every dimension positive and within the
 * library's limits) is shrunk to at most CAP floats and backed. Every other
 * claim (a wrong rank or row count, a dimension <= 0, above 2^30 or a
 * product above 2^40 elements, NULL data) is one the library promises to
 * refuse without reading it; it gets a single float, or NULL.
 *
 * Oracles, beyond ASan/UBSan/LSan:
 *  - egcam_backend_new() succeeds exactly for abi_version 1..current,
 *    struct_size >= version 1's, forward and backward set; it never calls
 *    release on failure; the table need not outlive the call (it is freed
 *    right after);
 *  - egcam_backend_forward() succeeds exactly when its arguments are valid
 *    and the backend returned EGCAM_OK with claims the library must accept,
 *    and then returns those shapes and pointers;
 *  - egcam_backend_backward() succeeds exactly when the last call that
 *    reached the backend was a successful egcam_backend_forward() with
 *    EGCAM_FORWARD_FOR_BACKWARD (never a forward of egcam_explain() or
 *    egcam_refset_new()) and the backend's gradient matches it; when there
 *    is no such forward the backend is not called at all;
 *  - egcam_explain() succeeds only when every call of the backend in it
 *    succeeded with claims that agree with each other, and its result is
 *    finite with maps of the right sizes;
 *  - the library calls forward with a well-formed input it really holds
 *    (every float is read) and calls backward only after a forward made
 *    with EGCAM_FORWARD_FOR_BACKWARD that it accepted, at most once, with
 *    a seed of rows x logits floats (read in full); errbuf holds >= 256
 *    bytes; a failing call leaves a message in the ctx.
 *
 * Input: 3 bytes for the table header, 7 for the shapes, then up to 6
 * operations, each followed by the backend's answers as it is called.
 */
#include "fuzz_common.h"

#include <egcam/egcam.h>
#include <egcam/egcam_backend.h>

#define CAP ((uint64_t)1 << 16)              /* floats the fake backs in one view */
#define LIB_MAX_DIM ((int64_t)1 << 30)       /* lib/core/backend.c: check_rows */
#define LIB_MAX_ELEMENTS ((uint64_t)1 << 40) /* lib/core/internal.h: egcam__count */
#define OPS_V1_SIZE (offsetof(egcam_backend_ops, release) + sizeof(void (*)(void *)))

typedef struct fake {
    fuzz_reader *r;
    uint32_t C, H, W;   /* the input shape every caller here uses */
    int64_t K, h, w, L; /* what it claims unless told otherwise */
    float *views[3];    /* activations, logits, gradient of the last call */
    uint64_t calls;
    int release_calls;

    /* The last forward, as the backend saw it. */
    int64_t rows;
    int64_t last_L;   /* logits per row it claimed (when `accepted`) */
    int accepted;     /* it returned OK with claims the library must take */
    int can_backward; /* ... and had FOR_BACKWARD, and no backward since */

    /* Since the last mark: a failure or a refusable claim, and whether the
     * accepted claims agreed (an explanation must then fail). */
    int bad;
    int known;
    int64_t dims[4]; /* K, h, w, L of the first accepted claims */
    int64_t last[4]; /* of the last accepted claims */
} fake;

static void mark(fake *f)
{
    f->bad = 0;
    f->known = 0;
}

static void drop_views(fake *f)
{
    for (int i = 0; i < 3; i++) {
        free(f->views[i]);
        f->views[i] = NULL;
    }
}

/* Record accepted dimensions (K, h, w, L; L < 0: not given) and flag a
 * disagreement with the first ones since the mark. */
static void agree(fake *f, const int64_t d[4])
{
    if (!f->known) {
        memcpy(f->dims, d, sizeof f->dims);
        f->known = 1;
    }
    for (int i = 0; i < 4; i++)
        if (d[i] >= 0 && d[i] != f->dims[i])
            f->bad = 1;
}

/* Fill n floats after a fill byte. */
static void fill(fuzz_reader *r, float *v, uint64_t n)
{
    uint8_t mode = fuzz_u8(r);
    uint64_t at = fuzz_u8(r) % n;
    for (uint64_t i = 0; i < n; i++)
        v[i] = (float)((int)((i * 2654435761u + mode) % 2001) - 1000) / 500.0f;
    switch (mode % 12) {
    case 4: memset(v, 0, n * sizeof *v); break;
    case 5: v[at] = NAN; break;
    case 6: v[at] = INFINITY; break;
    case 7: v[at] = -INFINITY; break;
    case 8:
        for (uint64_t i = 0; i < n; i++)
            v[i] = 3e38f;
        break;
    case 9:
        for (uint64_t i = 0; i < n; i++)
            v[i] = i % 2 ? 3e38f : -3e38f;
        break;
    case 10:
        for (uint64_t i = 0; i < n; i++)
            v[i] = (i % 2 ? 1e-45f : -1e-45f);
        break;
    case 11:
        for (uint64_t i = 0; i < n && i < 8; i++)
            v[i] = fuzz_float_bits(r);
        break;
    default: break;
    }
}

static const int64_t odd_dims[] = {0,
                                   -1,
                                   INT64_MIN,
                                   INT64_MAX,
                                   LIB_MAX_DIM,
                                   LIB_MAX_DIM + 1,
                                   (int64_t)1 << 31,
                                   (int64_t)1 << 20,
                                   (int64_t)1 << 21,
                                   (int64_t)1 << 40,
                                   5,
                                   2};

/* Make the tensor the fake hands back for `rows` rows of `ndim` dimensions
 * whose honest trailing dimensions are dims[0..ndim-2]; slot picks the
 * view. Returns 1 when the claim is one the library must accept (then
 * acc[0..ndim-2] are its trailing dimensions), 0 when it must refuse it. */
static int claim(fake *f, int slot, egcam_tensor *t, uint32_t ndim, int64_t rows,
                 const int64_t *dims, int64_t *acc)
{
    fuzz_reader *r = f->r;
    int64_t shape[4] = {rows, 0, 0, 0};
    for (uint32_t i = 1; i < ndim; i++)
        shape[i] = dims[i - 1];
    uint32_t nd = ndim;
    int null_data = 0;
    uint8_t kind = fuzz_u8(r);
    uint32_t i = 1 + (uint32_t)(fuzz_u8(r) % (ndim - 1));
    switch (kind % 16) {
    case 8: /* another rank */ nd = kind >= 248 ? UINT32_MAX : fuzz_u8(r) % 6; break;
    case 9: /* other rows */
        shape[0] = kind >= 128 ? rows + 1 : kind >= 64 ? rows - 1 : odd_dims[kind % 12];
        break;
    case 10: /* an odd dimension */ shape[i] = odd_dims[fuzz_u8(r) % 12]; break;
    case 11: null_data = 1; break;
    case 12: /* a plausible change: the shapes then disagree between calls */
        shape[i] += kind >= 128 ? 1 : -1;
        break;
    case 13: /* any numbers at all */
        for (uint32_t k = 0; k < 4; k++)
            shape[k] = (int64_t)fuzz_u64(r);
        nd = fuzz_u8(r) % 6;
        break;
    case 14: /* a large but possible layer: more than the fake can back */
        shape[i] = (int64_t)1 << (10 + fuzz_u8(r) % 20);
        break;
    default: /* honest */ break;
    }

    int must_accept = nd == ndim && shape[0] == rows && !null_data;
    uint64_t count = (uint64_t)rows;
    for (uint32_t k = 1; must_accept && k < ndim; k++) {
        if (shape[k] <= 0 || shape[k] > LIB_MAX_DIM)
            must_accept = 0;
        else if ((uint64_t)shape[k] > LIB_MAX_ELEMENTS / count)
            must_accept = 0;
        else
            count *= (uint64_t)shape[k];
    }
    if (must_accept && count > CAP) { /* cannot back it: keep it small */
        count = (uint64_t)rows;
        for (uint32_t k = 1; k < ndim; k++) {
            shape[k] = 1 + shape[k] % 4;
            count *= (uint64_t)shape[k];
        }
    }
    float *v = NULL;
    if (!null_data) {
        v = malloc((must_accept ? count : 1) * sizeof *v);
        if (!v)
            abort();
        fill(r, v, must_accept ? count : 1);
    }
    f->views[slot] = v;
    *t = (egcam_tensor){v, {shape[0], shape[1], shape[2], shape[3]}, nd, 0};
    for (uint32_t k = 1; must_accept && k < ndim; k++)
        acc[k - 1] = shape[k];
    return must_accept;
}

/* The backend's status for this call: EGCAM_OK, or a failure with a
 * message (written as the contract allows, or filling errbuf without a
 * terminating NUL, which libegcam guards against anyway). */
static egcam_status answer(fake *f, char *errbuf, size_t errbuf_size)
{
    static const int failures[8] = {EGCAM_E_BACKEND,
                                    EGCAM_E_OUT_OF_MEMORY,
                                    EGCAM_E_INVALID_ARGUMENT,
                                    EGCAM_E_CANCELLED,
                                    17,
                                    1000,
                                    -1,
                                    0x7fffffff};
    FUZZ_CHECK(errbuf && errbuf_size >= 256);
    uint8_t b = fuzz_u8(f->r);
    if (b < 224)
        return EGCAM_OK;
    switch ((b >> 3) & 3) {
    case 0: break;
    case 1: snprintf(errbuf, errbuf_size, "fake: failure %u", b); break;
    case 2: memset(errbuf, 'x', errbuf_size); break;
    default: memset(errbuf, 0xff, errbuf_size); break;
    }
    return (egcam_status)failures[b & 7];
}

static egcam_status fake_forward(void *self, const egcam_tensor *in, uint32_t flags,
                                 egcam_tensor *acts, egcam_tensor *logits, char *errbuf,
                                 size_t errbuf_size)
{
    fake *f = self;
    drop_views(f);
    f->calls++;
    f->can_backward = 0;
    f->accepted = 0;
    /* What libegcam promises a backend. */
    FUZZ_CHECK(in && acts && logits && in->data && in->ndim == 4 && in->reserved == 0);
    FUZZ_CHECK(in->shape[0] >= 1 && in->shape[0] <= 64);
    FUZZ_CHECK(in->shape[1] == f->C && in->shape[2] == f->H && in->shape[3] == f->W);
    FUZZ_CHECK((flags & ~EGCAM_FORWARD_FOR_BACKWARD) == 0);
    size_t n = (size_t)in->shape[0] * f->C * f->H * f->W;
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++)
        sum += in->data[i];
    volatile float sink = sum;
    (void)sink;

    f->rows = in->shape[0];
    egcam_status st = answer(f, errbuf, errbuf_size);
    if (st != EGCAM_OK) {
        f->bad = 1;
        return st;
    }
    int64_t act_dims[3] = {f->K, f->h, f->w}, logit_dims[1] = {f->L};
    int64_t a[3] = {0}, l[1] = {0};
    int ok = claim(f, 0, acts, 4, f->rows, act_dims, a);
    ok = claim(f, 1, logits, 2, f->rows, logit_dims, l) && ok;
    if (!ok) {
        f->bad = 1;
        return EGCAM_OK;
    }
    int64_t d[4] = {a[0], a[1], a[2], l[0]};
    agree(f, d);
    memcpy(f->last, d, sizeof d);
    f->last_L = l[0];
    f->accepted = 1;
    f->can_backward = (flags & EGCAM_FORWARD_FOR_BACKWARD) != 0;
    return EGCAM_OK;
}

static egcam_status fake_backward(void *self, const float *seed, egcam_tensor *grad, char *errbuf,
                                  size_t errbuf_size)
{
    fake *f = self;
    drop_views(f);
    f->calls++;
    /* libegcam calls backward once per forward for backward that it
     * accepted, with a seed of rows x L floats. */
    FUZZ_CHECK(f->can_backward);
    f->can_backward = 0;
    FUZZ_CHECK(seed && grad);
    float sum = 0.0f;
    for (size_t i = 0; i < (size_t)f->rows * (size_t)f->last_L; i++)
        sum += seed[i];
    volatile float sink = sum;
    (void)sink;

    egcam_status st = answer(f, errbuf, errbuf_size);
    if (st != EGCAM_OK) {
        f->bad = 1;
        return st;
    }
    int64_t dims[3] = {f->last[0], f->last[1], f->last[2]};
    int64_t g[3] = {0};
    if (!claim(f, 2, grad, 4, f->rows, dims, g)) {
        f->bad = 1;
        return EGCAM_OK;
    }
    int64_t d[4] = {g[0], g[1], g[2], -1};
    agree(f, d);
    return EGCAM_OK;
}

static void fake_release(void *self)
{
    fake *f = self;
    f->release_calls++;
    drop_views(f);
}

/* ---- the operations ----------------------------------------------------- */

typedef struct harness {
    fuzz_reader *r;
    egcam_ctx *ctx;
    egcam_backend *be;
    fake *f;
    /* The last successful egcam_backend_forward() for backward, when it
     * was the last call that reached the backend. */
    int pending;
    int pending_new; /* the operation just made it */
    int64_t p_rows, p_act[3], p_L;
} harness;

/* rows inputs of the fake's shape, values from one byte each. */
static float *inputs(harness *hs, size_t rows)
{
    size_t n = rows * hs->f->C * hs->f->H * hs->f->W;
    float *x = malloc(n * sizeof *x);
    if (!x)
        abort();
    for (size_t i = 0; i < n; i++)
        x[i] = fuzz_float_class(fuzz_u8(hs->r));
    return x;
}

static void check_result(harness *hs, const egcam_config *cfg, const egcam_result *res)
{
    uint32_t count, h, w;
    const float *weights = egcam_result_weights(res, &count);
    FUZZ_CHECK(weights && count == (uint32_t)hs->f->dims[0]);
    for (uint32_t k = 0; k < count; k++)
        FUZZ_CHECK(isfinite(weights[k]));
    const float *layer = egcam_result_map(res, EGCAM_MAP_LAYER, &h, &w);
    FUZZ_CHECK(layer && h == (uint32_t)hs->f->dims[1] && w == (uint32_t)hs->f->dims[2]);
    for (size_t i = 0; i < (size_t)h * w; i++)
        FUZZ_CHECK(isfinite(layer[i]) && layer[i] >= 0.0f);
    const float *input = egcam_result_map(res, EGCAM_MAP_INPUT, &h, &w);
    const float *norm = egcam_result_map(res, EGCAM_MAP_NORMALIZED, NULL, NULL);
    FUZZ_CHECK(input && norm && h == hs->f->H && w == hs->f->W);
    for (size_t i = 0; i < (size_t)h * w; i++)
        FUZZ_CHECK(isfinite(input[i]) && norm[i] >= 0.0f && norm[i] <= 1.0f);
    int32_t cls = egcam_result_class(res);
    FUZZ_CHECK(cls >= 0 && cls < hs->f->dims[3]);
    FUZZ_CHECK(cfg->target_class < 0 || cls == cfg->target_class);
}

static void op_explain(harness *hs, int with_refs)
{
    fuzz_reader *r = hs->r;
    fake *f = hs->f;
    egcam_config cfg;
    if (egcam_config_init(&cfg) != EGCAM_OK)
        abort();
    cfg.method = 1 + fuzz_u8(r) % 3;
    cfg.samples = 1 + fuzz_u8(r) % 6;
    cfg.steps = 1 + fuzz_u8(r) % 6;
    cfg.rule = 1 + fuzz_u8(r) % 4;
    cfg.batch_size = 1 + fuzz_u8(r) % 4;
    cfg.references = with_refs ? EGCAM_REFERENCES_ZEROS : 1u + fuzz_u8(r) % 3u;
    cfg.reference_count = 1 + fuzz_u8(r) % 3;
    cfg.flags = fuzz_u8(r) & EGCAM_FLAG_CLEAN_DIFFERENCE;
    cfg.noise_level = (float)(fuzz_u8(r) % 4) / 8.0f;
    cfg.target_class = (int32_t)(fuzz_u8(r) % (f->L + 2)) - 1;
    cfg.blur_sigma = (float)fuzz_u8(r) / 32.0f;
    float *x = inputs(hs, 1);
    mark(f);
    egcam_refset *refs = NULL;
    float *ref_data = NULL;
    if (with_refs) {
        uint32_t R = 1 + fuzz_u8(r) % 3;
        ref_data = inputs(hs, R);
        egcam_tensor t = {ref_data, {R, f->C, f->H, f->W}, 4, 0};
        egcam_status st = egcam_refset_new(hs->ctx, hs->be, &t, fuzz_u8(r) % 3, &refs);
        fuzz_note("backend: refset of %u: %s %s", (unsigned)R, egcam_status_string(st),
                  egcam_ctx_last_error(hs->ctx));
        if (st == EGCAM_OK) {
            FUZZ_CHECK(!f->bad && refs && egcam_refset_count(refs) == R);
            if (cfg.method == EGCAM_METHOD_GRADCAM)
                mark(f); /* Grad-CAM ignores the set: its shapes need not agree */
        } else {
            FUZZ_CHECK(!refs && egcam_ctx_last_error(hs->ctx)[0]);
            goto done;
        }
    }
    egcam_tensor input = {x, {f->C, f->H, f->W, 0}, 3, 0};
    egcam_result *res = (egcam_result *)1;
    egcam_status st = egcam_explain(hs->ctx, hs->be, &cfg, &input, refs, &res);
    fuzz_note("backend: explain (method %u): %s %s", (unsigned)cfg.method, egcam_status_string(st),
              egcam_ctx_last_error(hs->ctx));
    if (st == EGCAM_OK) {
        FUZZ_CHECK(!f->bad && f->known);
        check_result(hs, &cfg, res);
        egcam_result_free(res);
    } else {
        FUZZ_CHECK(res == NULL && egcam_ctx_last_error(hs->ctx)[0]);
    }
done:
    egcam_refset_free(refs);
    free(ref_data);
    free(x);
}

static void op_forward(harness *hs)
{
    fuzz_reader *r = hs->r;
    fake *f = hs->f;
    uint8_t b = fuzz_u8(r);
    size_t rows = 1 + b % 4;
    uint32_t flags = b & 0x10 ? EGCAM_FORWARD_FOR_BACKWARD : 0;
    if ((b & 0xe0) == 0xe0)
        flags |= 1u << (b % 31 + 1); /* an unknown flag */
    float *x = inputs(hs, rows);
    egcam_tensor in = {x, {(int64_t)rows, f->C, f->H, f->W}, 4, 0};
    int valid = flags == (flags & EGCAM_FORWARD_FOR_BACKWARD);
    if ((b & 0x0c) == 0x0c) { /* arguments the library refuses itself */
        if (b & 0x20)
            in.data = NULL;
        else
            in.ndim = 3;
        valid = 0;
    }
    uint64_t calls = f->calls;
    mark(f);
    egcam_tensor acts = {(const float *)1, {0}, 9, 9}, logits = acts;
    egcam_status st = egcam_backend_forward(hs->ctx, hs->be, &in, flags, &acts, &logits);
    fuzz_note("backend: forward of %zu rows, flags 0x%x: %s %s", rows, (unsigned)flags,
              egcam_status_string(st), egcam_ctx_last_error(hs->ctx));
    if (!valid)
        FUZZ_CHECK(st != EGCAM_OK && f->calls == calls);
    if (st == EGCAM_OK) {
        FUZZ_CHECK(f->accepted && !f->bad);
        FUZZ_CHECK(acts.data == f->views[0] && logits.data == f->views[1]);
        FUZZ_CHECK(acts.ndim == 4 && acts.reserved == 0 && acts.shape[0] == (int64_t)rows);
        FUZZ_CHECK(logits.ndim == 2 && logits.reserved == 0 && logits.shape[0] == (int64_t)rows);
        for (int k = 0; k < 3; k++)
            FUZZ_CHECK(acts.shape[k + 1] == f->last[k]);
        FUZZ_CHECK(logits.shape[1] == f->last[3]);
        float sum = 0.0f;
        for (int64_t i = 0; i < (int64_t)rows * acts.shape[1] * acts.shape[2] * acts.shape[3]; i++)
            sum += acts.data[i];
        for (int64_t i = 0; i < (int64_t)rows * logits.shape[1]; i++)
            sum += logits.data[i];
        volatile float sink = sum;
        (void)sink;
        if (flags & EGCAM_FORWARD_FOR_BACKWARD) {
            hs->pending = hs->pending_new = 1;
            hs->p_rows = (int64_t)rows;
            memcpy(hs->p_act, f->last, sizeof hs->p_act);
            hs->p_L = f->last[3];
        }
    } else {
        FUZZ_CHECK(acts.data == NULL && logits.data == NULL && acts.ndim == 0);
        FUZZ_CHECK(egcam_ctx_last_error(hs->ctx)[0]);
        /* Valid arguments and an accepted answer must give EGCAM_OK. */
        FUZZ_CHECK(!valid || f->bad);
    }
    free(x);
}

static void op_backward(harness *hs)
{
    fake *f = hs->f;
    size_t n = hs->pending ? (size_t)(hs->p_rows * hs->p_L) : 1;
    float *seed = malloc(n * sizeof *seed);
    if (!seed)
        abort();
    for (size_t i = 0; i < n; i++)
        seed[i] = fuzz_float_class(fuzz_u8(hs->r));
    uint64_t calls = f->calls;
    mark(f);
    if (hs->pending) { /* the forward's dimensions, for agree() */
        f->known = 1;
        memcpy(f->dims, hs->p_act, sizeof hs->p_act);
        f->dims[3] = hs->p_L;
    }
    egcam_tensor grad = {(const float *)1, {0}, 9, 9};
    egcam_status st = egcam_backend_backward(hs->ctx, hs->be, seed, &grad);
    fuzz_note("backend: backward%s: %s %s", hs->pending ? "" : " (none pending)",
              egcam_status_string(st), egcam_ctx_last_error(hs->ctx));
    if (!hs->pending) {
        FUZZ_CHECK(st == EGCAM_E_MISUSE && f->calls == calls);
    } else if (st == EGCAM_OK) {
        FUZZ_CHECK(!f->bad && grad.data == f->views[2] && grad.ndim == 4 && grad.reserved == 0);
        FUZZ_CHECK(grad.shape[0] == hs->p_rows);
        for (int k = 0; k < 3; k++)
            FUZZ_CHECK(grad.shape[k + 1] == hs->p_act[k]);
        float sum = 0.0f;
        for (int64_t i = 0; i < hs->p_rows * hs->p_act[0] * hs->p_act[1] * hs->p_act[2]; i++)
            sum += grad.data[i];
        volatile float sink = sum;
        (void)sink;
    } else {
        FUZZ_CHECK(f->bad);
    }
    if (st != EGCAM_OK)
        FUZZ_CHECK(grad.data == NULL && egcam_ctx_last_error(hs->ctx)[0]);
    free(seed);
}

/* ---- the table ---------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader r = {data, size};
    uint8_t a = fuzz_u8(&r), b = fuzz_u8(&r), c = fuzz_u8(&r);
    static const uint32_t abis[8] = {1, 1, 1, 1, 0, 2, UINT32_MAX, 0};
    static const uint32_t sizes[8] = {sizeof(egcam_backend_ops),
                                      sizeof(egcam_backend_ops),
                                      sizeof(egcam_backend_ops),
                                      OPS_V1_SIZE,
                                      OPS_V1_SIZE - 1,
                                      0,
                                      4096,
                                      0};
    uint32_t abi = (a & 7) == 7 ? fuzz_u32(&r) : abis[a & 7];
    uint32_t struct_size = (b & 7) == 7 ? fuzz_u32(&r) : sizes[b & 7];

    fake *f = calloc(1, sizeof *f);
    if (!f)
        abort();
    f->r = &r;
    f->C = 1 + fuzz_u8(&r) % 3;
    f->H = 1 + fuzz_u8(&r) % 4;
    f->W = 1 + fuzz_u8(&r) % 4;
    f->K = 1 + fuzz_u8(&r) % 4;
    f->h = 1 + fuzz_u8(&r) % 4;
    f->w = 1 + fuzz_u8(&r) % 4;
    f->L = 1 + fuzz_u8(&r) % 5;

    /* The caller's table: struct_size bytes of it (up to 4096; a larger
     * size claims a table no caller has, and the library reads only its
     * own sizeof anyway), freed as soon as egcam_backend_new() returns. */
    size_t bytes = struct_size > sizeof(egcam_backend_ops) && struct_size <= 4096
                       ? struct_size
                       : sizeof(egcam_backend_ops);
    egcam_backend_ops *ops = calloc(1, bytes);
    if (!ops)
        abort();
    ops->abi_version = abi;
    ops->struct_size = struct_size;
    ops->name = c & 16 ? NULL : "fake";
    ops->forward = (c & 3) == 1 || (c & 3) == 3 ? NULL : fake_forward;
    ops->backward = (c & 3) == 2 || (c & 3) == 3 ? NULL : fake_backward;
    ops->release = c & 8 ? NULL : fake_release;
    if (bytes > sizeof *ops)
        ((uint8_t *)ops)[sizeof *ops + c % (bytes - sizeof *ops)] = (uint8_t)(c >> 5);
    int has_release = ops->release != NULL;
    int valid = abi >= 1 && abi <= EGCAM_BACKEND_ABI_VERSION && struct_size >= OPS_V1_SIZE &&
                ops->forward && ops->backward;

    egcam_ctx *ctx = NULL;
    if (egcam_ctx_new(&ctx) != EGCAM_OK)
        abort();
    egcam_backend *be = (egcam_backend *)1;
    egcam_status st = egcam_backend_new(ctx, ops, f, &be);
    fuzz_note("backend: new (abi %u, size %u): %s %s", (unsigned)abi, (unsigned)struct_size,
              egcam_status_string(st), egcam_ctx_last_error(ctx));
    free(ops);
    FUZZ_CHECK((st == EGCAM_OK) == valid);
    if (st != EGCAM_OK) {
        FUZZ_CHECK(be == NULL && f->release_calls == 0 && egcam_ctx_last_error(ctx)[0]);
    } else {
        FUZZ_CHECK(be != NULL);
        FUZZ_CHECK(strcmp(egcam_backend_name(be), c & 16 ? "unnamed" : "fake") == 0);
        harness hs = {&r, ctx, be, f, 0, 0, 0, {0}, 0};
        for (int n = 0; n < 6 && r.left; n++) {
            uint64_t calls = f->calls;
            switch (fuzz_u8(&r) % 4) {
            case 0: op_explain(&hs, 0); break;
            case 1: op_explain(&hs, 1); break;
            case 2: op_forward(&hs); break;
            default: op_backward(&hs); break;
            }
            /* Any call that reached the backend ends a pending forward
             * (op_forward may have made a new one); one refused for its
             * arguments changes nothing. */
            if (f->calls != calls && !hs.pending_new)
                hs.pending = 0;
            hs.pending_new = 0;
        }
        egcam_backend_free(be);
        FUZZ_CHECK(f->release_calls == has_release);
    }
    drop_views(f);
    free(f);
    egcam_ctx_free(ctx);
    return 0;
}
