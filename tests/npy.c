/* npy.c - a small reader for the .npy fixtures: format versions 1-3,
 * dtype '<f4', C order, any shape. */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t size, const char *path, const char *why)
{
    snprintf(err, size, "%s: %s", path, why);
    return -1;
}

int npy_read(const char *path, npy_array *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, err_size, path, "cannot open");
    unsigned char pre[12];
    char *header = NULL;
    int rc = -1;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fail(err, err_size, path, "not a .npy file");
        goto done;
    }
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    if (pre[6] >= 2) { /* 4-byte header length */
        if (fread(pre + 10, 1, 2, f) != 2) {
            fail(err, err_size, path, "truncated header");
            goto done;
        }
        hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    header = calloc(1, hlen + 1);
    if (!header || fread(header, 1, hlen, f) != hlen) {
        fail(err, err_size, path, "truncated header");
        goto done;
    }
    if (!strstr(header, "'descr': '<f4'") || !strstr(header, "'fortran_order': False")) {
        fail(err, err_size, path, "not little-endian float32 in C order");
        goto done;
    }
    const char *s = strstr(header, "'shape': (");
    if (!s) {
        fail(err, err_size, path, "no shape");
        goto done;
    }
    s += strlen("'shape': (");
    out->count = 1;
    while (*s != ')' && out->ndim < 8) {
        char *end;
        long long d = strtoll(s, &end, 10);
        if (end == s || d < 0) {
            fail(err, err_size, path, "bad shape");
            goto done;
        }
        out->shape[out->ndim++] = d;
        out->count *= (size_t)d;
        s = end;
        while (*s == ',' || *s == ' ')
            s++;
    }
    out->data = malloc(out->count ? out->count * sizeof(float) : 1);
    if (!out->data || fread(out->data, sizeof(float), out->count, f) != out->count) {
        free(out->data);
        out->data = NULL;
        fail(err, err_size, path, "truncated data");
        goto done;
    }
    rc = 0;
done:
    free(header);
    fclose(f);
    return rc;
}
