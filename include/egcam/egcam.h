/*
 * egcam.h - class activation maps for image classifiers, from C.
 *
 * libegcam explains one decision of an image classifier as a heat map over
 * the input. It computes three maps on one gradient engine:
 *
 *   Grad-CAM             (Selvaraju et al. 2017)     one gradient at the input;
 *   Integrated Grad-CAM  (Sattarzadeh et al. 2021)   gradients along a path
 *                                                     from a baseline;
 *   Expected Grad-CAM    (Buono et al. 2024)          gradients at random points
 *                                                     between random references
 *                                                     and noisy copies of the input.
 *
 * The model is reached through a backend (egcam_backend.h): a table of two
 * functions, forward to the target layer and backward from the logits. The
 * LibTorch backend (egcam_torch.h) is one; you can write your own.
 *
 * A typical program:
 *
 *     egcam_ctx *ctx;  egcam_result *res;  egcam_config cfg;
 *     egcam_ctx_new(&ctx);
 *     egcam_config_init(&cfg);               // defaults: Expected Grad-CAM, N = 50
 *     cfg.method = EGCAM_METHOD_EXPECTED;
 *     if (egcam_explain(ctx, backend, &cfg, &input, NULL, &res) != EGCAM_OK)
 *         fprintf(stderr, "%s\n", egcam_ctx_last_error(ctx));
 *     ... egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w) ...
 *     egcam_result_free(res);
 *     egcam_ctx_free(ctx);
 *
 * Everything not declared in the headers under include/egcam/ is private and
 * may change without notice.
 *
 * Conventions that hold for the whole API
 * - Every fallible call returns an egcam_status; EGCAM_OK is 0.
 * - Objects are opaque, made by egcam_<object>_new() and destroyed by
 *   egcam_<object>_free(); every _free() accepts NULL.
 * - Memory the library returns belongs to the object that returned it: it is
 *   never to be passed to free().
 * - Inputs (tensors, strings, arrays) are borrowed for the duration of the
 *   call and never retained.
 * - The library never prints, never calls exit() or abort() on bad input,
 *   and keeps no mutable global state.
 *
 * Threads: an egcam_ctx serves one thread at a time (use one per thread). A
 * backend serves one call at a time: a call that finds it inside another
 * context's or thread's call returns EGCAM_E_MISUSE and touches nothing. A
 * reference set is immutable once made and may be read by several threads,
 * as long as each uses it with a backend only it is using. See
 * docs/threading.md.
 */
#ifndef EGCAM_H
#define EGCAM_H

#include <stddef.h>
#include <stdint.h>

#include "egcam_version.h"

/* ------------------------------------------------------------------------ */
/* Export, deprecation and must-use macros (packagers may override them).   */
/* ------------------------------------------------------------------------ */
#ifndef EGCAM_API
#  if defined(_WIN32)
#    if defined(EGCAM_BUILDING_LIBRARY)
#      define EGCAM_API __declspec(dllexport)
#    elif !defined(EGCAM_STATIC)
#      define EGCAM_API __declspec(dllimport)
#    else
#      define EGCAM_API
#    endif
#  elif defined(__GNUC__) && __GNUC__ >= 4
#    define EGCAM_API __attribute__((visibility("default")))
#  else
#    define EGCAM_API
#  endif
#endif

#ifndef EGCAM_NODISCARD
#  if defined(__GNUC__) && __GNUC__ >= 4
#    define EGCAM_NODISCARD __attribute__((warn_unused_result))
#  else
#    define EGCAM_NODISCARD
#  endif
#endif

#ifndef EGCAM_DEPRECATED
#  if defined(__GNUC__) && __GNUC__ >= 5
#    define EGCAM_DEPRECATED(msg) __attribute__((deprecated(msg)))
#  else
#    define EGCAM_DEPRECATED(msg)
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Versions                                                                 */
/* ------------------------------------------------------------------------ */

/** @return EGCAM_VERSION_NUMBER of the library running now. Compare it with
 *  the macro to detect a header/library mismatch. @since 0.1 */
