/* inputs.c - turn INPUT arguments into model inputs. */
#define _POSIX_C_SOURCE 200809L
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcasecmp(s + n - m, suffix) == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push(char ***list, int *count, int *cap, char *item)
{
    if (!item)
        return -1;
    if (*count == *cap) {
        int n = *cap ? 2 * *cap : 16;
        char **grown = realloc(*list, (size_t)n * sizeof *grown);
        if (!grown) {
            free(item);
            return -1;
        }
        *list = grown;
        *cap = n;
    }
    (*list)[(*count)++] = item;
    return 0;
}

/* Append the .png files of folder dir, sorted. */
static int push_folder(const char *dir, char ***list, int *count, int *cap)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "egcam: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int first = *count;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!has_suffix(e->d_name, ".png"))
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(n);
        if (p)
            snprintf(p, n, "%s/%s", dir, e->d_name);
        if (push(list, count, cap, p) != 0) {
            closedir(d);
            return -2;
        }
    }
    closedir(d);
    if (*count == first) {
        fprintf(stderr, "egcam: %s: no .png files in this folder\n", dir);
        return -1;
    }
    qsort(*list + first, (size_t)(*count - first), sizeof **list, by_name);
    return 0;
}

int cli_list_inputs(char **paths, int count, char ***out, int *bad)
{
    char **list = NULL;
    int n = 0, cap = 0;
    *bad = 0;
    for (int i = 0; i < count; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            fprintf(stderr, "egcam: %s: %s\n", paths[i], strerror(errno));
            ++*bad;
            continue;
        }
        int rc = S_ISDIR(st.st_mode) ? push_folder(paths[i], &list, &n, &cap)
                                     : (push(&list, &n, &cap, strdup(paths[i])) ? -2 : 0);
        if (rc == -2) {
            cli_free_list(list, n);
            fprintf(stderr, "egcam: out of memory\n");
            return -1;
        }
        *bad += rc != 0;
    }
    *out = list;
    return n;
}

