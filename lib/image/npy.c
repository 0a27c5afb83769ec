/*
 * npy.c - NumPy .npy files of little-endian float32 in C order.
 *
 * The format (numpy/lib/format.py): the magic "\x93NUMPY", a major and a
 * minor version byte, the header length (2 bytes little-endian in 1.0, 4
 * in 2.0 and 3.0), then the header: a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n', then the raw data.
 */
#define _POSIX_C_SOURCE 200809L /* fmemopen */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* The longest header read. NumPy's own for '<f4' are under 128 bytes. */
#define EGCAM__NPY_MAX_HEADER ((uint32_t)1 << 20)

static int host_is_little_endian(void)
{
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap32(void *data, size_t n)
{
    unsigned char *p = data;
    for (size_t i = 0; i < n; i++, p += 4) {
        unsigned char t = p[0];
        p[0] = p[3];
        p[3] = t;
        t = p[1];
        p[1] = p[2];
        p[2] = t;
    }
}

/* ---- header parsing ----------------------------------------------------- */

typedef struct hparser {
    const char *p, *end;
    const char *error; /* what was wrong, a static string */
} hparser;

static void skip_space(hparser *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

/* Skip spaces, then expect c. */
static int expect(hparser *h, char c, const char *error)
{
    skip_space(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return 1;
    }
    h->error = error;
    return 0;
}

/* A Python string literal in single or double quotes, without escapes;
 * its characters go to buf (NUL-terminated, truncated to size - 1). */
static int parse_string(hparser *h, char *buf, size_t size)
{
    skip_space(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) {
        h->error = "expected a quoted string";
        return 0;
    }
    char quote = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != quote) {
        unsigned char c = (unsigned char)*h->p;
        if (c == '\\' || c < 0x20 || c >= 0x7f) {
            h->error = "unexpected character in a string";
            return 0;
        }
        if (n + 1 < size)
            buf[n++] = (char)c;
        h->p++;
    }
    if (h->p >= h->end) {
        h->error = "unterminated string";
        return 0;
    }
    h->p++;
    buf[n] = '\0';
    return 1;
}

static int parse_word(hparser *h, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(h->end - h->p) < n || memcmp(h->p, word, n) != 0)
        return 0;
    const char *after = h->p + n;
    if (after < h->end && ((*after >= 'a' && *after <= 'z') || (*after >= 'A' && *after <= 'Z') ||
                           (*after >= '0' && *after <= '9') || *after == '_'))
        return 0;
    h->p = after;
    return 1;
}

static int parse_bool(hparser *h, int *value)
{
    skip_space(h);
    if (parse_word(h, "True")) {
        *value = 1;
        return 1;
    }
    if (parse_word(h, "False")) {
        *value = 0;
        return 1;
    }
    h->error = "fortran_order is not True or False";
    return 0;
}

/* A non-negative decimal integer (with Python 2's optional L suffix). */
static int parse_dim(hparser *h, int64_t *value)
{
    skip_space(h);
    if (h->p >= h->end || *h->p < '0' || *h->p > '9') {
        h->error = "a dimension of the shape is not a non-negative integer";
        return 0;
    }
    uint64_t v = 0;
    while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
        unsigned d = (unsigned)(*h->p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10) {
            h->error = "a dimension of the shape is too large";
            return 0;
        }
        v = v * 10 + d;
        h->p++;
    }
    if (h->p < h->end && (*h->p == 'L' || *h->p == 'l'))
        h->p++;
    *value = (int64_t)v;
    return 1;
}

/* A Python tuple of integers: (), (3,), (2, 3) or (2, 3,). Up to max_dims
 * are stored; *ndim counts them all. */
static int parse_shape(hparser *h, int64_t *shape, uint32_t max_dims, uint32_t *ndim)
{
    if (!expect(h, '(', "shape is not a tuple"))
        return 0;
    uint32_t n = 0;
    int comma = 0; /* a comma followed the last element */
    for (;;) {
        skip_space(h);
        if (h->p < h->end && *h->p == ')') {
            h->p++;
            break;
        }
        if (n > 0 && !comma) {
            h->error = "malformed shape tuple";
            return 0;
        }
        int64_t v;
        if (!parse_dim(h, &v))
            return 0;
        if (n < max_dims)
            shape[n] = v;
        if (n < UINT32_MAX)
            n++;
        skip_space(h);
        comma = h->p < h->end && *h->p == ',';
        if (comma)
            h->p++;
    }
    if (n == 1 && !comma) { /* (3) is the integer 3 in Python, not a tuple */
        h->error = "shape is not a tuple (a 1-tuple needs a trailing comma)";
        return 0;
    }
    *ndim = n;
    return 1;
}