EGCAM_API unsigned egcam_version_number(void);

/** @return EGCAM_VERSION_STRING of the library running now (static). */
EGCAM_API const char *egcam_version_string(void);

/* ------------------------------------------------------------------------ */
/* Status codes. Values are pinned forever: never renumbered, never reused. */
/* Values >= 1000 are reserved for experimental use.                        */
/* ------------------------------------------------------------------------ */
typedef enum egcam_status {
    EGCAM_OK                   = 0,
    EGCAM_E_NULL_ARGUMENT      = 1, /* a required pointer was NULL */
    EGCAM_E_INVALID_ARGUMENT   = 2, /* a value outside its documented range */
    EGCAM_E_EMPTY              = 3, /* a size or dimension of zero */
    EGCAM_E_SHAPE_MISMATCH     = 4, /* tensors whose shapes do not agree */
    EGCAM_E_NON_FINITE         = 5, /* NaN or infinity in an input or result */
    EGCAM_E_CLASS_OUT_OF_RANGE = 6, /* target class not among the logits */
    EGCAM_E_STRUCT_SIZE        = 7, /* struct from another header version, or
                                          not initialised, or reserved bytes set */
    EGCAM_E_ABI_VERSION        = 8, /* backend built for an ABI this library
                                          does not know */
    EGCAM_E_MISUSE             = 9, /* objects combined in a way the API forbids */
    EGCAM_E_OUT_OF_MEMORY      = 10,
    EGCAM_E_BACKEND            = 11, /* the backend failed; see the message */
    EGCAM_E_UNSUPPORTED        = 12, /* feature not built in or not available */
    EGCAM_E_IO                 = 13,
    EGCAM_E_FORMAT             = 14, /* a file or buffer is not what it claims */
    EGCAM_E_CANCELLED          = 15, /* the progress callback asked to stop */
    EGCAM_E_INTERNAL           = 16, /* a bug in libegcam or an unknown exception */
    /* One past the last status of this header: for range checks and tables
     * (a loop over every status), never stored, sent or compared across
     * versions, since it grows when a status is added (zstd's maxCode rule). */
    EGCAM_STATUS_END
} egcam_status;

/** @return a static, human-readable name for a status; never NULL (unknown
 *  values give "unknown status"). */
EGCAM_API const char *egcam_status_string(egcam_status status);

/* ------------------------------------------------------------------------ */
/* Opaque objects                                                           */
/* ------------------------------------------------------------------------ */

/** Per-thread working state: the last error message and the progress hook. */
typedef struct egcam_ctx egcam_ctx;
/** A model cut at a target layer (see egcam_backend.h, egcam_torch.h). */
typedef struct egcam_backend egcam_backend;
/** Reference inputs with their activations, computed once per backend. */
typedef struct egcam_refset egcam_refset;
/** The outcome of one explanation: maps, class, logits, completeness. */
typedef struct egcam_result egcam_result;

/* ------------------------------------------------------------------------ */
/* Tensors: borrowed views of dense float32 data in C order.                */
/* The layout of this struct is frozen for the life of the SONAME.          */
/* ------------------------------------------------------------------------ */
typedef struct egcam_tensor {
    const float *data;     /* shape[0] * ... * shape[ndim-1] floats */
    int64_t      shape[4]; /* entries past ndim are ignored */
    uint32_t     ndim;     /* 1..4 */
    uint32_t     reserved; /* 0 in a tensor you make; the library marks
                               the tensors it makes here (leave it as it is) */
} egcam_tensor;

/** A new tensor of ndim (1 to 4) dimensions shape[0..ndim-1], all 0: write
 *  through (float *)tensor->data. The library marks it in reserved.
 *  @param[out] out  free with egcam_tensor_free()
 *  @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT, EGCAM_E_INVALID_ARGUMENT (ndim;
 *  more than 2^40 elements), EGCAM_E_EMPTY (a dimension <= 0),
 *  EGCAM_E_OUT_OF_MEMORY. @since 0.1 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_tensor_new(egcam_ctx *ctx, const int64_t *shape,
                                                        uint32_t ndim, egcam_tensor **out);

/** Free a tensor libegcam made (its data too). NULL, and a tensor you made
 *  yourself, are left alone. */
