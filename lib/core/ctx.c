/* ctx.c - the context: last error and progress hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

egcam_status egcam_ctx_new(egcam_ctx **out)
{
    if (!out)
        return EGCAM_E_NULL_ARGUMENT;
    *out = egcam__calloc(1, sizeof **out);
    return *out ? EGCAM_OK : EGCAM_E_OUT_OF_MEMORY;
}

void egcam_ctx_free(egcam_ctx *ctx)
{
    if (ctx)
        free(ctx->input_errors);
    free(ctx);
}

const char *egcam_ctx_last_error(const egcam_ctx *ctx) { return ctx ? ctx->error : ""; }

const char *egcam_ctx_input_error(const egcam_ctx *ctx, size_t index)
{
    if (!ctx)
        return "";
    for (size_t i = 0; i < ctx->input_error_count; i++) /* kept in input order */
        if (ctx->input_errors[i].index >= index)
            return ctx->input_errors[i].index == index ? ctx->input_errors[i].message : "";
    return "";
}

egcam_status egcam__ctx_input_failed(egcam_ctx *ctx, size_t index, egcam_status status)
{
    if (ctx->input_error_count == ctx->input_error_cap) {
        size_t cap = ctx->input_error_cap ? 2 * ctx->input_error_cap : 8;
        void *grown = egcam__realloc(ctx->input_errors, cap * sizeof *ctx->input_errors);
        if (!grown)
            return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY,
                               "out of memory for the message of input %zu", index);
        ctx->input_errors = grown;
        ctx->input_error_cap = cap;
    }
    /* Kept in input order: inputs fail as their turn comes, which is not
     * always in order (a later input's own values, before an earlier one's
     * attribution), so insert from the end. */
    size_t at = ctx->input_error_count++;
    for (; at > 0 && ctx->input_errors[at - 1].index > index; at--)
        ctx->input_errors[at] = ctx->input_errors[at - 1];
    struct egcam__input_error *e = &ctx->input_errors[at];
    e->index = index;
    e->status = status;
    memcpy(e->message, ctx->error, sizeof e->message);
    return EGCAM_OK;
}

egcam_status egcam_ctx_set_progress(egcam_ctx *ctx, egcam_progress_fn fn, void *user)
{
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    ctx->progress = fn;
    ctx->progress_user = fn ? user : NULL;
    return EGCAM_OK;
}

/* Control characters (newlines, tabs) become spaces and runs of spaces one
 * space, so that a message is always one line: a backend's or LibTorch's
 * multi-line text included. */
static void one_line(char *s)
{
    char *out = s;
    for (const char *in = s; *in; in++) {
        unsigned char c = (unsigned char)*in;
        char put = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        if (put == ' ' && (out == s || out[-1] == ' '))
            continue;
        *out++ = put;
    }
    while (out > s && out[-1] == ' ')
        out--;
    *out = '\0';
}

/* Every message reaches the context here: egcam__fail() (fail.c) formats,
 * in each library, and calls this. */
egcam_status egcam_ctx_set_error(egcam_ctx *ctx, egcam_status status, const char *message)
{
    if (!ctx)
        return status;
    if (status == EGCAM_OK) { /* a success leaves no message */
        ctx->error[0] = '\0';
        ctx->input_error_count = 0;
        return status;
    }
    if (message == ctx->error) /* re-raising the message it holds */
        return status;
    snprintf(ctx->error, sizeof ctx->error, "%s",
             message && *message ? message : egcam_status_string(status));
    one_line(ctx->error);
    return status;
}

egcam_status egcam__progress(egcam_ctx *ctx, uint64_t done, uint64_t total)
{
    if (ctx && ctx->progress && ctx->progress(ctx->progress_user, done, total))
        return egcam__fail(ctx, EGCAM_E_CANCELLED,
                           "cancelled by the progress callback after %llu of %llu samples",
                           (unsigned long long)done, (unsigned long long)total);
    return EGCAM_OK;
}