void cli_free_list(char **list, int count)
{
    for (int i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

static char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *start = slash ? slash + 1 : path;
    char *name = strdup(start);
    char *dot = name ? strrchr(name, '.') : NULL;
    if (dot && dot != name)
        *dot = '\0';
    return name;
}

/* A .npy model input: [C,H,W] or [1,C,H,W]. */
static int load_npy(egcam_ctx *ctx, const char *path, cli_input *in)
{
    if (egcam_npy_read(ctx, path, &in->tensor) != EGCAM_OK) {
        fprintf(stderr, "egcam: %s\n", egcam_ctx_last_error(ctx));
        return 1;
    }
    egcam_tensor *t = in->tensor;
    if (t->ndim == 4 && t->shape[0] == 1) { /* [1,C,H,W] -> [C,H,W] */
        memmove(t->shape, t->shape + 1, 3 * sizeof t->shape[0]);
        t->ndim = 3;
    }
    if (t->ndim != 3) {
        fprintf(stderr,
                "egcam: %s: a model input must be [C,H,W] or [1,C,H,W]; this has %u "
                "dimensions\n",
                path, t->ndim);
        return 1;
    }
    return 0;
}

static int name_taken(char **names, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

char **cli_output_names(char **paths, int count)
{
    char **own = calloc((size_t)(count > 0 ? count : 1), sizeof *own);
    char **names = calloc((size_t)(count > 0 ? count : 1), sizeof *names);
    int ok = own && names;
    for (int i = 0; ok && i < count; i++)
        ok = (own[i] = base_name(paths[i])) != NULL;
    for (int i = 0; ok && i < count; i++) {
        if (!name_taken(names, i, own[i])) {
            names[i] = strdup(own[i]);
            ok = names[i] != NULL;
            continue;
        }
        size_t size = strlen(own[i]) + 24;
        char *alt = malloc(size);
        for (unsigned k = 2; alt; k++) { /* not another input's own name, nor one given */
            snprintf(alt, size, "%s-%u", own[i], k);
            if (!name_taken(names, i, alt) && !name_taken(own, count, alt))
                break;
        }
        if ((names[i] = alt))
            fprintf(stderr, "egcam: %s: its outputs are named %s (%s is another input's)\n",
                    paths[i], alt, own[i]);
        ok = alt != NULL;
    }
    if (own)
        cli_free_list(own, count);
    if (!ok && names) {
        cli_free_list(names, count);
        names = NULL;
    }
    if (!names)
        fprintf(stderr, "egcam: out of memory\n");
    return names;
}

int cli_load_input(egcam_ctx *ctx, const char *path, const char *name, const cli_options *o,
                   cli_input *in)
{
    memset(in, 0, sizeof *in);
    in->path = strdup(path);
    in->name = name ? strdup(name) : base_name(path);
    if (!in->path || !in->name) {
        fprintf(stderr, "egcam: out of memory\n");
        return 1;
    }
    if (has_suffix(path, ".npy"))
        return load_npy(ctx, path, in);
    const egcam_preprocess *pre = &o->pre;
    if (egcam_png_read(ctx, path, o->alpha, &in->image) != EGCAM_OK) {
        fprintf(stderr, "egcam: %s\n", egcam_ctx_last_error(ctx));
        return 1;
    }
    uint64_t pixels = (uint64_t)in->image->width * in->image->height;
    if (!o->full_size && !pre->resize && !pre->width && !pre->height &&
        pixels > CLI_MAX_UNSIZED_PIXELS) {
        fprintf(stderr,
                "egcam: %s: the image is %ux%u, %.1f megapixels, and no size was given, so the "
                "model would see it at full resolution (slow, and gigabytes of memory): give "
                "--preset imagenet or --resize S --crop HxW (torchvision's evaluation "
                "transform), --size HxW, or --full-size to explain it as it is\n",
                path, in->image->width, in->image->height, (double)pixels / 1e6);
        return 1;
    }
    if (egcam_preprocess_image(ctx, in->image, pre, &in->tensor) != EGCAM_OK) {
        fprintf(stderr, "egcam: %s\n", egcam_ctx_last_error(ctx));
        return 1;
    }
    return 0;
}

void cli_input_free(cli_input *in)
{
    free(in->path);
    free(in->name);
    egcam_image_free(in->image);
    egcam_tensor_free(in->tensor);
    memset(in, 0, sizeof *in);
}

/* Append rows of item floats to *data (which holds *rows rows). */
static int append_rows(float **data, int64_t *rows, size_t item, const float *src, size_t n)
{
    float *grown = realloc(*data, ((size_t)*rows + n) * item * sizeof *grown);
    if (!grown) {
        fprintf(stderr, "egcam: out of memory\n");
        return 1;
    }
    memcpy(grown + (size_t)*rows * item, src, n * item * sizeof *grown);
    *data = grown;
    *rows += (int64_t)n;
    return 0;
}

int cli_load_stack(egcam_ctx *ctx, const char *path, const cli_options *o, egcam_tensor *out,
                   float **storage)
{
    float *data = NULL;
    int64_t shape[4] = {0};
    int rc = 0;
    if (has_suffix(path, ".npy")) { /* [R,C,H,W], or one [C,H,W] */
        egcam_tensor *t;
        if (egcam_npy_read(ctx, path, &t) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s\n", egcam_ctx_last_error(ctx));
            return 1;
        }
        if (t->ndim != 3 && t->ndim != 4) {
            fprintf(stderr, "egcam: %s: expected [R,C,H,W] or [C,H,W]; this has %u dimensions\n",
                    path, t->ndim);
            rc = 1;
        } else {
            const int64_t *s = t->ndim == 4 ? t->shape + 1 : t->shape;
            memcpy(shape + 1, s, 3 * sizeof *s);
            rc = append_rows(&data, &shape[0], (size_t)(s[0] * s[1] * s[2]), t->data,
                             t->ndim == 4 ? (size_t)t->shape[0] : 1);
        }
        egcam_tensor_free(t);
    } else { /* PNG files: preprocessed like the inputs */
        char **files;
        char *one[] = {(char *)path};
        int bad, n = cli_list_inputs(one, 1, &files, &bad);
        if (n < 0 || bad) {
            if (n > 0)
                cli_free_list(files, n);
            return 1;
        }
        for (int i = 0; i < n && rc == 0; i++) {
            cli_input in;
            rc = cli_load_input(ctx, files[i], NULL, o, &in);
            const int64_t *s = in.tensor ? in.tensor->shape : NULL;
            if (rc == 0 && i == 0)
                memcpy(shape + 1, s, 3 * sizeof *s);
            if (rc == 0 && memcmp(shape + 1, s, 3 * sizeof *s) != 0) {
                fprintf(stderr,
                        "egcam: %s: shape [%lld,%lld,%lld] differs from the first "
                        "reference's\n",
                        files[i], (long long)s[0], (long long)s[1], (long long)s[2]);
                rc = 1;
            }
            if (rc == 0)
                rc =
                    append_rows(&data, &shape[0], (size_t)(s[0] * s[1] * s[2]), in.tensor->data, 1);
            cli_input_free(&in);
        }
        cli_free_list(files, n);
    }
    if (rc) {
        free(data);
        return rc;
    }
    *out = (egcam_tensor){data, {shape[0], shape[1], shape[2], shape[3]}, 4, 0};
    *storage = data;
    return 0;
}