EGCAM_API void egcam_tensor_free(egcam_tensor *tensor);

/* ------------------------------------------------------------------------ */
/* Context                                                                  */
/* ------------------------------------------------------------------------ */

/** Create a context. @param[out] out receives it; free with egcam_ctx_free().
 *  @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT or EGCAM_E_OUT_OF_MEMORY. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_ctx_new(egcam_ctx **out);

/** Destroy a context. NULL is a no-op. */
EGCAM_API void egcam_ctx_free(egcam_ctx *ctx);

/** The message of the last failed call made with this context, or "" after
 *  a success. Owned by ctx; valid until the next call that takes ctx.
 *  Never NULL (a NULL ctx gives ""). */
EGCAM_API const char *egcam_ctx_last_error(const egcam_ctx *ctx);

/** Progress hook: called on the calling thread, inside egcam_explain(),
 *  egcam_explain_many() and egcam_refset_new() (and the calls that explain,
 *  such as egcam_eval_sensitivity()), after each batch, the last one
 *  included, with the samples done so far and the total. Return non-zero to
 *  stop the call with EGCAM_E_CANCELLED (after the last batch too: the
 *  finished result is then discarded). It must not throw, longjmp, or call
 *  into libegcam with the same ctx. */
typedef int (*egcam_progress_fn)(void *user, uint64_t done, uint64_t total);

/** Install (or, with fn == NULL, remove) the progress hook of ctx. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_ctx_set_progress(egcam_ctx *ctx, egcam_progress_fn fn,
                                                              void *user);

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

/* Methods (egcam_config.method). */
#define EGCAM_METHOD_GRADCAM    1u
#define EGCAM_METHOD_INTEGRATED 2u
#define EGCAM_METHOD_EXPECTED   3u

/* Quadrature rules of Integrated Grad-CAM (egcam_config.rule), named as
 * Captum names its Riemann rules; nodes alpha_m and weights omega_m: */
#define EGCAM_RULE_MIDPOINT  1u /* (m + 1/2)/M, 1/M (default) */
#define EGCAM_RULE_LEFT      2u /* m/M, 1/M */
#define EGCAM_RULE_RIGHT     3u /* (m + 1)/M, 1/M */
#define EGCAM_RULE_TRAPEZOID 4u /* m/(M-1); 1/(2(M-1)) at the ends, else 1/(M-1); M >= 2 */

/* Built-in references (egcam_config.references): the baseline b of Integrated
 * Grad-CAM, the reference set D of Expected Grad-CAM, used when
 * egcam_explain() is given no reference set.
 *   ZEROS    one all-zero input (default)
 *   BLUR     one Gaussian blur of the input, per channel, standard deviation
 *            blur_sigma pixels, edges replicated
 *   UNIFORM  reference_count inputs of uniform noise over [min(x), max(x)],
 *            drawn from the seed; Expected Grad-CAM only */
#define EGCAM_REFERENCES_ZEROS   1u
#define EGCAM_REFERENCES_BLUR    2u
#define EGCAM_REFERENCES_UNIFORM 3u