typedef struct npy_header {
    char descr[16];
    int fortran_order;
    int64_t shape[5];
    uint32_t ndim;
} npy_header;

/* Parse the dict: keys descr, fortran_order and shape, each exactly once,
 * in any order, with an optional trailing comma; then only white space. */
static int parse_header(hparser *h, npy_header *out)
{
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    if (!expect(h, '{', "the header is not a dict"))
        return 0;
    for (;;) {
        skip_space(h);
        if (h->p < h->end && *h->p == '}') {
            h->p++;
            break;
        }
        char key[32];
        if (!parse_string(h, key, sizeof key))
            return 0;
        if (!expect(h, ':', "expected ':' after a key"))
            return 0;
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            seen_descr = 1;
            if (!parse_string(h, out->descr, sizeof out->descr))
                return 0;
        } else if (strcmp(key, "fortran_order") == 0 && !seen_order) {
            seen_order = 1;
            if (!parse_bool(h, &out->fortran_order))
                return 0;
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            seen_shape = 1;
            if (!parse_shape(h, out->shape, 5, &out->ndim))
                return 0;
        } else {
            int known = strcmp(key, "descr") == 0 || strcmp(key, "fortran_order") == 0 ||
                        strcmp(key, "shape") == 0;
            h->error = known ? "a key appears twice"
                             : "unknown key (expected descr, fortran_order and shape)";
            return 0;
        }
        skip_space(h);
        if (h->p < h->end && *h->p == ',') {
            h->p++;
            continue;
        }
        if (!expect(h, '}', "expected ',' or '}' after a value"))
            return 0;
        break;
    }
    skip_space(h);
    if (h->p != h->end) {
        h->error = "unexpected characters after the dict";
        return 0;
    }
    if (!seen_descr || !seen_order || !seen_shape) {
        h->error = !seen_descr   ? "the header has no descr"
                   : !seen_order ? "the header has no fortran_order"
                                 : "the header has no shape";
        return 0;
    }
    return 1;
}

/* ---- reading ------------------------------------------------------------ */

/* A short read of what: E_IO on a read error, else E_FORMAT. */
static egcam_status short_read(egcam_ctx *ctx, FILE *f, const char *path, const char *what)
{
    if (ferror(f))
        return egcam__fail(ctx, EGCAM_E_IO, "%s: read error in the %s: %s", path, what,
                           errno ? strerror(errno) : "unknown");
    return egcam__fail(ctx, EGCAM_E_FORMAT, "%s: truncated .npy file (the %s ends early)", path,
                       what);
}

/* Bytes from the current position to the end of f, or -1 if unknown. */
static long long bytes_left(FILE *f)
{
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END) != 0)
        return -1;
    long end = ftell(f);
    if (fseek(f, here, SEEK_SET) != 0 || end < here)
        return -1;
    return (long long)end - here;
}

/* egcam_npy_read() on an open stream, from its current position; `path`
 * names it in messages. *out is set only on success; the stream is left
 * open. It asks the stream for its length (ftell/fseek) to refuse sizes the
 * file cannot hold before allocating: a file, or memory through fmemopen(). */
