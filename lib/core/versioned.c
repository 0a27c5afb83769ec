/*
 * versioned.c - the ABI rules shared by every public settings struct
 * (egcam_config, egcam_preprocess, egcam_eval_options): a leading
 * struct_size set by its _init() macro to the caller's sizeof, a reserved
 * tail, and zero meaning "default" for every field added later. See
 * docs/abi.md.
 */
#include <string.h>

#include "core.h"

/* Past this a struct_size can only be garbage. */
#define EGCAM__STRUCT_SIZE_MAX 4096

int egcam__all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

egcam_status egcam__versioned_init(void *s, size_t size, size_t known)
{
    if (!s)
        return EGCAM_E_NULL_ARGUMENT;
    if (size < known || size > EGCAM__STRUCT_SIZE_MAX)
        return EGCAM_E_STRUCT_SIZE;
    /* A newer header's larger struct: its extra fields are zero, and zero
     * means "default" for every field added after version 1. */
    memset(s, 0, size);
    *(size_t *)s = size;
    return EGCAM_OK;
}

egcam_status egcam__versioned_check(egcam_ctx *ctx, const void *s, size_t known, const char *name,
                                    const char *init, int reserved_set)
{
    size_t size = *(const size_t *)s;
    if (size == 0)
        return egcam__fail(ctx, EGCAM_E_STRUCT_SIZE, "%s.struct_size is 0: initialise it with %s()",
                           name, init);
    if (size < known || size > EGCAM__STRUCT_SIZE_MAX)
        return egcam__fail(ctx, EGCAM_E_STRUCT_SIZE,
                           "%s.struct_size is %zu; this library knows %zu (from another header "
                           "version, or not made by %s())",
                           name, size, known, init);
    if (reserved_set || !egcam__all_zero((const char *)s + known, size - known))
        return egcam__fail(ctx, EGCAM_E_STRUCT_SIZE,
                           "%s has non-zero reserved bytes: settings this library (%s) does "
                           "not know, from a newer header?",
                           name, EGCAM_VERSION_STRING);
    return EGCAM_OK;
}