/* Combiners (egcam_config.combiner, egcam_result_combine): how the
 * estimator's gradient term R (K x h x w; G(x) for Grad-CAM's estimator)
 * becomes a map, for the whole Grad-CAM family (docs/method.md,
 * "Combiners"). A is A(x); sums over i,j run over the h x w positions; every
 * map then gets ReLU, upsampling and normalisation.
 *   GRADCAM      sum_k w_k A_k, w_k = GAP(R_k) (default; 0 means this too)
 *   GRADCAM_PLUSPLUS  sum_k w_k A_k, w_k = sum_ij a_kij ReLU(R_kij),
 *                a = R^2 / (2 R^2 + (sum_ij A_kij) R^3 + 1e-6)
 *   XGRADCAM     sum_k w_k A_k, w_k = sum_ij R_kij A_kij / (sum_ij A_kij + 1e-7)
 *   HIRESCAM     sum_k R_k (.) A_k
 *   ELEMENTWISE  sum_k ReLU(R_k (.) A_k)
 *   LAYERCAM     sum_k ReLU(R_k) (.) A_k
 *   COMPLETE     sum_k Phi_k, the attribution (R for the path estimators,
 *                A (.) G for Grad-CAM's): its sum before the ReLU is
 *                egcam_result_completeness()
 * The last four have no channel weights (egcam_result_weights() gives
 * NULL). With Grad-CAM's estimator each matches pytorch-grad-cam's class of
 * the same name. */
#define EGCAM_COMBINER_GRADCAM          1u
#define EGCAM_COMBINER_GRADCAM_PLUSPLUS 2u
#define EGCAM_COMBINER_XGRADCAM         3u
#define EGCAM_COMBINER_HIRESCAM         4u
#define EGCAM_COMBINER_ELEMENTWISE      5u
#define EGCAM_COMBINER_LAYERCAM         6u
#define EGCAM_COMBINER_COMPLETE         7u

/** A combiner's short name ("gradcam", "gradcam++", "xgradcam", "hirescam",
 *  "elementwise", "layercam", "complete"); 0 names Grad-CAM's. NULL for an
 *  unknown value. @since 0.1 */
EGCAM_API const char *egcam_combiner_name(uint32_t combiner);
/** The EGCAM_COMBINER_* value of a short name; 0 for an unknown name or
 *  NULL. @since 0.1 */
EGCAM_API uint32_t egcam_combiner_by_name(const char *name);

/* Sampling schemes of Expected Grad-CAM (egcam_config.sampling): how the N
 * samples draw their reference x'_n, point alpha_n and noise eps_n. Each is
 * an unbiased estimator of the same expectation (docs/method.md,
 * "Sampling"); the others reach a given error with fewer samples. The
 * other methods have no random draws and ignore the field.
 *   INDEPENDENT  each sample draws all three independently (default; 0
 *                means this too: the results of before the field existed)
 *   STRATIFIED   alpha_n uniform in the n-th of N equal strata of [0, 1),
 *                and the references in balanced rounds: each round of R
 *                samples takes every one of the R references once, in a
 *                random order of its own
 *   ANTITHETIC   STRATIFIED, and samples 2k and 2k+1 take the noise eps
 *                and -eps */
#define EGCAM_SAMPLING_INDEPENDENT 1u
#define EGCAM_SAMPLING_STRATIFIED  2u
#define EGCAM_SAMPLING_ANTITHETIC  3u

/** A sampling scheme's short name ("independent", "stratified",
 *  "antithetic"); 0 names the default's. NULL for an unknown value.
 *  @since 0.1 */
EGCAM_API const char *egcam_sampling_name(uint32_t sampling);

/* Flags (egcam_config.flags). */
/** Expected Grad-CAM: use the clean difference A(x) - A(x'_n) instead of
 *  A(x + eps_n) - A(x'_n). Saves N forward passes; an approximation. */
#define EGCAM_FLAG_CLEAN_DIFFERENCE (1u << 0)

/**
 * What to explain and how. Initialise with egcam_config_init(), then change
 * fields. Every field's default is written next to it.
 *
 * ABI: struct_size is the caller's sizeof, set by egcam_config_init(); the
 * reserved tail must stay zero. Fields added later are carved out of it and
 * zero always means their default, so a program built against this header
 * keeps working with newer libraries. A library older than the header in use
 * rejects a config with non-zero bytes it does not know (EGCAM_E_STRUCT_SIZE)
 * rather than silently ignoring a setting. See docs/abi.md.
 */
