/*
 * core.h - what the files of lib/core share among themselves, beside the
 * interface they offer the other folders (internal.h).
 */
#ifndef EGCAM_CORE_CORE_H
#define EGCAM_CORE_CORE_H

#include <stdatomic.h>

#include "internal.h"

/* ---- context (ctx.c) -------------------------------------------------------- */
struct egcam_ctx {
    char              error[EGCAM__ERRBUF_SIZE];
    egcam_progress_fn progress;
    void             *progress_user;
};

/* Ask the progress hook whether to go on; EGCAM_E_CANCELLED if not. */
egcam_status egcam__progress(egcam_ctx *ctx, uint64_t done, uint64_t total);

/* ---- backend (backend.c) ---------------------------------------------------- */
struct egcam_backend {
    egcam_backend_ops ops;  /* the caller's table, widened to this version */
    void             *self;
    /* Who is inside a call on this backend: the caller's ctx, or for a
     * NULL ctx the calling thread's token; NULL when idle. A backend serves
     * one call at a time, and a second caller gets EGCAM_E_MISUSE rather
     * than views of memory the first one is overwriting. */
    _Atomic(const void *) owner;
    /* For egcam_backend_backward()'s checks: the rows (0: none) and shapes
     * of the last forward when it was an egcam_backend_forward() made for
     * backward. Every forward and backward resets it; only that public
     * forward sets it, never the engine's own forwards. */
    size_t            pending_rows;
    egcam__shape      pending_act;
};

/* ---- reference sets (refset.c) ---------------------------------------------- */
struct egcam_refset {
    const egcam_backend *backend;
    egcam__shape         input;
    egcam__dims          dims;
    size_t               count;
    float               *inputs;  /* count x input size */
    float               *acts;    /* count x activation size */
};

/* Fill a set from `count` inputs already in `inputs` (ownership moves to the
 * set, which the caller made with calloc) by forwarding them. */
egcam_status egcam__refset_fill(egcam_ctx *ctx, egcam_backend *be, egcam_refset *set,
                                size_t batch, uint64_t progress_total);
/* The built-in references of cfg for input x, as a new set. */
egcam_status egcam__refset_builtin(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                                   const float *x, egcam__shape shape, egcam_refset **out);

/* ---- sampling plans (plan.c) ------------------------------------------------- */
/* One gradient evaluation: z = ref + alpha * (top - ref), where top is the
 * input x, or x + eps for a noisy plan. Its contribution is
 * weight * (A(top) - A(ref)) (.) G(z). */
typedef struct egcam__sample {
    uint32_t ref;
    double   alpha;
    double   weight;
    egcam__rng noise;   /* draws eps when the plan is noisy */
} egcam__sample;

typedef struct egcam__plan {
    uint32_t method;
    uint64_t count;       /* gradient evaluations */
    int      at_input;    /* Grad-CAM: the one gradient is at x itself */
    int      noisy;       /* eps != 0: A(x + eps) needs its own forward */
    int      noisy_diff;  /* difference taken at x + eps (not clean) */
    double   sigma;       /* standard deviation of eps */
    uint32_t rule;
    uint32_t refs;        /* size of the reference set */
    uint64_t seed;
} egcam__plan;

egcam_status egcam__plan_make(egcam_ctx *ctx, const egcam_config *cfg, float x_min, float x_max,
                              uint32_t refs, egcam__plan *plan);
void egcam__plan_sample(const egcam__plan *plan, uint64_t n, egcam__sample *out);

/* ---- results (result.c, maps.c) ---------------------------------------------- */
struct egcam_result {
    int32_t  target;
    uint32_t flags;       /* EGCAM_RESULT_* */
    double   logit;
    double   completeness;
    uint32_t channels, lh, lw, ih, iw;
    float   *weights;     /* channels */
    float   *layer_map;   /* lh x lw */
    float   *input_map;   /* ih x iw */
    float   *normalized;  /* ih x iw */
};

egcam_result *egcam__result_new(uint32_t channels, uint32_t lh, uint32_t lw, uint32_t ih,
                                uint32_t iw);
/* weights . A(x), then ReLU, bilinear upsampling and normalisation. */
void egcam__result_maps(egcam_result *res, const float *acts);
void egcam__normalize(const float *in, float *out, size_t n);

#endif /* EGCAM_CORE_CORE_H */
