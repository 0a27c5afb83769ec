/* ctx.c - the context: last error and progress hook. */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

egcam_status egcam_ctx_new(egcam_ctx **out)
{
    if (!out)
        return EGCAM_E_NULL_ARGUMENT;
    *out = egcam__calloc(1, sizeof **out);
    return *out ? EGCAM_OK : EGCAM_E_OUT_OF_MEMORY;
}

void egcam_ctx_free(egcam_ctx *ctx) { free(ctx); }

const char *egcam_ctx_last_error(const egcam_ctx *ctx) { return ctx ? ctx->error : ""; }

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