typedef struct egcam_config {
    size_t       struct_size;          /* set by egcam_config_init() */
    uint32_t     method;               /* EGCAM_METHOD_*; default EXPECTED */
    int32_t      target_class;         /* logit to explain; -1 (default): the top
                                     logit of the input; EGCAM_TARGET_RANK(r):
                                     the logit of rank r (-1 - r) */
    const float *target_weights;       /* optional seed over the logits: explain
                                     sum_j w_j * logit_j (e.g. +1 for one
                                     class, -1 for another). When non-NULL it
                                     replaces target_class. Borrowed for the
                                     call. Default NULL. */
    uint32_t     target_weights_count; /* length of target_weights: the number
                                     of logits L (T x L for T seed vectors,
                                     egcam_explain_many()) */
    uint32_t     samples;              /* N, Expected Grad-CAM; default 50 */
    uint32_t     steps;                /* M, Integrated Grad-CAM; default 50 */
    uint32_t     rule;                 /* EGCAM_RULE_*; default MIDPOINT */
    uint32_t     batch_size;           /* inputs per backend call; default 16.
                                     Memory grows with it, not with N or M. */
    uint32_t     references;           /* EGCAM_REFERENCES_*; default ZEROS */
    uint32_t     reference_count;      /* inputs in EGCAM_REFERENCES_UNIFORM;
                                     default 16 */
    uint32_t     flags;                /* EGCAM_FLAG_*; default 0 */
    float        noise_level;          /* Expected Grad-CAM: sigma = noise_level *
                                     (max(x) - min(x)); >= 0; default 0.1;
                                     0 turns smoothing off */
    float        blur_sigma;           /* pixels, for EGCAM_REFERENCES_BLUR; >= 0;
                                     default 0: a tenth of min(H, W); values
                                     above 2 * max(H, W) act as that */
    uint32_t     combiner;             /* EGCAM_COMBINER_*; default 0: Grad-CAM's
                                     combination (any other can also be made
                                     afterwards: egcam_result_combine) */
    uint32_t     sampling;             /* EGCAM_SAMPLING_*, Expected Grad-CAM's
                                     sampling scheme; default 0: independent */
    uint64_t     seed;                 /* every random draw derives from it;
                                     default 0x6567636d (any value is valid) */
    uint8_t      reserved[64];         /* must be 0 */
} egcam_config;

/** Fill the first cfg_size bytes of *cfg with the defaults, and set
 *  struct_size = cfg_size. Use the egcam_config_init() macro, which passes
 *  the size of the struct your program was compiled with.
 *  @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT, or EGCAM_E_STRUCT_SIZE when
 *  cfg_size is not a size of egcam_config this library knows. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_config_init_sized(egcam_config *cfg, size_t cfg_size);

#define egcam_config_init(cfg) egcam_config_init_sized((cfg), sizeof *(cfg))

/* ------------------------------------------------------------------------ */
/* Backends are made by egcam_torch_open() (egcam_torch.h) or, for your own  */
/* model code, egcam_backend_new() (egcam_backend.h).                        */
/* ------------------------------------------------------------------------ */

/** Release a backend and what it holds (its ops->release). NULL is a no-op.
 *  Free the reference sets made on it first. */
EGCAM_API void egcam_backend_free(egcam_backend *backend);

/** The backend's name ("libtorch", ...); never NULL ("" for NULL). */
EGCAM_API const char *egcam_backend_name(const egcam_backend *backend);

/* ------------------------------------------------------------------------ */
/* Reference sets                                                           */
/* ------------------------------------------------------------------------ */

/**
 * Make a reference set: copy refs (shape [R, C, H, W], R >= 1) and run them
 * through backend once to keep their activations, R/batch_size forward
 * passes that never need gradients. Pass it to egcam_explain() to use these
 * references instead of the built-in ones: as the set D of Expected
 * Grad-CAM, or (R must be 1) as the baseline of Integrated Grad-CAM.
 *
 * The set belongs to backend: free it before the backend, and use it only
 * with that backend. It is immutable once made.
 *
 * @param[in]  ctx         for errors and progress; required
 * @param[in]  backend     the backend whose activations to keep
 * @param[in]  refs        borrowed for the call
 * @param[in]  batch_size  inputs per forward call; 0 means 16
 * @param[out] out         receives the set; free with egcam_refset_free()
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_refset_new(egcam_ctx *ctx, egcam_backend *backend,
                                                        const egcam_tensor *refs,
                                                        uint32_t batch_size, egcam_refset **out);

/** Number of references in the set (0 for NULL). */
EGCAM_API uint32_t egcam_refset_count(const egcam_refset *refs);

