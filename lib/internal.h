/*
 * internal.h - what the files of the core share. Nothing here is exported:
 * every name is static, egcam__-prefixed, or hidden by the version script.
 */
#ifndef EGCAM_INTERNAL_H
#define EGCAM_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
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

#define EGCAM__ERRBUF_SIZE 512

/* ---- context (ctx.c) ---------------------------------------------------- */
struct egcam_ctx {
    char              error[EGCAM__ERRBUF_SIZE];
    egcam_progress_fn progress;
    void             *progress_user;
};

/* Record status and a formatted message in ctx (which may be NULL); returns
 * status so that callers can write `return egcam__fail(ctx, ...)`. Messages
 * are one line: control characters (a backend's multi-line text) become
 * spaces. */
egcam_status egcam__fail(egcam_ctx *ctx, egcam_status status, const char *fmt, ...)
    EGCAM__PRINTF(3, 4);
void egcam__clear_error(egcam_ctx *ctx);
/* Ask the progress hook whether to go on; EGCAM_E_CANCELLED if not. */
egcam_status egcam__progress(egcam_ctx *ctx, uint64_t done, uint64_t total);

/* ---- shapes (tensor.c) -------------------------------------------------- */
/* The shape of one image-like item: channels, height, width. */
typedef struct egcam__shape {
    size_t c, h, w;
} egcam__shape;

static inline size_t egcam__shape_size(egcam__shape s) { return s.c * s.h * s.w; }

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

/* Check a caller's tensor: non-NULL data, ndim in range, no zero or
 * negative dimension, no overflowing size, reserved zero. `what` names it
 * in messages. Splits it into a count of items and the item shape, where an
 * [C,H,W] tensor is one item when allow_single is set. */
egcam_status egcam__check_batch(egcam_ctx *ctx, const egcam_tensor *t, const char *what,
                                int allow_single, size_t *count, egcam__shape *item);
/* EGCAM_E_NON_FINITE naming `what` when n floats hold a NaN or infinity. */
egcam_status egcam__check_finite(egcam_ctx *ctx, const float *v, size_t n, const char *what);
void egcam__minmax(const float *v, size_t n, float *min, float *max);

/* ---- backend (backend.c) ------------------------------------------------ */
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

/* The shapes a backend produced for one input shape: fixed by the first
 * forward of an explanation (or of a reference set), checked on the rest. */
