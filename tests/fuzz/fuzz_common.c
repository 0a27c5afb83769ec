/* fuzz_common.c - verbose notes, and temporary files for the harnesses
 * that need paths. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fuzz_note(const char *fmt, ...)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("EGCAM_FUZZ_VERBOSE") != NULL;
    if (!verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static char temp_dir[4096];
static char temp_names[8][4096];
static int temp_count;

static void remove_temp(void)
{
    for (int i = 0; i < temp_count; i++)
        unlink(temp_names[i]);
    if (temp_dir[0])
        rmdir(temp_dir);
}

const char *fuzz_temp_dir(void)
{
    if (temp_dir[0])
        return temp_dir;
    const char *base = getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    char buf[sizeof temp_dir];
    if ((size_t)snprintf(buf, sizeof buf, "%s/egcam-fuzz-XXXXXX", base) >= sizeof buf ||
        !mkdtemp(buf))
        return NULL;
    memcpy(temp_dir, buf, sizeof temp_dir);
    atexit(remove_temp);
    return temp_dir;
}

const char *fuzz_temp_path(const char *name)
{
    const char *dir = fuzz_temp_dir();
    if (!dir)
        return NULL;
    char buf[sizeof temp_names[0]];
    if ((size_t)snprintf(buf, sizeof buf, "%s/%s", dir, name) >= sizeof buf)
        return NULL;
    for (int i = 0; i < temp_count; i++)
        if (strcmp(temp_names[i], buf) == 0)
            return temp_names[i];
    if (temp_count == 8)
        return NULL;
    memcpy(temp_names[temp_count], buf, sizeof buf);
    return temp_names[temp_count++];
}

int fuzz_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok ? 0 : -1;
}