/** Destroy a reference set. NULL is a no-op. */
EGCAM_API void egcam_refset_free(egcam_refset *refs);

/* ------------------------------------------------------------------------ */
/* Explaining                                                               */
/* ------------------------------------------------------------------------ */

/**
 * Explain one input.
 *
 * @param[in]  ctx      receives the error message on failure; required
 * @param[in]  backend  the model, cut at its target layer
 * @param[in]  cfg      made by egcam_config_init(); borrowed
 * @param[in]  input    shape [C, H, W] or [1, C, H, W], finite; borrowed
 * @param[in]  refs     a reference set made on this backend, or NULL to use
 *                      the built-in references cfg->references (which must
 *                      then be left at its default when refs is given)
 * @param[out] out      receives the result; free with egcam_result_free().
 *                      Set to NULL on failure.
 *
 * Equal inputs, config (seed included), backend and thread count give
 * bit-identical results. The batch size changes only how samples are
 * grouped into backend calls, never which random numbers a sample draws nor
 * the order of accumulation: with a backend whose rows do not depend on
 * their batch, results are bit-identical across batch sizes too.
 *
 * Cost (forward rows, backward rows): Grad-CAM 1, 1; Integrated Grad-CAM
 * M + 1, M; Expected Grad-CAM 2N + 1, N (N + 1, N with noise 0 or the
 * clean difference); plus one forward row per reference when refs is NULL,
 * since built-in references are made for each call. Pass a reference set to
 * pay for its references once. egcam_explain_cost() gives these numbers.
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_explain(egcam_ctx *ctx, egcam_backend *backend,
                                                     const egcam_config *cfg,
                                                     const egcam_tensor *input,
                                                     const egcam_refset *refs, egcam_result **out);

/* Targets by rank (egcam_config.target_class, egcam_explain_many()'s
 * classes): the class of the input's logit of rank r, the largest being
 * rank 0, ties going to the lower class. EGCAM_TARGET_RANK(0) is -1, the
 * default target_class: the top logit. */
#define EGCAM_TARGET_RANK(r) (-1 - (int32_t)(r))

