/* fail.c - messages for the context, formatted: one definition for every
 * library built from these sources (libegcam-image reaches the context
 * through the public egcam_ctx_set_error() alone). */
#include "internal.h"

egcam_status egcam__fail(egcam_ctx *ctx, egcam_status status, const char *fmt, ...)
{
    if (!ctx)
        return status;
    char message[EGCAM__ERRBUF_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return egcam_ctx_set_error(ctx, status, message);
}

void egcam__clear_error(egcam_ctx *ctx) { egcam_ctx_set_error(ctx, EGCAM_OK, NULL); }
