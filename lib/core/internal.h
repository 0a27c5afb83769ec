/*
 * internal.h - what lib/core shares with lib/image and lib/eval: the one
 * declared interface between the folders (each keeps its own private
 * header: core.h, image.h, eval.h). Nothing here is exported: every name is
 * egcam__-prefixed and hidden by the version scripts.
 *
 * Two libraries are built from these folders: libegcam (core and eval) and
 * libegcam-image (image, which alone links libpng). The part of this
 * interface that libegcam-image uses, marked [shared] below, is compiled
 * into both from the static library egcam_shared (lib/meson.build); the
 * rest is libegcam's alone, for lib/eval.
 */
#ifndef EGCAM_CORE_INTERNAL_H
#define EGCAM_CORE_INTERNAL_H

#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "egcam/egcam.h"
#include "egcam/egcam_backend.h"

#if defined(__GNUC__)
#  define EGCAM__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define EGCAM__PRINTF(f, a)
#endif

/* ---- errors (fail.c) [shared] --------------------------------------------- */
#define EGCAM__ERRBUF_SIZE 512

/* Record status and a formatted message in ctx (which may be NULL) through
 * egcam_ctx_set_error(); returns status so that callers can write
 * `return egcam__fail(ctx, ...)`. Messages are one line: control
 * characters (a backend's multi-line text) become spaces. */
egcam_status egcam__fail(egcam_ctx *ctx, egcam_status status, const char *fmt, ...)
    EGCAM__PRINTF(3, 4);
void egcam__clear_error(egcam_ctx *ctx);

/* ---- memory (alloc.c) [shared] -------------------------------------------- */
/* Every allocation the libraries make goes through these. The
 * allocation-failure test (tests/test_alloc_fail.c) builds the sources with
 * EGCAM_ALLOC_FAIL, which makes them count and fail the k-th on request. */
#ifdef EGCAM_ALLOC_FAIL
void *egcam__malloc(size_t size);
void *egcam__calloc(size_t count, size_t size);
void *egcam__realloc(void *p, size_t size);
#else
#  define egcam__malloc malloc
#  define egcam__calloc calloc
#  define egcam__realloc realloc
#endif

/* Large enough for any real tensor, small enough that counts of floats or
 * bytes, and their products with a batch size, never overflow size_t. */
#define EGCAM__MAX_ELEMENTS ((size_t)1 << 40)

/* a * b when both and the product stay within EGCAM__MAX_ELEMENTS, else 0:
 * every size the library allocates from caller or backend numbers goes
 * through here, so no product can wrap. */
static inline size_t egcam__count(size_t a, size_t b)
{
    return a && b && a <= EGCAM__MAX_ELEMENTS && b <= EGCAM__MAX_ELEMENTS / a ? a * b : 0;
}

/* count elements of size bytes (size <= 16); NULL when count is 0, which is
 * what egcam__count() gives for a size out of range. */
static inline void *egcam__alloc_array(size_t count, size_t size)
{
    return count && count <= EGCAM__MAX_ELEMENTS ? egcam__malloc(count * size) : NULL;
}

/* ---- shapes and tensors (tensor.c) [shared] -------------------------------- */
/* The shape of one image-like item: channels, height, width. */
typedef struct egcam__shape {
    size_t c, h, w;
} egcam__shape;

static inline size_t egcam__shape_size(egcam__shape s) { return s.c * s.h * s.w; }

/* Check a caller's tensor: non-NULL data, ndim in range, no zero or
 * negative dimension, no overflowing size, reserved zero (or the mark of a
 * tensor libegcam made). `what` names it in messages. Splits it into a
 * count of items and the item shape, where an [C,H,W] tensor is one item
 * when allow_single is set. */
egcam_status egcam__check_batch(egcam_ctx *ctx, const egcam_tensor *t, const char *what,
                                int allow_single, size_t *count, egcam__shape *item);
/* EGCAM_E_NON_FINITE naming `what` when n floats hold a NaN or infinity. */
egcam_status egcam__check_finite(egcam_ctx *ctx, const float *v, size_t n, const char *what);
void egcam__minmax(const float *v, size_t n, float *min, float *max);

/* The `reserved` field of tensors and images the libraries make (their
 * _free() checks it, so that one made by the caller is never freed). A
 * caller's own has 0 there; both are valid wherever a tensor or an image
 * is taken. */
#define EGCAM__OWNED_MARK 0x6567636du /* "egcm" */

static inline int egcam__reserved_ok(uint32_t reserved)
{
    return reserved == 0 || reserved == EGCAM__OWNED_MARK;
}

/* Where the data of such an object starts: after the struct, in the same
 * block, aligned for any type. */
#define EGCAM__BLOCK_HEAD(type)                                                                    \
  ((sizeof(type) + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t))

/* A tensor of ndim (1..4) dimensions shape[0..ndim-1] (each >= 1, at most
 * 2^40 elements in all, as egcam__check_batch allows); data zeroed and
 * aligned for any type; shape entries past ndim are 0. Fill it through
 * (float *)t->data (the memory is not const); free with
 * egcam_tensor_free(). NULL when the shape is invalid or too large, or
 * memory runs out: validate shapes first to tell those apart. */
egcam_tensor *egcam__tensor_new(const int64_t *shape, uint32_t ndim);

/* ---- versioned settings structs (versioned.c) [shared] -------------------- */
int egcam__all_zero(const void *p, size_t n);
/* Zero size bytes of s and set its leading size_t struct_size; sizes below
 * known (this library's sizeof) or absurd give EGCAM_E_STRUCT_SIZE. */
