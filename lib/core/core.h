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
    char error[EGCAM__ERRBUF_SIZE];
    egcam_progress_fn progress;
    void *progress_user;
    /* The inputs that failed in the last egcam_explain_many(), in order:
     * cleared with the message by every call that takes ctx. */
    struct egcam__input_error *input_errors;
    size_t input_error_count, input_error_cap;
};

struct egcam__input_error {
    size_t index;
    egcam_status status;
    char message[EGCAM__ERRBUF_SIZE];
};

/* Keep ctx's message as the failure of input `index`; EGCAM_E_OUT_OF_MEMORY
 * when there is no room to (the message is then lost, the status not). */
egcam_status egcam__ctx_input_failed(egcam_ctx *ctx, size_t index, egcam_status status);

/* Ask the progress hook whether to go on; EGCAM_E_CANCELLED if not. */
egcam_status egcam__progress(egcam_ctx *ctx, uint64_t done, uint64_t total);

/* ---- backend (backend.c) ---------------------------------------------------- */
struct egcam_backend {
    egcam_backend_ops ops; /* the caller's table, widened to this version */
    void *self;
    /* Who is inside a call on this backend: the caller's ctx, or for a
     * NULL ctx the calling thread's token; NULL when idle. A backend serves
     * one call at a time, and a second caller gets EGCAM_E_MISUSE rather
     * than views of memory the first one is overwriting. */
    _Atomic(const void *) owner;
    /* For egcam_backend_backward()'s checks: the rows (0: none) and shapes
     * of the last forward when it was an egcam_backend_forward() made for
     * backward. Every forward and backward resets it; only that public
     * forward sets it, never the engine's own forwards. */
    size_t pending_rows;
    egcam__shape pending_act;
};

/* ---- reference sets (refset.c) ---------------------------------------------- */
struct egcam_refset {
    const egcam_backend *backend;
    egcam__shape input;
    egcam__dims dims;
    size_t count;
    float *inputs; /* count x input size */
    float *acts;   /* count x activation size */
};

/* Fill a set from `count` inputs already in `inputs` (ownership moves to the
 * set, which the caller made with calloc) by forwarding them. */
egcam_status egcam__refset_fill(egcam_ctx *ctx, egcam_backend *be, egcam_refset *set, size_t batch,
                                uint64_t progress_total);
/* The built-in references of cfg for input x, as a new set. */
egcam_status egcam__refset_builtin(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                                   const float *x, egcam__shape shape, egcam_refset **out);

/* ---- targets (targets.c) ---------------------------------------------------- */
/* What a call explains in each input: `count` targets per input, from the
 * caller's classes (B x count tokens: a class, or -1 - rank) or, with NULL
 * classes, from the config: its seed vectors (count x L weights), or its
 * target_class (one class, or the ranks from its own on). */
typedef struct egcam__targets {
    uint32_t count;
    const int32_t *classes;
    const float *weights;
    uint32_t weights_count;
    int32_t first; /* cfg->target_class */
} egcam__targets;

egcam__targets egcam__targets_of(const egcam_config *cfg, const int32_t *classes, uint32_t count);
/* The checks that need no logits. */
egcam_status egcam__targets_check(egcam_ctx *ctx, const egcam_config *cfg, const egcam__targets *t);
/* One target as chosen for an input: its class (-1 for a seed vector) and
 * the value it explains there, sum_j seed_j logit_j(x). */
typedef struct egcam__choice {
    int32_t cls;
    double value;
} egcam__choice;

/* Input b's targets from its logits (`classes` of them): seeds (count x
 * classes) and choices (count). EGCAM_E_CLASS_OUT_OF_RANGE for a class or
 * rank the model does not have; EGCAM_E_SHAPE_MISMATCH for weights of
 * the wrong length. */
egcam_status egcam__targets_choose(egcam_ctx *ctx, const egcam__targets *t, size_t b,
                                   const float *logits, size_t classes, float *seeds,
                                   egcam__choice *choices);

/* ---- sampling plans (plan.c) ------------------------------------------------- */
/* One gradient evaluation: z = ref + alpha * (top - ref), where top is the
 * input x, or x + eps for a noisy plan (z = x itself when the plan's point
 * is at the input). Its contribution to the gradient term is
 * weight * (A(top) - A(ref)) (.) G(z) for a plan with a difference, else
 * weight * G(z). */
typedef struct egcam__sample {
    uint32_t ref;
    double alpha;
    double weight;
    egcam__rng noise;  /* draws eps when the plan is noisy */
    double noise_sign; /* eps = noise_sign * sigma * the draws: -1 for the
                          second of an antithetic pair, else 1 */
} egcam__sample;

