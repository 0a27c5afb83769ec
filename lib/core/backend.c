/* backend.c - the wrapper around a backend table: version gate, and checks
 * of everything a backend hands back. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* The first version's table ends with `release`. */
#define EGCAM__OPS_V1_SIZE (offsetof(egcam_backend_ops, release) + sizeof(void (*)(void *)))

egcam_status egcam_backend_new(egcam_ctx *ctx, const egcam_backend_ops *ops, void *self,
                               egcam_backend **out)
{
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_backend_new: out is NULL");
    *out = NULL;
    if (!ops)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_backend_new: ops is NULL");
    if (ops->abi_version == 0 || ops->abi_version > EGCAM_BACKEND_ABI_VERSION)
        return egcam__fail(ctx, EGCAM_E_ABI_VERSION,
                           "backend '%s' has abi_version %u; this libegcam (%s) supports 1 to %u",
                           ops->name ? ops->name : "?", ops->abi_version, EGCAM_VERSION_STRING,
                           EGCAM_BACKEND_ABI_VERSION);
    if (ops->struct_size < EGCAM__OPS_V1_SIZE)
        return egcam__fail(ctx, EGCAM_E_STRUCT_SIZE,
                           "backend '%s' has struct_size %u; version 1 needs at least %zu",
                           ops->name ? ops->name : "?", ops->struct_size, EGCAM__OPS_V1_SIZE);
    if (!ops->forward || !ops->backward)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "backend '%s' has no %s function",
                           ops->name ? ops->name : "?", ops->forward ? "backward" : "forward");
    egcam_backend *be = egcam__calloc(1, sizeof *be);
    if (!be)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory");
    /* Copy what the caller's version has; slots it lacks stay NULL. */
    size_t n = ops->struct_size < sizeof be->ops ? ops->struct_size : sizeof be->ops;
    memcpy(&be->ops, ops, n);
    /* Never use a field the table's version lacks, or one it holds only part of. */
    if (be->ops.abi_version < 2 || ops->struct_size < offsetof(egcam_backend_ops, backward_retain) +
                                                          sizeof be->ops.backward_retain)
        be->ops.backward_retain = NULL;
    if (be->ops.abi_version < 2 || ops->struct_size < offsetof(egcam_backend_ops, forward_flags) +
                                                          sizeof be->ops.forward_flags)
        be->ops.forward_flags = 0;
    be->ops.forward_flags &= EGCAM_FORWARD_ACTIVATIONS_ONLY; /* the ones this version knows */
    if (!be->ops.name)
        be->ops.name = "unnamed";
    be->self = self;
    atomic_init(&be->owner, NULL);
    *out = be;
    return EGCAM_OK;
}

void egcam_backend_free(egcam_backend *be)
{
    if (!be)
        return;
    if (be->ops.release)
        be->ops.release(be->self);
    free(be);
}

const char *egcam_backend_name(const egcam_backend *be) { return be ? be->ops.name : ""; }

/* Callers without a context are told apart by thread: the address of a
 * thread-local object is unique to its thread while the thread lives. */
static _Thread_local char thread_token;

egcam_status egcam__backend_enter(egcam_ctx *ctx, egcam_backend *be, const char *fn, int *entered)
{
    const void *me = ctx ? (const void *)ctx : (const void *)&thread_token;
    const void *idle = NULL;
    *entered = 0;
    if (atomic_compare_exchange_strong(&be->owner, &idle, me)) {
        *entered = 1;
        return EGCAM_OK;
    }
    if (idle == me) /* our own nested call */
        return EGCAM_OK;
    return egcam__fail(ctx, EGCAM_E_MISUSE,
                       "%s: backend '%s' is in use by another call (another thread or "
                       "context): a backend serves one call at a time (docs/threading.md)",
                       fn, be->ops.name);
}

void egcam__backend_leave(egcam_backend *be, int entered)
{
    if (entered)
        atomic_store(&be->owner, NULL);
}

/* A backend's own status, kept when it is a failure libegcam knows. */
static egcam_status backend_failure(egcam_ctx *ctx, const egcam_backend *be, egcam_status st,
                                    const char *slot, const char *msg)
{
    if (st <= EGCAM_OK || st >= EGCAM_STATUS_END)
        st = EGCAM_E_BACKEND;
    return egcam__fail(ctx, st, "backend '%s': %s failed: %s", be->ops.name, slot,
                       msg[0] ? msg : egcam_status_string(st));
}

