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
    uint64_t total = 1;
    for (unsigned i = 0; i < dims; i++)
        total *= (shape[i] = be32(buf + 4 + 4 * i));
    if (total > size - 4 - 4 * (size_t)dims) {
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
                uint8_t v = other[(sy + y) * side + sx + x], *o = &out[(dy + y) * size + dx + x];
                *o = v > *o ? v : *o;
            }
    }
    uint32_t y0 = below(rng, size - side), x0 = below(rng, size - side);
    const unsigned char *item = items + (size_t)i * side * side;
    for (uint32_t y = 0; y < side; y++)
        for (uint32_t x = 0; x < side; x++)
            if (item[y * side + x])
                out[(y0 + y) * size + x0 + x] = item[y * side + x];
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
    uint32_t ishape[3], lshape[3];
    int rc = !ibuf || (at && !lbuf) || idx_header(images_path, ibuf, isize, 3, ishape) ||
             (lbuf && idx_header(labels_path, lbuf, lsize, 1, lshape));
    if (!rc && lbuf && lshape[0] != ishape[0]) {
        fprintf(stderr, "egcam: %s: %u labels for %u images\n", labels_path, lshape[0], ishape[0]);
        rc = 1;
    }
    if (!rc && canvas && (ishape[1] != ishape[2] || canvas <= ishape[1])) {
        fprintf(stderr, "egcam: --canvas %u: must exceed the items' %ux%u\n", canvas, ishape[1],
                ishape[2]);
        rc = 1;
    }
    uint32_t count = limit && limit < ishape[0] ? limit : ishape[0];
    if (!rc)
        rc = alloc_dataset(d, count, canvas > 0);
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 1;
    const unsigned char *items = ibuf + 16;
    for (uint32_t i = 0; !rc && i < count; i++) {
        uint32_t w = canvas ? canvas : ishape[2], h = canvas ? canvas : ishape[1];
        egcam_image *img = own_image(w, h, 1);
        char name[32];
        snprintf(name, sizeof name, "%05u", i);
        d->names[i] = strdup(name);
        if (!img || !d->names[i]) {
            own_image_free(img);
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

/* boxes.csv: name,x0,y0,x1,y1,class — for the PNGs of a folder. */
static void read_boxes(const char *dir, cli_dataset *d)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/boxes.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    d->boxes = calloc(d->count, sizeof *d->boxes);
    while (d->boxes && fgets(line, sizeof line, f)) {
        char name[256];
        unsigned b[4];
        int cls;
        if (sscanf(line, "%255[^,],%u,%u,%u,%u,%d", name, &b[0], &b[1], &b[2], &b[3], &cls) != 6)
            continue;
        for (uint32_t i = 0; i < d->count; i++) {
            const char *base = strrchr(d->names[i], '/');
            if (strcmp(base ? base + 1 : d->names[i], name) == 0) {
                memcpy(d->boxes[i], b, sizeof b);
                d->labels[i] = cls;
            }
        }
    }
    fclose(f);
}

static int load_folder(egcam_ctx *ctx, const char *dir, uint32_t limit, cli_dataset *d)
{
    char **files;
    char *one[] = {(char *)dir};
    int n = cli_list_inputs(one, 1, &files);
    if (n < 0)
        return 1;
    uint32_t count = limit && limit < (uint32_t)n ? limit : (uint32_t)n;
    int rc = alloc_dataset(d, count, 0);
    for (uint32_t i = 0; !rc && i < count; i++) {
        egcam_image *png = NULL;
        if (egcam_png_read(ctx, files[i], 0, &png) != EGCAM_OK) {
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
    if (!rc)
        read_boxes(dir, d);
    return rc;
}

int cli_dataset_load(egcam_ctx *ctx, const char *path, uint32_t limit, uint32_t canvas,
                     uint64_t seed, cli_dataset *out)
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
        return load_folder(ctx, path, limit, out);
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
