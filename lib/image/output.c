/*
 * output.c - what the library writes, to a file or to memory, through one
 * stream, so that each format has one encoder (egcam__encode).
 *
 * A file is written to a temporary file beside its destination and renamed
 * onto it once complete, so that a reader never sees half a file, a failed
 * write (a full disk) leaves nothing behind, and a symbolic link planted at
 * the destination is replaced, never followed. Memory is an open_memstream()
 * stream, handed over as an egcam_bytes.
 */
#define _POSIX_C_SOURCE 200809L /* lstat, getpid, clock_gettime, open_memstream */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image.h"

/* The temporary file's name keeps at most this much of the destination's,
 * so that it stays within NAME_MAX (255) with its prefix and suffix. */
#define KEPT_NAME 200

static egcam_status io_failure(egcam_ctx *ctx, const char *path, const char *what, int err)
{
    return egcam__fail(ctx, EGCAM_E_IO, "%s: %s%s%s", path, what, what[0] ? ": " : "",
                       err ? strerror(err) : "unknown error");
}

struct egcam_bytes {
    char *data; /* from open_memstream(): free() */
    size_t size;
};

const void *egcam_bytes_data(const egcam_bytes *bytes) { return bytes ? bytes->data : NULL; }

size_t egcam_bytes_size(const egcam_bytes *bytes) { return bytes ? bytes->size : 0; }

void egcam_bytes_free(egcam_bytes *bytes)
{
    if (!bytes)
        return;
    free(bytes->data);
    free(bytes);
}

static egcam_status output_open(egcam_ctx *ctx, const char *path, egcam__output *out)
{
    *out = (egcam__output){.path = path};
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        return egcam__fail(ctx, EGCAM_E_IO, "%s: %s", path,
                           S_ISDIR(st.st_mode) ? "is a folder"
                                               : "not a regular file (a device or a pipe); "
                                                 "libegcam writes regular files only");
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    if (!*base)
        return egcam__fail(ctx, EGCAM_E_IO, "%s: names a folder, not a file", path);
    size_t base_len = strlen(base) < KEPT_NAME ? strlen(base) : KEPT_NAME;
    size_t size = dir_len + base_len + 40;
    if (!(out->tmp = egcam__malloc(size)))
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "%s: out of memory", path);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned long long tag = (unsigned long long)now.tv_nsec ^
                             ((unsigned long long)now.tv_sec << 30) ^
                             ((unsigned long long)getpid() << 8);
    /* "wx" creates the file or fails: it never opens what is already there
     * (a link planted at the temporary name included). A clash is retried. */
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        snprintf(out->tmp, size, "%.*s.%.*s.%llx-%u.tmp", (int)dir_len, path, (int)base_len, base,
                 tag, attempt);
        if ((out->f = fopen(out->tmp, "wbx")))
            return EGCAM_OK;
        if (errno != EEXIST)
            break;
    }
    int err = errno;
    free(out->tmp);
    out->tmp = NULL;
    return io_failure(ctx, path, "cannot create a file in its folder", err);
}

egcam_status egcam__output_write(egcam_ctx *ctx, egcam__output *out, const void *data, size_t n)
{
    if (n && fwrite(data, 1, n, out->f) != n)
        return io_failure(ctx, out->path, "write error", errno);
    return EGCAM_OK;
}

static egcam_status memory_open(egcam_ctx *ctx, egcam__output *out)
{
    *out = (egcam__output){.path = "memory"};
    if (!(out->f = open_memstream(&out->mem, &out->mem_size)))
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the encoded bytes");
    return EGCAM_OK;
}

static void output_discard(egcam__output *out)
{
    if (out->f)
        fclose(out->f);
    if (out->tmp)
        remove(out->tmp);
    free(out->tmp);
    free(out->mem);
    *out = (egcam__output){0};
}

static egcam_status memory_finish(egcam_ctx *ctx, egcam__output *out, egcam_bytes **bytes)
{
    int failed = fclose(out->f) != 0; /* sets mem and mem_size */
    out->f = NULL;
    egcam_bytes *b = failed ? NULL : egcam__malloc(sizeof *b);
    if (!b) {
        output_discard(out);
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the encoded bytes");
    }
    *b = (egcam_bytes){out->mem, out->mem_size};
    out->mem = NULL;
    output_discard(out);
    *bytes = b;
    return EGCAM_OK;
}

static egcam_status output_commit(egcam_ctx *ctx, egcam__output *out)
{
    egcam_status st = EGCAM_OK;
    if (fflush(out->f) != 0 || ferror(out->f))
        st = io_failure(ctx, out->path, "write error", errno);
    int closed = fclose(out->f);
    out->f = NULL;
    if (st == EGCAM_OK && closed != 0)
        st = io_failure(ctx, out->path, "write error", errno);
    if (st == EGCAM_OK && rename(out->tmp, out->path) != 0)
        st = io_failure(ctx, out->path, "cannot replace it", errno);
    if (st == EGCAM_OK) {
        free(out->tmp);
        out->tmp = NULL;
    }
    output_discard(out);
    return st;
}

egcam_status egcam__encode(egcam_ctx *ctx, const char *path, egcam_bytes **bytes,
                           egcam__encoder encode, const void *what)
{
    egcam__output out;
    egcam_status st = path ? output_open(ctx, path, &out) : memory_open(ctx, &out);
    if (st == EGCAM_OK)
        st = encode(ctx, &out, what);
    if (st != EGCAM_OK) {
        output_discard(&out);
        return st;
    }
    return path ? output_commit(ctx, &out) : memory_finish(ctx, &out, bytes);
}