/* "[1, 4, 0, 16]" for messages; entries past ndim are not part of it. */
static void shape_text(const egcam_tensor *t, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (uint32_t i = 0; i < t->ndim && i < 4 && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

/* Check a [rows, ...] tensor from the backend against the dims expected. */
static egcam_status check_rows(egcam_ctx *ctx, const egcam_backend *be, const egcam_tensor *t,
                               const char *what, uint32_t ndim, size_t rows)
{
    char shape[96];
    shape_text(t, shape, sizeof shape);
    if (t->ndim != ndim)
        return egcam__fail(ctx, EGCAM_E_BACKEND,
                           "backend '%s' returned %s with %u dimensions (shape %s); expected %u",
                           be->ops.name, what, t->ndim, t->ndim <= 4 ? shape : "?", ndim);
    if (t->shape[0] != (int64_t)rows)
        return egcam__fail(ctx, EGCAM_E_BACKEND,
                           "backend '%s' returned %s for %lld rows; %zu were sent (shape %s)",
                           be->ops.name, what, (long long)t->shape[0], rows, shape);
    for (uint32_t i = 1; i < ndim; i++) {
        if (t->shape[i] == 0)
            return egcam__fail(ctx, EGCAM_E_BACKEND,
                               "backend '%s' returned empty %s: shape %s has a dimension of 0",
                               be->ops.name, what, shape);
        if (t->shape[i] < 0 || t->shape[i] > (int64_t)1 << 30)
            return egcam__fail(ctx, EGCAM_E_BACKEND,
                               "backend '%s' returned %s of shape %s: dimension %u is out of "
                               "range",
                               be->ops.name, what, shape, i);
    }
    if (!t->data)
        return egcam__fail(ctx, EGCAM_E_BACKEND,
                           "backend '%s' returned %s of shape %s with no data", be->ops.name, what,
                           shape);
    return EGCAM_OK;
}

egcam_status egcam__forward(egcam_ctx *ctx, egcam_backend *be, const float *inputs, size_t rows,
                            egcam__shape item, uint32_t flags, egcam__dims *dims,
                            egcam__forward_out *out)
{
    egcam_tensor in = {
        inputs, {(int64_t)rows, (int64_t)item.c, (int64_t)item.h, (int64_t)item.w}, 4, 0};
    egcam_tensor acts = {0}, logits = {0};
    char msg[EGCAM__ERRBUF_SIZE] = "";
    be->pending_rows = 0;
    egcam_status st = be->ops.forward(be->self, &in, flags, &acts, &logits, msg, sizeof msg);
    msg[sizeof msg - 1] = '\0';
    if (st != EGCAM_OK)
        return backend_failure(ctx, be, st, "forward", msg);
    int no_logits = (flags & EGCAM_FORWARD_ACTIVATIONS_ONLY) != 0;
    if ((st = check_rows(ctx, be, &acts, "activations", 4, rows)) != EGCAM_OK ||
        (!no_logits && (st = check_rows(ctx, be, &logits, "logits", 2, rows)) != EGCAM_OK))
        return st;
    egcam__shape act = {(size_t)acts.shape[1], (size_t)acts.shape[2], (size_t)acts.shape[3]};
    /* Without logits their count stays unknown (0) until a forward has them. */
    size_t classes = no_logits ? dims->classes : (size_t)logits.shape[1];
    if (!egcam__count(rows, egcam__count(act.c, egcam__count(act.h, act.w))) ||
        (classes && !egcam__count(rows, classes)))
        return egcam__fail(ctx, EGCAM_E_BACKEND,
                           "backend '%s' returned activations [%zu,%zu,%zu] and %zu logits per "
                           "row: too large",
                           be->ops.name, act.c, act.h, act.w, classes);
    if (!dims->known) {
        dims->known = 1;
        dims->act = act;
        dims->classes = classes;
    } else if (!dims->classes) {
        dims->classes = classes;
    }
    if (act.c != dims->act.c || act.h != dims->act.h || act.w != dims->act.w ||
        classes != dims->classes) {
        return egcam__fail(ctx, EGCAM_E_BACKEND,
                           "backend '%s' changed shapes between calls: activations [%zu,%zu,%zu] "
                           "then [%zu,%zu,%zu], %zu then %zu logits",
                           be->ops.name, dims->act.c, dims->act.h, dims->act.w, act.c, act.h, act.w,
                           dims->classes, classes);
    }
    out->acts = acts.data;
    out->logits = no_logits ? NULL : logits.data;
    return EGCAM_OK;
}

egcam_status egcam__backward(egcam_ctx *ctx, egcam_backend *be, const float *seed, size_t rows,
                             uint32_t flags, const egcam__dims *dims, const float **grad)
{
    egcam_tensor g = {0};
    char msg[EGCAM__ERRBUF_SIZE] = "";
    be->pending_rows = 0; /* one backward per public forward */
    egcam_status st = be->ops.backward_retain
                          ? be->ops.backward_retain(be->self, seed, flags, &g, msg, sizeof msg)
                          : be->ops.backward(be->self, seed, &g, msg, sizeof msg);
    msg[sizeof msg - 1] = '\0';
    if (st != EGCAM_OK)
        return backend_failure(ctx, be, st,
                               be->ops.backward_retain ? "backward_retain" : "backward", msg);
    if ((st = check_rows(ctx, be, &g, "a gradient", 4, rows)) != EGCAM_OK)
        return st;
    if ((size_t)g.shape[1] != dims->act.c || (size_t)g.shape[2] != dims->act.h ||
        (size_t)g.shape[3] != dims->act.w)
        return egcam__fail(ctx, EGCAM_E_BACKEND,
                           "backend '%s' returned a gradient of shape [%lld,%lld,%lld] for "
                           "activations of shape [%zu,%zu,%zu]",
                           be->ops.name, (long long)g.shape[1], (long long)g.shape[2],
                           (long long)g.shape[3], dims->act.c, dims->act.h, dims->act.w);
    *grad = g.data;
    return EGCAM_OK;
}

/* ---- the public wrappers: the same checks, for callers outside the engine */

egcam_status egcam_backend_forward(egcam_ctx *ctx, egcam_backend *be, const egcam_tensor *inputs,
                                   uint32_t flags, egcam_tensor *activations, egcam_tensor *logits)
{
    egcam__clear_error(ctx);
    if (!be || !activations || !logits)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT,
                           "egcam_backend_forward: backend, activations or logits is NULL");
    *activations = (egcam_tensor){0};
    *logits = (egcam_tensor){0};
    uint32_t known = EGCAM_FORWARD_FOR_BACKWARD | be->ops.forward_flags;
    if (flags & ~known)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "egcam_backend_forward: flags 0x%x unknown, or not taken by backend "
                           "'%s'",
                           flags & ~known, be->ops.name);
    if ((flags & EGCAM_FORWARD_FOR_BACKWARD) && (flags & EGCAM_FORWARD_ACTIVATIONS_ONLY))
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "egcam_backend_forward: a forward for backward needs the logits");
    size_t rows;
    egcam__shape item;
    egcam_status st = egcam__check_batch(ctx, inputs, "the inputs", 0, &rows, &item);
    if (st != EGCAM_OK)
        return st;
    egcam__dims dims = {0};
    egcam__forward_out fw;
    int entered;
    if ((st = egcam__backend_enter(ctx, be, "egcam_backend_forward", &entered)) != EGCAM_OK)
        return st;
    st = egcam__forward(ctx, be, inputs->data, rows, item, flags, &dims, &fw);
    /* Only this forward opens a backward for the caller: the engine's own
     * forwards for backward are pulled back by the engine, or abandoned
     * when it fails in between, and their rows are not the caller's. */
    if (st == EGCAM_OK && (flags & EGCAM_FORWARD_FOR_BACKWARD)) {
        be->pending_rows = rows;
        be->pending_act = dims.act;
    }
    egcam__backend_leave(be, entered);
    if (st != EGCAM_OK)
        return st;
    *activations = (egcam_tensor){
        fw.acts,
        {(int64_t)rows, (int64_t)dims.act.c, (int64_t)dims.act.h, (int64_t)dims.act.w},
        4,
        0};
    if (fw.logits)
        *logits = (egcam_tensor){fw.logits, {(int64_t)rows, (int64_t)dims.classes}, 2, 0};
    return EGCAM_OK;
}

