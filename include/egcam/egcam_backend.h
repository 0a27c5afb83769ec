/*
 * egcam_backend.h - the ABI for model backends.
 *
 * A backend is a model cut at a target layer (chosen when the backend is
 * opened). libegcam asks it for two things only:
 *
 *   forward   a batch of inputs [N, C, H, W]  ->  the layer's activations
 *             [N, K, h, w] and the logits [N, L];
 *   backward  a seed over the logits [N, L]  ->  the gradient of
 *             sum_j seed_nj * logit_nj with respect to the activations of
 *             row n, [N, K, h, w], for the batch of the last forward.
 *
 * Several targets (classes) of one batch differ in the seed only. A
 * version-2 backend that sets backward_retain takes one backward per target
 * after a single forward; with a version-1 table libegcam forwards the
 * batch again before each further target, the same result at the cost of
 * a forward per target.
 *
 * A backend is a static table of functions (egcam_backend_ops) and an
 * instance pointer (self). Wrap them with egcam_backend_new(). See
 * docs/backend-authoring.md and examples/custom_backend.c.
 *
 * Versioning: the table starts with abi_version and struct_size, and only
 * grows at the end. libegcam refuses a table whose abi_version is newer than
 * EGCAM_BACKEND_ABI_VERSION (EGCAM_E_ABI_VERSION), and calls a slot added in
 * version N only when the table says abi_version >= N and the slot is
 * non-NULL.
 */
#ifndef EGCAM_BACKEND_H
#define EGCAM_BACKEND_H

#include "egcam.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EGCAM_BACKEND_ABI_VERSION 2u

/* Flags of forward(). */
/** A backward() on this batch will follow: keep what it needs (autograd
 *  state). Without this flag the forward needs no gradient, and a backend
 *  should run it in inference mode; a backward() after it is misuse. */
#define EGCAM_FORWARD_FOR_BACKWARD (1u << 0)

/** The logits are not needed, only the activations (version 2): a backend
 *  may stop at the layer and leave *logits empty ({0}). libegcam sets it
 *  only for a backend whose forward_flags has it, and only on forwards
 *  without EGCAM_FORWARD_FOR_BACKWARD: the references' and those of the
 *  noisy copies x + eps, which need A alone. */
#define EGCAM_FORWARD_ACTIVATIONS_ONLY (1u << 1)

/* Flags of backward_retain() (version 2). */
/** Another backward of the same forward follows: keep the autograd state.
 *  Without it the call is the forward's last backward, and the backend may
 *  free that state as version 1's backward() does. */
#define EGCAM_BACKWARD_RETAIN (1u << 0)

/* Every slot that can fail returns an egcam_status and may write a
 * NUL-terminated message into errbuf (errbuf_size >= 256 bytes, owned by
 * libegcam); truncation is fine. Slots must not throw or longjmp. */
typedef struct egcam_backend_ops {
    uint32_t    abi_version; /* EGCAM_BACKEND_ABI_VERSION you compiled with */
    uint32_t    struct_size; /* sizeof(egcam_backend_ops) you compiled with */
    const char *name;        /* short, static: "libtorch", "analytic", ... */

    /* ---- version 1 ---------------------------------------------------- */

    /** Run inputs (shape [N, C, H, W], N >= 1) through the model.
     *  Fill activations ([N, K, h, w]) and logits ([N, L]) with views of
     *  memory the backend owns, valid until the next call on self. For one
     *  input shape, K, h, w and L must not change between calls. Required. */
    egcam_status (*forward)(void *self, const egcam_tensor *inputs, uint32_t flags,
                            egcam_tensor *activations, egcam_tensor *logits, char *errbuf,
                            size_t errbuf_size);

    /** For the batch of the last forward (made with EGCAM_FORWARD_FOR_BACKWARD),
     *  the gradient of sum_j seed[n*L + j] * logit_nj with respect to the
     *  activations of row n, for every row n. seed has N*L floats, borrowed.
     *  libegcam calls it at most once per such forward, so a backend may
     *  free its autograd state here. A backward without that forward is an
     *  error the backend reports (EGCAM_E_BACKEND).
     *  Fill grad ([N, K, h, w]) with a view valid until the next call.
     *  The gradient is needed at the layer only: never below it, never for
     *  parameters. Required. */
    egcam_status (*backward)(void *self, const float *seed, egcam_tensor *grad, char *errbuf,
                             size_t errbuf_size);

    /** Free self. Called once by egcam_backend_free(). Optional (NULL: self
     *  is the caller's to free after egcam_backend_free()). */
    void (*release)(void *self);

    /* ---- version 2 ---------------------------------------------------- */

    /** backward(), for a forward that serves several: after a forward made
     *  with EGCAM_FORWARD_FOR_BACKWARD, libegcam makes one or more calls,
     *  each with its own seed, EGCAM_BACKWARD_RETAIN on every call but the
     *  last. Each gradient must be the one a fresh forward and backward of
     *  that seed would give. grad's view stays valid until the next call.
     *  Optional: when set (and abi_version >= 2), libegcam calls it instead
     *  of backward() for every backward of an explanation; when NULL, it
     *  forwards the batch again for every further target. */
    egcam_status (*backward_retain)(void *self, const float *seed, uint32_t flags,
                                    egcam_tensor *grad, char *errbuf, size_t errbuf_size);

    /** The forward() flags past EGCAM_FORWARD_FOR_BACKWARD that this
     *  backend understands: EGCAM_FORWARD_ACTIVATIONS_ONLY, or 0 (then
     *  every forward computes the logits too). */
    uint32_t forward_flags;

    /* ---- version 3 and later: append only, below this line -------------- */
} egcam_backend_ops;

