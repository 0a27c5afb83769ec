/*
 * eval.h - what the files of lib/eval (the metrics, in libegcam) share.
 * They reach the core only through lib/core/internal.h.
 */
#ifndef EGCAM_EVAL_EVAL_H
#define EGCAM_EVAL_EVAL_H

#include "../core/internal.h"
#include "egcam/egcam_eval.h"

/* What every metric of a backend checks and needs: the input's shape. */
typedef struct egcam__eval_input {
    const float *x;
    egcam__shape shape;
    size_t size; /* C*H*W */
    size_t area; /* H*W */
} egcam__eval_input;

/* Check options: struct_size, reserved bytes, then every field. */
egcam_status egcam__eval_check_options(egcam_ctx *ctx, const egcam_eval_options *opts);
/* Check backend, input ([C,H,W] or [1,C,H,W], finite), map (H*W finite
 * floats) and target (>= 0), in that order. */
egcam_status egcam__eval_check(egcam_ctx *ctx, const char *fn, const egcam_backend *be,
                               const egcam_tensor *input, const float *map, int32_t target,
                               egcam__eval_input *in);
/* What a score is: the class's softmax probability or its raw logit. */
enum { EGCAM__SCORE_PROB = 0, EGCAM__SCORE_LOGIT = 1 };
/* Forward `rows` inputs and write each row's score of class target to
 * scores[rows]: EGCAM_E_CLASS_OUT_OF_RANGE when the model has no such
 * logit, EGCAM_E_NON_FINITE for a NaN or infinite logit. */
egcam_status egcam__eval_scores(egcam_ctx *ctx, egcam_backend *be, const float *inputs, size_t rows,
                                egcam__shape shape, egcam__dims *dims, int32_t target, int kind,
                                double *scores);
/* The fill of opts->fill for x, into out (C*H*W floats). */
egcam_status egcam__eval_fill(egcam_ctx *ctx, const egcam__eval_input *in, uint32_t fill,
                              float *out);

#endif /* EGCAM_EVAL_EVAL_H */