typedef struct egcam__dims {
    int          known;
    egcam__shape act;       /* K, h, w */
    size_t       classes;   /* L */
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
egcam_status egcam__backend_enter(egcam_ctx *ctx, egcam_backend *be, const char *fn,
                                  int *entered);
void egcam__backend_leave(egcam_backend *be, int entered);

/* Forward `rows` items of shape `item`; reports failures in ctx. */
egcam_status egcam__forward(egcam_ctx *ctx, egcam_backend *be, const float *inputs,
                            size_t rows, egcam__shape item, uint32_t flags,
                            egcam__dims *dims, egcam__forward_out *out);
/* Backward from seed (rows x classes) after a forward for backward. */
egcam_status egcam__backward(egcam_ctx *ctx, egcam_backend *be, const float *seed,
                             size_t rows, const egcam__dims *dims, const float **grad);

/* ---- versioned settings structs (versioned.c) ---------------------------- */
int egcam__all_zero(const void *p, size_t n);
/* Zero size bytes of s and set its leading size_t struct_size; sizes below
 * known (this library's sizeof) or absurd give EGCAM_E_STRUCT_SIZE. */
egcam_status egcam__versioned_init(void *s, size_t size, size_t known);
/* s's struct_size in range and its bytes past known zero; reserved_set says
 * whether the struct's own reserved fields hold anything. name and init
 * (the _init function) appear in the messages. */
egcam_status egcam__versioned_check(egcam_ctx *ctx, const void *s, size_t known,
                                    const char *name, const char *init, int reserved_set);

/* ---- configuration (config.c) ------------------------------------------- */
/* Validate cfg: its size and reserved bytes, then every field. */
egcam_status egcam__check_config(egcam_ctx *ctx, const egcam_config *cfg);

/* ---- random numbers (rng.c) --------------------------------------------- */
/* A stream of random numbers. Streams are keyed by (seed, purpose, index),
 * so a draw does not depend on the order or grouping of other draws: the
 * batch size cannot change which numbers a sample sees. */
typedef struct egcam__rng {
    uint64_t s[4];
} egcam__rng;

enum egcam__stream {
    EGCAM__STREAM_SAMPLE = 1,      /* per Expected Grad-CAM sample */
    EGCAM__STREAM_REFERENCE = 2,   /* per built-in uniform reference */
    EGCAM__STREAM_EVAL_NOISE = 3,  /* per infidelity perturbation (eval.c) */
    EGCAM__STREAM_EVAL_BALL = 4    /* per max-sensitivity perturbation (eval.c) */
};

void     egcam__rng_init(egcam__rng *r, uint64_t seed, uint32_t purpose, uint64_t index);
uint64_t egcam__rng_next(egcam__rng *r);
double   egcam__rng_uniform(egcam__rng *r);            /* [0, 1) */
uint32_t egcam__rng_below(egcam__rng *r, uint32_t n);  /* [0, n) */
double   egcam__rng_normal(egcam__rng *r);             /* N(0, 1) */

/* ---- reference sets (refset.c, blur.c) ---------------------------------- */
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
/* Separable Gaussian blur of each channel, edges replicated. */
egcam_status egcam__blur(const float *in, float *out, egcam__shape s, double sigma);

/* ---- sampling plans (plan.c) -------------------------------------------- */
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

/* ---- results (result.c, maps.c) ----------------------------------------- */
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

/* ---- files the library writes (output.c) -------------------------------- */
/* A file being written: a temporary beside path, renamed onto path by
 * egcam__output_commit(). Every failure names path and strerror. */
typedef struct egcam__output {
    FILE       *f;
    char       *tmp;   /* the temporary file's path */
    const char *path;  /* the destination, borrowed */
} egcam__output;

/* Refuses a path that names a folder, a device or a pipe (E_IO); a link at
 * path is replaced by the rename, not followed. */
egcam_status egcam__output_open(egcam_ctx *ctx, const char *path, egcam__output *out);
egcam_status egcam__output_write(egcam_ctx *ctx, egcam__output *out, const void *data, size_t n);
/* Close and rename onto the destination; on any failure, and always after
 * it, the temporary is gone and out is ended. */
egcam_status egcam__output_commit(egcam_ctx *ctx, egcam__output *out);
/* Abandon the file: the destination is untouched. */
void egcam__output_discard(egcam__output *out);

/* ---- tensors and images the library returns (npy.c, png.c) ------------- */
#include "egcam/egcam_image.h"

/* Each is one malloc'd block, the struct followed by its data, so that
 * egcam_tensor_free() and egcam_image_free() are a single free(). Never
 * point data/pixels of such an object anywhere else.
 *
 * egcam__tensor_new: a tensor of ndim (1..4) dimensions shape[0..ndim-1]
 * (each >= 1, at most 2^40 elements in all, as egcam__check_batch allows);
 * data zeroed and aligned for any type (max_align_t); shape entries past
 * ndim and reserved are 0. Fill it through (float *)t->data (the memory is
 * not const). NULL when the shape is invalid or too large, or memory runs
 * out: validate shapes first to tell those apart. Defined in npy.c. */
egcam_tensor *egcam__tensor_new(const int64_t *shape, uint32_t ndim);

/* egcam_npy_read() on an open stream, from its current position; `path`
 * names it in messages. *out is set only on success; the stream is left
 * open. It asks the stream for its length (ftell/fseek) to refuse sizes
 * the file cannot hold before allocating: a FILE from fmemopen() works,
 * which is how tests/fuzz/fuzz_npy.c feeds it bytes. Defined in npy.c. */
egcam_status egcam__npy_read_stream(egcam_ctx *ctx, FILE *f, const char *path,
                                    egcam_tensor **out);

/* egcam__image_new: a width x height image (each >= 1) of 1, 3 or 4
 * channels; pixels zeroed and aligned for any type; reserved 0. NULL when
 * an argument is invalid, the size overflows size_t, or memory runs out.
 * Defined in png.c. */
egcam_image *egcam__image_new(uint32_t width, uint32_t height, uint32_t channels);

/* ---- resampling (resample.c) -------------------------------------------- */
/* The largest image the picture functions take or make, as for PNG reading;
 * it keeps every size in floats and bytes far from overflowing size_t. */
#define EGCAM__IMAGE_MAX_PIXELS EGCAM_PNG_MAX_PIXELS

/* Resize a float plane ih x iw to oh x ow (all >= 1): triangle filter on
 * half-pixel centres, which is bilinear interpolation when enlarging. When
 * shrinking, antialias widens the filter by the scale (PIL's BILINEAR,
 * torchvision's resize(antialias=True)); without it, two taps as PyTorch's
 * interpolate(align_corners=False, antialias=False). tmp is NULL or ih * ow
 * floats of scratch that save recomputation; the result is the same bits.
 * Never fails and never allocates. */
void egcam__resample(const float *in, size_t ih, size_t iw, float *out, size_t oh, size_t ow,
                     int antialias, float *tmp);

/* Check a caller's image: NULL, NULL pixels, reserved bytes, zero size,
 * channels other than 1/3/4, more than EGCAM__IMAGE_MAX_PIXELS; `what`
 * names it in the message. */
egcam_status egcam__check_image(egcam_ctx *ctx, const egcam_image *img, const char *what);

/* A checked image as `channels` (1 or 3) float planes of values 0..255,
 * resized to oh x ow with antialiasing: gray repeated for RGB, RGB to gray
 * by BT.601 luma, alpha ignored. out holds channels * oh * ow floats.
 * EGCAM_E_OUT_OF_MEMORY (without a message) when scratch cannot be had. */
egcam_status egcam__image_planes(const egcam_image *img, uint32_t channels, size_t oh,
                                 size_t ow, float *out);

/* ---- colour maps (colormap.c) ------------------------------------------- */
/* The 256 RGB entries of an EGCAM_COLORMAP_*, or NULL for an unknown one. */
const uint8_t (*egcam__colormap_table(uint32_t colormap))[3];
/* The entry for v: clamped to [0, 1], NaN as 0, then matplotlib's rule. */
size_t egcam__colormap_index(float v);

/* ---- bitmap font (font.c) ----------------------------------------------- */
/* Fixed cells of misc-fixed 6x10; scale multiplies both. */
#define EGCAM__FONT_WIDTH  6
#define EGCAM__FONT_HEIGHT 10

/* Width in pixels of one line of text at scale: characters times cell. */
size_t egcam__text_width(const char *text, uint32_t scale);
/* Draw one line of text (bytes outside printable ASCII as '?') into a
 * width x height RGB buffer, the top-left of its first cell at (x, y),
 * clipped to the buffer; only the glyphs' pixels are painted, in color. */
void egcam__draw_text(uint8_t *rgb, size_t width, size_t height, ptrdiff_t x, ptrdiff_t y,
                      const char *text, uint32_t scale, const uint8_t color[3]);

/* ---- metrics (eval.c, eval_curve.c) ------------------------------------ */
#include "egcam/egcam_eval.h"

/* What every metric of a backend checks and needs: the input's shape. */
typedef struct egcam__eval_input {
    const float *x;
    egcam__shape shape;
    size_t       size;    /* C*H*W */
    size_t       area;    /* H*W */
} egcam__eval_input;

/* count elements of size bytes (size <= 16); NULL when count is 0, which is
 * what egcam__count() gives for a size out of range. */
static inline void *egcam__eval_alloc(size_t count, size_t size)
{
    return count && count <= EGCAM__MAX_ELEMENTS ? malloc(count * size) : NULL;
}

/* Check options: struct_size, reserved bytes, then every field. */
egcam_status egcam__eval_check_options(egcam_ctx *ctx, const egcam_eval_options *opts);
/* Check backend, input ([C,H,W] or [1,C,H,W], finite), map (H*W finite
 * floats) and target (>= 0), in that order. */
egcam_status egcam__eval_check(egcam_ctx *ctx, const char *fn, const egcam_backend *be,
                               const egcam_tensor *input, const float *map,
                               int32_t target, egcam__eval_input *in);
/* What a score is: the class's softmax probability or its raw logit. */
enum { EGCAM__SCORE_PROB = 0, EGCAM__SCORE_LOGIT = 1 };
/* Forward `rows` inputs and write each row's score of class target to
 * scores[rows]: EGCAM_E_CLASS_OUT_OF_RANGE when the model has no such
 * logit, EGCAM_E_NON_FINITE for a NaN or infinite logit. */
egcam_status egcam__eval_scores(egcam_ctx *ctx, egcam_backend *be, const float *inputs,
                                size_t rows, egcam__shape shape, egcam__dims *dims,
                                int32_t target, int kind, double *scores);
/* The fill of opts->fill for x, into out (C*H*W floats). */
egcam_status egcam__eval_fill(egcam_ctx *ctx, const egcam__eval_input *in, uint32_t fill,
                              float *out);

#endif /* EGCAM_INTERNAL_H */