/**
 * Wrap a backend table and its instance.
 *
 * The table is copied, so it need not outlive the call; self is borrowed
 * until egcam_backend_free(), which calls ops->release(self). On failure
 * nothing is released: self stays the caller's.
 *
 * @param[in]  ctx   receives the error message on failure; may be NULL
 * @param[in]  ops   abi_version in 1..EGCAM_BACKEND_ABI_VERSION, struct_size
 *                   at least the size of version 1, forward and backward set;
 *                   slots of a version above the table's abi_version are
 *                   never called, whatever they hold
 * @param[in]  self  the backend's instance, passed back to every slot
 * @param[out] out   receives the backend; free with egcam_backend_free()
 * @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT, EGCAM_E_ABI_VERSION (a newer or
 *         invalid abi_version), EGCAM_E_STRUCT_SIZE (struct_size too small),
 *         EGCAM_E_INVALID_ARGUMENT (a required slot is NULL),
 *         EGCAM_E_OUT_OF_MEMORY.
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_backend_new(egcam_ctx               *ctx,
                                                         const egcam_backend_ops *ops, void *self,
                                                         egcam_backend **out);

/**
 * Record a failure in ctx, for code that builds on libegcam (a backend's
 * constructor, a wrapper): egcam_ctx_last_error(ctx) then returns message
 * (copied, truncated to a few hundred bytes; NULL gives the status's name).
 * EGCAM_OK clears the message instead.
 * @return status, so that `return egcam_ctx_set_error(ctx, st, msg);` reads
 *         naturally. A NULL ctx is a no-op.
 */
EGCAM_API egcam_status egcam_ctx_set_error(egcam_ctx *ctx, egcam_status status,
                                           const char *message);

/**
 * Run a backend's forward directly, with the checks libegcam applies to
 * what a backend hands back (ranks, row counts, sizes). For programs that
 * test or time a backend on its own: bench/ times the forward and backward
 * passes an explanation cannot avoid this way.
 *
 * @param[in]  inputs       [N, C, H, W], N >= 1; borrowed for the call
 * @param[in]  flags        EGCAM_FORWARD_FOR_BACKWARD when
 *                          egcam_backend_backward() follows, else 0
 * @param[out] activations  [N, K, h, w], a view of the backend's memory
 * @param[out] logits       [N, L], likewise
 * The views stay valid until the next call on the backend. ctx receives
 * the message on failure and may be NULL, as for egcam_backend_new().
 * @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT, EGCAM_E_SHAPE_MISMATCH,
 *         EGCAM_E_EMPTY, EGCAM_E_INVALID_ARGUMENT (flags, sizes),
 *         EGCAM_E_BACKEND or the backend's own failure. @since 0.1
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_backend_forward(egcam_ctx *ctx, egcam_backend *backend,
                                                             const egcam_tensor *inputs,
                                                             uint32_t            flags,
                                                             egcam_tensor       *activations,
                                                             egcam_tensor       *logits);

/**
 * Run a backend's backward for the batch of the last forward, which must
 * have been an egcam_backend_forward() made with EGCAM_FORWARD_FOR_BACKWARD
 * (else EGCAM_E_MISUSE; the forwards inside egcam_explain() and
 * egcam_refset_new() never count, even when those calls fail).
 *
 * @param[in]  seed  N x L floats: row n weighs the logits of input n
 * @param[out] grad  [N, K, h, w], a view valid until the next call
 * @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT, EGCAM_E_MISUSE, EGCAM_E_BACKEND
 *         or the backend's own failure. @since 0.1
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_backend_backward(egcam_ctx     *ctx,
                                                              egcam_backend *backend,
                                                              const float   *seed,
                                                              egcam_tensor  *grad);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EGCAM_BACKEND_H */