static egcam_status read_stream(egcam_ctx *ctx, FILE *f, const char *path, egcam_tensor **out)
{
    unsigned char pre[12];
    if (fread(pre, 1, 8, f) != 8) {
        if (ferror(f))
            return short_read(ctx, f, path, "magic");
        return egcam__fail(ctx, EGCAM_E_FORMAT, "%s: not a .npy file (too short)", path);
    }
    if (memcmp(pre, "\x93NUMPY", 6) != 0)
        return egcam__fail(ctx, EGCAM_E_FORMAT, "%s: not a .npy file (bad magic)", path);
    unsigned major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0)
        return egcam__fail(ctx, EGCAM_E_FORMAT,
                           "%s: .npy format version %u.%u; expected 1.0, 2.0 or 3.0", path, major,
                           minor);
    size_t len_size = major == 1 ? 2 : 4;
    if (fread(pre + 8, 1, len_size, f) != len_size)
        return short_read(ctx, f, path, "header length");
    uint32_t hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    if (len_size == 4)
        hlen |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    long long left = bytes_left(f);
    if (left >= 0 && (unsigned long long)hlen > (unsigned long long)left)
        return egcam__fail(ctx, EGCAM_E_FORMAT,
                           "%s: the header length %lu runs past the end of the file "
                           "(%lld bytes left)",
                           path, (unsigned long)hlen, left);
    if (hlen > EGCAM__NPY_MAX_HEADER)
        return egcam__fail(ctx, EGCAM_E_FORMAT, "%s: header of %lu bytes is too long", path,
                           (unsigned long)hlen);

    char *text = egcam__malloc(hlen ? hlen : 1);
    if (!text)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "%s: out of memory for the header", path);
    if (fread(text, 1, hlen, f) != hlen) {
        free(text);
        return short_read(ctx, f, path, "header");
    }
    npy_header hd;
    memset(&hd, 0, sizeof hd);
    hparser h = {text, text + hlen, NULL};
    int ok;
    if (hlen == 0 || text[hlen - 1] != '\n') { /* the format ends it so; a wrong */
        ok = 0;                                /* length shows here */
        h.error = "the header does not end with a newline";
    } else {
        ok = parse_header(&h, &hd);
    }
    free(text);
    if (!ok)
        return egcam__fail(ctx, EGCAM_E_FORMAT, "%s: bad .npy header: %s", path, h.error);

    if (strcmp(hd.descr, "<f4") != 0)
        return egcam__fail(ctx, EGCAM_E_FORMAT, "%s: dtype '%s'; expected '<f4' (float32)", path,
                           hd.descr);
    if (hd.fortran_order)
        return egcam__fail(ctx, EGCAM_E_FORMAT, "%s: Fortran order; expected C order", path);
    if (hd.ndim < 1 || hd.ndim > 4)
        return egcam__fail(ctx, EGCAM_E_FORMAT, "%s: %lu dimensions; expected 1 to 4", path,
                           (unsigned long)hd.ndim);
    uint64_t count = 1;
    for (uint32_t i = 0; i < hd.ndim; i++)
        if (hd.shape[i] == 0)
            return egcam__fail(ctx, EGCAM_E_EMPTY, "%s: dimension %u is 0 (an empty array)", path,
                               (unsigned)i);
    for (uint32_t i = 0; i < hd.ndim; i++) {
        if ((uint64_t)hd.shape[i] > (uint64_t)EGCAM__MAX_ELEMENTS / count)
            return egcam__fail(ctx, EGCAM_E_FORMAT,
                               "%s: the array is too large (over 2^40 "
                               "elements)",
                               path);
        count *= (uint64_t)hd.shape[i];
    }
    left = bytes_left(f);
    if (left >= 0 && (unsigned long long)left / 4 < count)
        return egcam__fail(ctx, EGCAM_E_FORMAT,
                           "%s: truncated .npy file: the shape needs %llu bytes of data, "
                           "the file has %lld",
                           path, (unsigned long long)count * 4, left);

    egcam_tensor *t = egcam__tensor_new(hd.shape, hd.ndim);
    if (!t)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "%s: out of memory for %llu floats", path,
                           (unsigned long long)count);
    float *data = (float *)t->data;
    if (fread(data, sizeof(float), (size_t)count, f) != (size_t)count) {
        egcam_tensor_free(t);
        return short_read(ctx, f, path, "data");
    }
    if (!host_is_little_endian())
        swap32(data, (size_t)count);
    *out = t;
    return EGCAM_OK;
}

egcam_status egcam_npy_read(egcam_ctx *ctx, const char *path, egcam_tensor **out)
{
    if (out) /* even without a ctx, a failed call leaves no output */
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_npy_read: out is NULL");
    if (!path)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_npy_read: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f)
        return egcam__fail(ctx, EGCAM_E_IO, "%s: %s", path, strerror(errno));
    egcam_status st = read_stream(ctx, f, path, out);
    fclose(f);
    return st;
}

egcam_status egcam_npy_decode(egcam_ctx *ctx, const void *data, size_t size, egcam_tensor **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out || !data)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_npy_decode: %s is NULL",
                           out ? "data" : "out");
    if (size == 0) /* fmemopen() refuses a buffer of no bytes */
        return egcam__fail(ctx, EGCAM_E_FORMAT, ".npy data: not a .npy file (too short)");
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (!f)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, ".npy data: out of memory");
    egcam_status st = read_stream(ctx, f, ".npy data", out);
    fclose(f);
    return st;
}

/* ---- writing ------------------------------------------------------------ */

/* The header NumPy 1.24 writes for a C-order '<f4' array, byte for byte:
 * the dict with keys sorted, spare spaces for the first dimension to grow
 * to 21 digits, then spaces and '\n' up to a multiple of 64 bytes counting
 * the 10 bytes of magic, version and length (always at least one space). */