egcam_status egcam__versioned_init(void *s, size_t size, size_t known);
/* s's struct_size in range and its bytes past known zero; reserved_set says
 * whether the struct's own reserved fields hold anything. name and init
 * (the _init function) appear in the messages. */
egcam_status egcam__versioned_check(egcam_ctx *ctx, const void *s, size_t known, const char *name,
                                    const char *init, int reserved_set);

/* ---- resampling (resample.c) [shared] --------------------------------------- */
/* Resize a float plane ih x iw to oh x ow (all >= 1): triangle filter on
 * half-pixel centres, which is bilinear interpolation when enlarging. When
 * shrinking, antialias widens the filter by the scale (PIL's BILINEAR,
 * torchvision's resize(antialias=True)); without it, two taps as PyTorch's
 * interpolate(align_corners=False, antialias=False). tmp is NULL or ih * ow
 * floats of scratch that save recomputation; the result is the same bits.
 * Never fails and never allocates. */
void egcam__resample(const float *in, size_t ih, size_t iw, float *out, size_t oh, size_t ow,
                     int antialias, float *tmp);

/* ---- backend calls (backend.c), for lib/eval ------------------------------ */
/* The shapes a backend produced for one input shape: fixed by the first
 * forward of an explanation (or of a reference set), checked on the rest. */
typedef struct egcam__dims {
    int known;
    egcam__shape act; /* K, h, w */
    size_t classes;   /* L */
} egcam__dims;

/* What one checked forward returned: rows of activations and of logits,
 * views of the backend's memory, valid until its next call. */
typedef struct egcam__forward_out {
    const float *acts;
    const float *logits;
} egcam__forward_out;

/* Enter a call on be for ctx (be non-NULL): EGCAM_E_MISUSE, naming fn,
 * when another context or thread is inside a call on it. A nested call by
 * the same caller (egcam_eval_sensitivity explaining) passes. *entered
 * says whether this call took the backend: pass it to egcam__backend_leave
 * on every way out. */
egcam_status egcam__backend_enter(egcam_ctx *ctx, egcam_backend *be, const char *fn, int *entered);
void egcam__backend_leave(egcam_backend *be, int entered);

/* Forward `rows` items of shape `item`; reports failures in ctx. */
egcam_status egcam__forward(egcam_ctx *ctx, egcam_backend *be, const float *inputs, size_t rows,
                            egcam__shape item, uint32_t flags, egcam__dims *dims,
                            egcam__forward_out *out);
/* Backward from seed (rows x classes) after a forward for backward; flags
 * (EGCAM_BACKWARD_RETAIN) only when egcam__backend_retains(be). */
egcam_status egcam__backward(egcam_ctx *ctx, egcam_backend *be, const float *seed, size_t rows,
                             uint32_t flags, const egcam__dims *dims, const float **grad);
/* EGCAM_FORWARD_ACTIVATIONS_ONLY when be takes it, else 0: the flag for a
 * forward that needs A alone. Its logits are then NULL, and dims->classes
 * stays 0 until a forward with logits. */
uint32_t egcam__activations_only(const egcam_backend *be);
/* Whether be takes several backwards per forward (a version-2 table with
 * backward_retain). */
int egcam__backend_retains(const egcam_backend *be);

/* ---- targets (targets.c), for lib/eval ------------------------------------- */
/* The class of the logit of rank `rank` (0: the largest; ties to the lower
 * class) among `classes` logits; EGCAM_E_CLASS_OUT_OF_RANGE past them. */
egcam_status egcam__class_of_rank(egcam_ctx *ctx, const float *logits, size_t classes,
                                  uint64_t rank, int32_t *out);

/* ---- configuration (config.c), for lib/eval --------------------------------- */
/* Validate cfg: its size and reserved bytes, then every field. */
egcam_status egcam__check_config(egcam_ctx *ctx, const egcam_config *cfg);

/* ---- random numbers (rng.c), for lib/eval ----------------------------------- */
/* A stream of random numbers. Streams are keyed by (seed, purpose, index),
 * so a draw does not depend on the order or grouping of other draws: the
 * batch size cannot change which numbers a sample sees. */
typedef struct egcam__rng {
    uint64_t s[4];
} egcam__rng;

enum egcam__stream {
    EGCAM__STREAM_SAMPLE = 1,     /* per Expected Grad-CAM sample */
    EGCAM__STREAM_REFERENCE = 2,  /* per built-in uniform reference */
    EGCAM__STREAM_EVAL_NOISE = 3, /* per infidelity perturbation (lib/eval) */
    EGCAM__STREAM_EVAL_BALL = 4,  /* per max-sensitivity perturbation (lib/eval) */
    EGCAM__STREAM_NOISE = 5,      /* per noise draw of the schemes past independent */
    EGCAM__STREAM_ROUND = 6       /* per round of balanced references */
};

void egcam__rng_init(egcam__rng *r, uint64_t seed, uint32_t purpose, uint64_t index);
uint64_t egcam__rng_next(egcam__rng *r);
double egcam__rng_uniform(egcam__rng *r);             /* [0, 1) */
uint32_t egcam__rng_below(egcam__rng *r, uint32_t n); /* [0, n) */
double egcam__rng_normal(egcam__rng *r);              /* N(0, 1) */

/* ---- blur (blur.c), for lib/eval -------------------------------------------- */
/* Separable Gaussian blur of each channel, edges replicated. */
egcam_status egcam__blur(const float *in, float *out, egcam__shape s, double sigma);

#endif /* EGCAM_CORE_INTERNAL_H */