/**
 * Explain many inputs, and many targets of each, sharing the passes.
 *
 * The images of all inputs form one stream of rows cut into backend calls
 * of cfg->batch_size rows, so Grad-CAM on 64 images is 4 calls at batch 16,
 * not 64. The targets of an image share everything but the backward
 * passes: its points, references, noise and forwards (on a backend that
 * retains, egcam_backend.h; a version-1 backend forwards each batch again
 * per further target, the same result, slower). Each result is
 * bit-identical to egcam_explain() of that image alone with that target as
 * cfg->target_class (or the seed vector as cfg->target_weights), the same
 * config and seed, when the backend's rows do not depend on their batch.
 * Memory is a batch of rows plus, for at most batch_size + 1 images at a
 * time, A(x), references and one accumulator per target: it does not grow
 * with N, M or the number of images.
 *
 * @param[in]  ctx          receives the error message; required
 * @param[in]  backend      the model, cut at its target layer
 * @param[in]  cfg          made by egcam_config_init(); borrowed
 * @param[in]  inputs       input_count tensors, each [C, H, W] or
 *                          [n, C, H, W], of one shape: B images in all, in
 *                          order (one [B, C, H, W] tensor, or an array)
 * @param[in]  classes      B x targets entries, row b the targets of image
 *                          b: a class index or EGCAM_TARGET_RANK(r); or
 *                          NULL for cfg's targets, the same for every
 *                          image: the top `targets` classes (from
 *                          cfg->target_class's rank on), one class when
 *                          target_class >= 0 (targets must be 1), or, with
 *                          cfg->target_weights of targets x L entries,
 *                          `targets` seed vectors. With classes, cfg's
 *                          target fields stay at their defaults.
 * @param[in]  targets      T >= 1, targets per image
 * @param[in]  refs         as for egcam_explain(): shared by every image
 * @param[out] out          B x T entries: out[b * T + t] receives image b's
 *                          result for target t (free each with
 *                          egcam_result_free()), NULL where image b failed.
 *                          Every entry is set once the inputs' shapes are
 *                          known to be valid; before that, out is untouched.
 * @param[out] statuses     B entries or NULL: EGCAM_OK for each image
 *                          explained, else its failure (or the call's);
 *                          set when out is
 *
 * A failure of an image's own values (NaN or infinity in it, its logits or
 * its attribution: EGCAM_E_NON_FINITE; a class or rank its model lacks:
 * EGCAM_E_CLASS_OUT_OF_RANGE) fails that image alone: its entries stay
 * NULL, egcam_ctx_input_error() gives its message, and the others are
 * explained. Any other failure (arguments, backend, memory, cancelling)
 * fails the call: every entry NULL, every status the call's, and no
 * image's own message.
 *
 * @return EGCAM_OK when every image was explained; else the status of the
 *         call's failure or of the first failed image, with the message
 *         ("input b: ...") in egcam_ctx_last_error(). Free the non-NULL
 *         entries of out whatever the status. Costs, per image: the rows
 *         of egcam_explain_cost(), except that T targets pull T times the
 *         backward rows (and, on a version-1 backend, forward the points T
 *         times). @since 0.1
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_explain_many(
    egcam_ctx *ctx, egcam_backend *backend, const egcam_config *cfg, const egcam_tensor *inputs,
    uint32_t input_count, const int32_t *classes, uint32_t targets, const egcam_refset *refs,
    egcam_result **out, egcam_status *statuses);

/** The message with which image `index` of the last egcam_explain_many()
 *  on ctx failed, or "" if it did not (or for NULL). Owned by ctx; valid
 *  until the next call that takes ctx. @since 0.1 */
EGCAM_API const char *egcam_ctx_input_error(const egcam_ctx *ctx, size_t index);

/**
 * What egcam_explain() with these arguments costs, in backend rows, without
 * running anything: the rows it forwards (those forwarded for backward, and
 * the built-in references, included), the rows it pulls back, and how many
 * of the forwarded rows are built-in references made for the call. Each
 * out pointer may be NULL. The same checks as egcam_explain() apply to cfg,
 * input and refs (not those that need the backend). input may have NULL
 * data: its shape is enough, and the input is then taken not to be
 * constant (a constant input has no range for noise, so Expected Grad-CAM
 * forwards N rows fewer).
 * @return EGCAM_OK, or the status egcam_explain() would fail with before
 *         its first forward. @since 0.1
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_explain_cost(
    egcam_ctx *ctx, const egcam_config *cfg, const egcam_tensor *input, const egcam_refset *refs,
    uint64_t *forward_rows, uint64_t *backward_rows, uint64_t *reference_rows);

/* ------------------------------------------------------------------------ */
/* Results. Every pointer below is owned by the result and valid until       */
/* egcam_result_free().                                                     */
/* ------------------------------------------------------------------------ */

/* Which map (egcam_result_map).
 *   LAYER       h x w: the combiner's map after its ReLU (Grad-CAM's:
 *               ReLU(sum_k w_k A_k(x))), not normalised
 *   INPUT       H x W: the layer map, bilinear, half-pixel centres
 *               (align_corners = false)
 *   NORMALIZED  H x W: the input map scaled to [0, 1]; a constant map
 *               becomes all zeros
 *   SIGNED      h x w: the layer map before the ReLU, negative evidence
 *               included; for EGCAM_COMBINER_COMPLETE it sums to
 *               egcam_result_completeness() */