static size_t npy_header_text(const egcam_tensor *t, char *buf, size_t size)
{
    char shape[128];
    size_t n = 0;
    shape[n++] = '(';
    for (uint32_t i = 0; i < t->ndim; i++)
        n += (size_t)snprintf(shape + n, sizeof shape - n, i ? ", %lld" : "%lld",
                              (long long)t->shape[i]);
    n += (size_t)snprintf(shape + n, sizeof shape - n, t->ndim == 1 ? ",)" : ")");
    int first_digits = snprintf(NULL, 0, "%lld", (long long)t->shape[0]);
    int len = snprintf(buf, size, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }%*s",
                       shape, 21 - first_digits, "");
    size_t hlen = (size_t)len + 1; /* with the final '\n' */
    size_t pad = 64 - (10 + hlen) % 64;
    memset(buf + len, ' ', pad);
    buf[(size_t)len + pad] = '\n';
    return (size_t)len + pad + 1;
}

/* The checks both writers make, naming fn; *count gets the elements. */
static egcam_status check_tensor(egcam_ctx *ctx, const char *fn, const egcam_tensor *tensor,
                                 uint64_t *count)
{
    if (!tensor)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: tensor is NULL", fn);
    if (!tensor->data)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: tensor has NULL data", fn);
    if (!egcam__reserved_ok(tensor->reserved))
        return egcam__fail(ctx, EGCAM_E_STRUCT_SIZE, "%s: tensor reserved field is not 0", fn);
    if (tensor->ndim < 1 || tensor->ndim > 4)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "%s: tensor has %u dimensions; expected 1 to 4", fn,
                           (unsigned)tensor->ndim);
    *count = 1;
    for (uint32_t i = 0; i < tensor->ndim; i++)
        if (tensor->shape[i] <= 0)
            return egcam__fail(ctx, EGCAM_E_EMPTY, "%s: dimension %u is %lld", fn, (unsigned)i,
                               (long long)tensor->shape[i]);
    for (uint32_t i = 0; i < tensor->ndim; i++) {
        if ((uint64_t)tensor->shape[i] > (uint64_t)EGCAM__MAX_ELEMENTS / *count)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                               "%s: tensor is too large (over 2^40 elements)", fn);
        *count *= (uint64_t)tensor->shape[i];
    }
    return EGCAM_OK;
}

/* The encoder of egcam__encode(): magic, header, data (checked tensor). */
static egcam_status encode_npy(egcam_ctx *ctx, egcam__output *out, const void *what)
{
    const egcam_tensor *tensor = what;
    size_t count = 1;
    for (uint32_t i = 0; i < tensor->ndim; i++)
        count *= (size_t)tensor->shape[i];
    /* The longest header: 4 dimensions of 19 digits fit well within 256. */
    char header[256];
    size_t header_len = npy_header_text(tensor, header, sizeof header);
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(header_len & 0xff),
                             (unsigned char)(header_len >> 8)};
    egcam_status st = egcam__output_write(ctx, out, pre, sizeof pre);
    if (st == EGCAM_OK)
        st = egcam__output_write(ctx, out, header, header_len);
    if (st == EGCAM_OK && host_is_little_endian())
        return egcam__output_write(ctx, out, tensor->data, count * sizeof(float));
    float chunk[1024];
    for (size_t done = 0; st == EGCAM_OK && done < count;) {
        size_t n = count - done < 1024 ? count - done : 1024;
        memcpy(chunk, tensor->data + done, n * sizeof(float));
        swap32(chunk, n);
        st = egcam__output_write(ctx, out, chunk, n * sizeof(float));
        done += n;
    }
    return st;
}

egcam_status egcam_npy_write(egcam_ctx *ctx, const char *path, const egcam_tensor *tensor)
{
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!path)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_npy_write: path is NULL");
    uint64_t count;
    egcam_status st = check_tensor(ctx, "egcam_npy_write", tensor, &count);
    return st != EGCAM_OK ? st : egcam__encode(ctx, path, NULL, encode_npy, tensor);
}

egcam_status egcam_npy_encode(egcam_ctx *ctx, const egcam_tensor *tensor, egcam_bytes **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_npy_encode: out is NULL");
    uint64_t count;
    egcam_status st = check_tensor(ctx, "egcam_npy_encode", tensor, &count);
    return st != EGCAM_OK ? st : egcam__encode(ctx, NULL, out, encode_npy, tensor);
}
