/* dataset.c - IDX files through zlib, canvases, PNG folders. */
#define _POSIX_C_SOURCE 200809L
#include "dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "inputs.h"

/* A whole gzip (or plain) file in memory. */
static unsigned char *read_gz(const char *path, size_t *size)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "egcam: %s: %s\n", path, strerror(errno ? errno : ENOENT));
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    int got;
    while (buf && (got = gzread(f, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap) {
            unsigned char *grown = cap < ((size_t)1 << 31) ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    int err;
    const char *msg = gzerror(f, &err);
    if (buf && err != Z_OK && err != Z_STREAM_END) {
        fprintf(stderr, "egcam: %s: %s\n", path, msg);
        free(buf);
        buf = NULL;
    } else if (!buf) {
        fprintf(stderr, "egcam: %s: out of memory\n", path);
    }
    gzclose(f);
    *size = n;
    return buf;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The header of an IDX file of unsigned bytes with `dims` dimensions. */
static int idx_header(const char *path, const unsigned char *buf, size_t size, unsigned dims,
                      uint32_t shape[3])
{
    if (size < 4 + 4 * (size_t)dims || buf[0] || buf[1] || buf[2] != 0x08 || buf[3] != dims) {
        fprintf(stderr, "egcam: %s: not an IDX file of %u-dimensional unsigned bytes\n", path,
                dims);
        return 1;
    }
    uint64_t total = 1, avail = size - 4 - 4 * (uint64_t)dims;
    for (unsigned i = 0; i < dims; i++) { /* checked: the product must not wrap */
        shape[i] = be32(buf + 4 + 4 * i);
        if (shape[i] && total > avail / shape[i]) {
            total = avail + 1;
            break;
        }
        total *= shape[i];
    }
    if (total > avail || (dims == 3 && total == 0)) {
        fprintf(stderr, "egcam: %s: truncated (%zu bytes for %llu items)\n", path, size,
                (unsigned long long)total);
        return 1;
    }
    return 0;
}

static int alloc_dataset(cli_dataset *d, uint32_t count, int boxes)
{
    d->count = 0;
    d->images = calloc(count, sizeof *d->images);
    d->labels = calloc(count, sizeof *d->labels);
    d->names = calloc(count, sizeof *d->names);
    d->boxes = boxes ? calloc(count, sizeof *d->boxes) : NULL;
    if (!d->images || !d->labels || !d->names || (boxes && !d->boxes)) {
        fprintf(stderr, "egcam: out of memory\n");
        return 1;
    }
    return 0;
}

/* An image this program owns (never handed to egcam_image_free). */
static egcam_image *own_image(uint32_t w, uint32_t h, uint32_t channels)
{
    egcam_image *img = malloc(sizeof *img);
    uint8_t *pixels = malloc((size_t)w * h * channels);
    if (!img || !pixels) {
        free(img);
        free(pixels);
        return NULL;
    }
    *img = (egcam_image){pixels, w, h, channels, 0};
    return img;
}

static void own_image_free(egcam_image *img)
{
    if (img)
        free(img->pixels);
    free(img);
}

/* xorshift64*: the canvases' own small generator (not the library's). */
static uint64_t next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static uint32_t below(uint64_t *s, uint32_t n) { return (uint32_t)((next(s) >> 32) % n); }

/* Item i on a canvas among fragments of others, as examples/fashion/train.py
 * builds its localisation set. */
static void make_canvas(const unsigned char *items, uint32_t count, uint32_t i, uint32_t side,
                        uint32_t size, uint64_t *rng, uint8_t *out, uint32_t box[4])
{
    memset(out, 0, (size_t)size * size);
    for (int f = 0; f < 6; f++) {
        const unsigned char *other = items + (size_t)below(rng, count) * side * side;
        uint32_t s = 8 + below(rng, 7);
        uint32_t sy = below(rng, side - s), sx = below(rng, side - s);
        uint32_t dy = below(rng, size - s), dx = below(rng, size - s);
        for (uint32_t y = 0; y < s; y++)
            for (uint32_t x = 0; x < s; x++) {
                uint8_t v = other[(size_t)(sy + y) * side + sx + x];
                uint8_t *o = &out[(size_t)(dy + y) * size + dx + x];
                *o = v > *o ? v : *o;
            }
    }
    uint32_t y0 = below(rng, size - side), x0 = below(rng, size - side);
    const unsigned char *item = items + (size_t)i * side * side;
    for (uint32_t y = 0; y < side; y++)
        for (uint32_t x = 0; x < side; x++)
            if (item[y * side + x])
                out[(size_t)(y0 + y) * size + x0 + x] = item[y * side + x];
    box[0] = x0, box[1] = y0, box[2] = x0 + side, box[3] = y0 + side;
}

static int load_idx(const char *images_path, uint32_t limit, uint32_t canvas, uint64_t seed,
                    cli_dataset *d)
{
    char labels_path[4096];
    snprintf(labels_path, sizeof labels_path, "%s", images_path);
    char *at = strstr(labels_path, "images-idx3");
    if (at)
        memcpy(at, "labels-idx1", 11);
    size_t isize, lsize = 0;
    unsigned char *ibuf = read_gz(images_path, &isize);
    unsigned char *lbuf = at && ibuf ? read_gz(labels_path, &lsize) : NULL;
    uint32_t ishape[3] = {0}, lshape[3] = {0};
    int rc = !ibuf || (at && !lbuf) || idx_header(images_path, ibuf, isize, 3, ishape) ||
             (lbuf && idx_header(labels_path, lbuf, lsize, 1, lshape));
    if (!rc && lbuf && lshape[0] != ishape[0]) {
        fprintf(stderr, "egcam: %s: %u labels for %u images\n", labels_path, lshape[0], ishape[0]);
        rc = 1;
    }
    if (!rc && canvas &&
        (ishape[1] != ishape[2] || canvas <= ishape[1] || ishape[1] < 15 || canvas > 4096)) {
        fprintf(stderr,
                "egcam: --canvas %u: needs square items of at least 15x15 (these are "
                "%ux%u) and a canvas larger than them, at most 4096\n",
                canvas, ishape[1], ishape[2]);
        rc = 1;
    }
    uint32_t count = limit && limit < ishape[0] ? limit : ishape[0];
    if (!rc)
        rc = alloc_dataset(d, count, canvas > 0);
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 1;
    const unsigned char *items = rc ? NULL : ibuf + 16; /* ibuf may be NULL when rc is set */
    for (uint32_t i = 0; !rc && i < count; i++) {
        uint32_t w = canvas ? canvas : ishape[2], h = canvas ? canvas : ishape[1];
        egcam_image *img = own_image(w, h, 1);
        char name[32];
        snprintf(name, sizeof name, "%05u", i);
        d->names[i] = strdup(name);
        if (!img || !d->names[i]) {
            own_image_free(img);
            free(d->names[i]); /* not counted in d->count: cli_dataset_free skips it */
            d->names[i] = NULL;
            fprintf(stderr, "egcam: out of memory\n");
            rc = 1;
            break;
        }
        if (canvas)
            make_canvas(items, ishape[0], i, ishape[1], canvas, &rng, img->pixels, d->boxes[i]);
        else
            memcpy(img->pixels, items + (size_t)i * w * h, (size_t)w * h);
        d->images[i] = img;
        d->labels[i] = lbuf ? lbuf[8 + i] : -1;
        d->count = i + 1;
    }
    free(ibuf);
    free(lbuf);
    return rc;
}

/* boxes.csv: name,x0,y0,x1,y1,class for the PNGs of a folder (a header line
 * is skipped). Every image needs a box that lies in it; 0 or 1 after
 * printing the line at fault. */
static int read_boxes(const char *dir, cli_dataset *d)
{
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/boxes.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0; /* no boxes: no localisation metrics */
    int rc = 0, lineno = 0;
    uint8_t *seen = calloc(d->count ? d->count : 1, 1);
    d->boxes = calloc(d->count ? d->count : 1, sizeof *d->boxes);
    if (!seen || !d->boxes) {
        fprintf(stderr, "egcam: out of memory\n");
        rc = 1;
    }
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char name[256];
        long long v[5];
        int used = 0;
        if (lineno == 1 && strncmp(line, "name,", 5) == 0)
            continue;
        if (sscanf(line, "%255[^,],%lld,%lld,%lld,%lld,%lld%n", name, &v[0], &v[1], &v[2], &v[3],
                   &v[4], &used) != 6 ||
            strspn(line + used, " \r\n") != strlen(line + used)) {
            fprintf(stderr, "egcam: %s:%d: expected name,x0,y0,x1,y1,class\n", path, lineno);
            rc = 1;
            break;
        }
        for (uint32_t i = 0; i < d->count; i++) {
            const char *base = strrchr(d->names[i], '/');
            if (strcmp(base ? base + 1 : d->names[i], name) != 0)
                continue;
            const egcam_image *img = d->images[i];
            if (v[0] < 0 || v[1] < 0 || v[0] >= v[2] || v[1] >= v[3] || v[2] > img->width ||
                v[3] > img->height || v[4] < 0 || v[4] > INT32_MAX) {
                fprintf(stderr,
                        "egcam: %s:%d: box %lld,%lld,%lld,%lld or class %lld does not "
                        "fit %s (%ux%u)\n",
                        path, lineno, v[0], v[1], v[2], v[3], v[4], name, img->width, img->height);
                rc = 1;
                break;
            }
            for (int k = 0; k < 4; k++)
                d->boxes[i][k] = (uint32_t)v[k];
            d->labels[i] = (int32_t)v[4];
            seen[i] = 1;
        }
    }
    for (uint32_t i = 0; !rc && i < d->count; i++)
        if (!seen[i]) {
            fprintf(stderr, "egcam: %s: no box for %s\n", path, d->names[i]);
            rc = 1;
        }
    free(seen);
    fclose(f);
    return rc;
}

static int load_folder(egcam_ctx *ctx, const char *dir, uint32_t limit, uint32_t alpha,
                       cli_dataset *d)
{
    char **files;
    char *one[] = {(char *)dir};
    int bad, n = cli_list_inputs(one, 1, &files, &bad);
    if (n < 0 || bad) {
        if (n > 0)
            cli_free_list(files, n);
        return 1;
    }
    uint32_t count = limit && limit < (uint32_t)n ? limit : (uint32_t)n;
    int rc = alloc_dataset(d, count, 0);
    for (uint32_t i = 0; !rc && i < count; i++) {
        egcam_image *png = NULL;
        if (egcam_png_read(ctx, files[i], alpha, &png) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s\n", egcam_ctx_last_error(ctx));
            rc = 1;
        } else if (!(d->images[i] = own_image(png->width, png->height, png->channels))) {
            fprintf(stderr, "egcam: out of memory\n");
            rc = 1;
        } else {
            memcpy(d->images[i]->pixels, png->pixels,
                   (size_t)png->width * png->height * png->channels);
        }
        egcam_image_free(png);
        d->names[i] = files[i];
        files[i] = NULL;
        d->labels[i] = -1;
        d->count = i + 1;
    }
    cli_free_list(files, n);
    return rc ? rc : read_boxes(dir, d);
}

int cli_dataset_load(egcam_ctx *ctx, const char *path, uint32_t limit, uint32_t canvas,
                     uint64_t seed, uint32_t alpha, cli_dataset *out)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "egcam: --data %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        char idx[4096];
        snprintf(idx, sizeof idx, "%s/t10k-images-idx3-ubyte.gz", path);
        if (stat(idx, &st) == 0)
            return load_idx(idx, limit, canvas, seed, out);
        if (canvas) {
            fprintf(stderr, "egcam: --canvas needs IDX files; %s has none\n", path);
            return 1;
        }
        return load_folder(ctx, path, limit, alpha, out);
    }
    return load_idx(path, limit, canvas, seed, out);
}

void cli_dataset_free(cli_dataset *d)
{
    for (uint32_t i = 0; i < d->count; i++) {
        own_image_free(d->images[i]);
        free(d->names[i]);
    }
    free(d->images);
    free(d->labels);
    free(d->boxes);
    free(d->names);
    memset(d, 0, sizeof *d);
}