#define EGCAM_MAP_LAYER      1u
#define EGCAM_MAP_INPUT      2u
#define EGCAM_MAP_NORMALIZED 3u
#define EGCAM_MAP_SIGNED     4u

/** A map, row-major, with its height and width (either out pointer may be
 *  NULL). @return NULL for a NULL result or an unknown kind. */
EGCAM_API const float *
egcam_result_map(const egcam_result *res, uint32_t kind, uint32_t *height, uint32_t *width);

/** The channel weights w_k of the map, one per channel of the layer; NULL
 *  and a count of 0 for a combiner without them (HiResCAM, element-wise,
 *  LayerCAM, complete) and for NULL. */
EGCAM_API const float *egcam_result_weights(const egcam_result *res, uint32_t *count);

/** The EGCAM_COMBINER_* the result's maps and weights were made with (never
 *  0 for a result; 0 for NULL). @since 0.1 */
EGCAM_API uint32_t egcam_result_combiner(const egcam_result *res);

/**
 * The same explanation combined another way: a new result with the maps
 * (and weights, where the combiner has them) of `combiner`, made from res's
 * gradient term without calling the backend, so one explanation's passes
 * serve every combiner. Everything else (class, logit, completeness,
 * flags) is res's. res is not changed.
 * @param[out] out  free with egcam_result_free(); NULL on failure
 * @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT, EGCAM_E_INVALID_ARGUMENT (an
 *         unknown combiner), EGCAM_E_NON_FINITE (the map overflows),
 *         EGCAM_E_OUT_OF_MEMORY. @since 0.1
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_result_combine(egcam_ctx *ctx, const egcam_result *res,
                                                            uint32_t combiner, egcam_result **out);

/** The class explained: cfg->target_class (or the target given to
 *  egcam_explain_many()), the class of the rank it named when negative, or
 *  -1 when a seed vector (cfg->target_weights) was explained. */
EGCAM_API int32_t egcam_result_class(const egcam_result *res);

/** The explained scalar at the input: the logit of the class, or
 *  sum_j w_j * logit_j(x) for target weights. */
EGCAM_API double egcam_result_logit(const egcam_result *res);

/** The model's logits for the input, all of them (the forward of x the
 *  targets were chosen from), with their number in *count (may be NULL):
 *  what the model predicted, without a second forward. Owned by the
 *  result. NULL and a count of 0 for NULL. @since 0.1 */
EGCAM_API const float *egcam_result_logits(const egcam_result *res, uint32_t *count);

/** The softmax of egcam_result_logits(), computed in double from the
 *  largest logit down (no overflow; they sum to 1 within rounding), with
 *  their number in *count (may be NULL). Owned by the result. NULL and a
 *  count of 0 for NULL. @since 0.1 */
EGCAM_API const float *egcam_result_probabilities(const egcam_result *res, uint32_t *count);

/** The completeness sum: the layer attribution summed over channels and
 *  positions before pooling and ReLU. Integrated Grad-CAM: approaches
 *  y(x) - y(b); Expected Grad-CAM: estimates E[y(x~)] - E[y(x')];
 *  Grad-CAM: sum A(x) * G(x), the first-order estimate of y(x) - y(0-activation). */
EGCAM_API double egcam_result_completeness(const egcam_result *res);

/* What a result says about itself (egcam_result_flags). */
/** The target's gradient at the layer was exactly zero at every point the
 *  method evaluated, so the map is empty: the explained output does not
 *  depend on these activations. Typical cause: a vision transformer's last
 *  block, where only the class token reaches the head (and the tokens
 *  layout leaves it off the grid); choose an earlier block or its norm1. */
#define EGCAM_RESULT_ZERO_GRADIENT (1u << 0)

/** EGCAM_RESULT_* flags of a result (0 for NULL). A set flag is not an
 *  error: the maps are what the method computes, but likely not what was
 *  wanted. @since 0.1 */
EGCAM_API uint32_t egcam_result_flags(const egcam_result *res);

/** Destroy a result. NULL is a no-op. */
EGCAM_API void egcam_result_free(egcam_result *res);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EGCAM_H */