/* Where a plan's references come from. */
typedef enum egcam__refs_source {
    EGCAM__REFS_NONE,   /* Grad-CAM takes none */
    EGCAM__REFS_CALLER, /* the set given to egcam_explain() */
    EGCAM__REFS_BUILTIN /* cfg->references, made for the call */
} egcam__refs_source;

typedef struct egcam__plan {
    uint32_t method;
    uint64_t count;     /* gradient evaluations */
    int point_at_input; /* the one point is x: its forward gives A(x) too */
    int difference;     /* gradients weighed by A(top) - A(ref); the
                                gradient term is then the attribution, else
                                the attribution is A(x) (.) the term */
    int noisy;          /* eps != 0 */
    int noisy_diff;     /* the difference taken at x + eps: A(x + eps)
                                needs its own forward */
    double sigma;       /* standard deviation of eps */
    uint32_t rule;
    egcam__refs_source references;
    const egcam_refset *refs; /* the caller's set (EGCAM__REFS_CALLER) */
    uint32_t ref_count;       /* references the samples draw from */
    uint32_t sampling;        /* EGCAM_SAMPLING_* (Expected Grad-CAM) */
    uint64_t seed;
    /* What it costs, in backend rows (egcam_explain_cost()). */
    uint64_t forward_rows, backward_rows, reference_rows;
} egcam__plan;

/* Every rule of the methods: which references, how many points, noise,
 * cost; for a checked config and an input of the given shape and range.
 * be (may be NULL) is the backend a caller's set must belong to. */
egcam_status egcam__plan_make(egcam_ctx *ctx, const egcam_config *cfg, egcam__shape input,
                              float x_min, float x_max, const egcam_backend *be,
                              const egcam_refset *refs, egcam__plan *plan);
void egcam__plan_sample(const egcam__plan *plan, uint64_t n, egcam__sample *out);

/* ---- the engine (engine.c) --------------------------------------------------- */
/* Explain `count` checked inputs of shape `in` (each finite or not: a
 * non-finite one fails alone), each with targets->count targets, under a
 * checked config and plan (samples_each rows per input), on a backend the
 * caller has entered. out has count x targets->count entries, all NULL:
 * input b's results go to out[b * targets->count ..], left NULL when it fails
 * (its status and message kept with egcam__ctx_input_failed()). A failure
 * of the call is returned; out may then hold results to free. */
egcam_status egcam__engine_run(egcam_ctx *ctx, egcam_backend *be, const egcam_config *cfg,
                               const float *const *images, size_t count, egcam__shape in,
                               const egcam__targets *targets, const egcam_refset *refs,
                               uint64_t samples_each, egcam_result **out);

/* ---- results (result.c, combine.c, maps.c) ------------------------------------ */
struct egcam_result {
    int32_t target;
    uint32_t flags; /* EGCAM_RESULT_* */
    double logit;
    double completeness;
    uint32_t channels, lh, lw, ih, iw;
    uint32_t classes;     /* of logits and probabilities (0 for results made before) */
    float *logits;        /* the model's logits for the input */
    float *probabilities; /* their softmax */
    /* What every combiner is made from (combine.c), channels x lh x lw: */
    double *term;            /* the gradient term R */
    float *acts;             /* A(x) */
    int term_is_attribution; /* Phi = R (path estimators), else A (.) R */
    uint32_t combiner;       /* EGCAM_COMBINER_* the maps were made with */
    int has_weights;         /* the combiner's map is sum_k weights_k A_k */
    float *weights;          /* channels */
    float *signed_map;       /* lh x lw, before the ReLU */
    float *layer_map;        /* lh x lw */
    float *input_map;        /* ih x iw */
    float *normalized;       /* ih x iw */
};

/* A result with room for its weights and maps; term and acts are the
 * caller's to set (the engine hands its own over), freed with it. */
egcam_result *egcam__result_new(uint32_t channels, uint32_t lh, uint32_t lw, uint32_t ih,
                                uint32_t iw);
/* Give res the input's `classes` logits (copied) and their softmax. */
egcam_status egcam__result_set_logits(egcam_result *res, const float *logits, size_t classes);
/* A copy of res with its own term and activations, maps not yet made. */
egcam_result *egcam__result_copy(const egcam_result *res);
/* EGCAM_E_INVALID_ARGUMENT naming `what` unless combiner is 0 or known. */
egcam_status egcam__check_combiner(egcam_ctx *ctx, uint32_t combiner, const char *what);
/* Make res's weights (for the combiners that have them) and its three maps
 * from its term and activations with a checked combiner; EGCAM_E_NON_FINITE
 * when they overflow. */
egcam_status egcam__combine(egcam_ctx *ctx, egcam_result *res, uint32_t combiner);
/* The input and normalised maps from the layer map: bilinear upsampling,
 * then min-max normalisation. */
void egcam__result_resample(egcam_result *res);
void egcam__normalize(const float *in, float *out, size_t n);

#endif /* EGCAM_CORE_CORE_H */