egcam_status egcam_backend_backward(egcam_ctx *ctx, egcam_backend *be, const float *seed,
                                    egcam_tensor *grad)
{
    egcam__clear_error(ctx);
    if (!be || !seed || !grad)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT,
                           "egcam_backend_backward: backend, seed or grad is NULL");
    *grad = (egcam_tensor){0};
    int entered;
    egcam_status st = egcam__backend_enter(ctx, be, "egcam_backend_backward", &entered);
    if (st != EGCAM_OK)
        return st;
    size_t rows = be->pending_rows;
    egcam__dims dims = {.known = 1, .act = be->pending_act};
    const float *g;
    if (!rows)
        st = egcam__fail(ctx, EGCAM_E_MISUSE,
                         "egcam_backend_backward: the last forward on backend '%s' was not "
                         "made with EGCAM_FORWARD_FOR_BACKWARD, or its backward was taken",
                         be->ops.name);
    else
        st = egcam__backward(ctx, be, seed, rows, 0, &dims, &g);
    egcam__backend_leave(be, entered);
    if (st != EGCAM_OK)
        return st;
    *grad = (egcam_tensor){
        g, {(int64_t)rows, (int64_t)dims.act.c, (int64_t)dims.act.h, (int64_t)dims.act.w}, 4, 0};
    return EGCAM_OK;
}

int egcam__backend_retains(const egcam_backend *be) { return be->ops.backward_retain != NULL; }

uint32_t egcam__activations_only(const egcam_backend *be)
{
    return be->ops.forward_flags & EGCAM_FORWARD_ACTIVATIONS_ONLY;
}
