/*
 * test_io.c - PNG and .npy files: every PNG colour type and bit depth,
 * interlaced or not, decoded exactly; write/read round trips; broken PNGs
 * and malformed .npy headers each refused with its status and a message;
 * .npy files NumPy wrote (tests/fixtures/io, made by make_io_fixtures.py).
 *
 * The PNGs are made here with libpng's classic write API (setjmp is fine in
 * a test; libegcam itself uses only the simplified API).
 *
 * The rules the expected pixels follow (egcam_image.h):
 *   1, 2, 4-bit samples scale to v * 255 / (2^d - 1); 16-bit ones to
 *   round(v / 257) (libpng's png_set_scale_16, checked here on all 65536
 *   values); alpha (an alpha channel or tRNS) composites over black as
 *   round(v * a / 255) on the 8-bit sRGB values; colour becomes gray by
 *   BT.601 luma (19595 R + 38470 G + 7471 B + 32768) >> 16; gray becomes
 *   RGB by repetition.
 *
 * The fixture folder is found next to this source file (__FILE__, relative
 * to the build directory meson test runs in), or given as argv[1] or in
 * EGCAM_IO_FIXTURES.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

#include <egcam/egcam_image.h>

/* ------------------------------------------------------------------------ */
/* Temporary files and fixtures                                             */
/* ------------------------------------------------------------------------ */

static char tmp_dir[512];
static char fixture_dir[1024];

#define MAX_TMP_FILES 256
static char *tmp_files[MAX_TMP_FILES];
static int tmp_count;

/* A path in the temporary folder, removed at the end (a static buffer per
 * call site is not needed: the string is kept in tmp_files). */
static const char *tmp_path(const char *name)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", tmp_dir, name);
    for (int i = 0; i < tmp_count; i++)
        if (strcmp(tmp_files[i], buf) == 0)
            return tmp_files[i];
    assert_true(tmp_count < MAX_TMP_FILES);
    tmp_files[tmp_count] = strdup(buf);
    assert_non_null(tmp_files[tmp_count]);
    return tmp_files[tmp_count++];
}

/* How many descriptors this process holds (-1 without /proc): the group
 * ends with as many as it began with, so no error path of the readers and
 * writers keeps a file open. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}
static int fds_at_start;

static int group_setup(void **state)
{
    (void)state;
    fds_at_start = open_fds();
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/egcam-test-io-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", tmp_dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < tmp_count; i++) {
        unlink(tmp_files[i]);
        rmdir(tmp_files[i]);
        free(tmp_files[i]);
    }
    tmp_count = 0;
    rmdir(tmp_dir);
    if (open_fds() != fds_at_start) {
        fprintf(stderr, "descriptors leaked: %d open at the start, %d at the end\n", fds_at_start,
                open_fds());
        return -1;
    }
    return 0;
}

static const char *fixture(const char *name)
{
    static char buf[1200];
    snprintf(buf, sizeof buf, "%s/%s", fixture_dir, name);
    return buf;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (size)
        assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    assert_false(ferror(f));
    fclose(f);
    *size = n;
    return buf;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ------------------------------------------------------------------------ */
/* Status checks                                                            */
/* ------------------------------------------------------------------------ */

/* st must be want, and the context's message must be non-empty and contain
 * every needle given (a NULL-terminated list). */
static void expect_status(egcam_ctx *ctx, egcam_status st, egcam_status want, ...)
{
    if (st != want)
        fail_msg("status %s (%d), expected %s (%d); message \"%s\"", egcam_status_string(st),
                 (int)st, egcam_status_string(want), (int)want, egcam_ctx_last_error(ctx));
    const char *msg = egcam_ctx_last_error(ctx);
    if (want == EGCAM_OK) {
        assert_string_equal(msg, "");
        return;
    }
    if (msg[0] == '\0')
        fail_msg("status %s with an empty message", egcam_status_string(st));
    va_list ap;
    va_start(ap, want);
    for (const char *needle; (needle = va_arg(ap, const char *)) != NULL;)
        if (!strstr(msg, needle))
            fail_msg("message \"%s\" does not mention \"%s\"", msg, needle);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Making PNGs with libpng's classic API                                    */
/* ------------------------------------------------------------------------ */

typedef struct membuf {
    unsigned char *data;
    size_t size, cap;
} membuf;

static void mem_write(png_structp png, png_bytep data, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->size + n > m->cap) {
        size_t cap = m->cap ? m->cap : 1024;
        while (cap < m->size + n)
            cap *= 2;
        unsigned char *d = realloc(m->data, cap);
        if (!d)
            png_error(png, "test: out of memory");
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->size, data, n);
    m->size += n;
}

static void mem_flush(png_structp png) { (void)png; }

/* What to write. samples holds height * width * (1, 2, 3 or 4) raw values
 * in the file's bit depth (palette: indices). */
typedef struct png_spec {
    const char *name;
    int color_type; /* PNG_COLOR_TYPE_* */
    int depth;
    int interlace; /* PNG_INTERLACE_NONE or _ADAM7 */
    uint32_t width, height;
    const uint16_t *samples;
    png_color palette[256];
    int npalette;
    png_byte trans[256]; /* palette alpha */
    int ntrans;
    int has_key; /* gray/RGB tRNS colour key */
    png_color_16 key;
    double gamma; /* gAMA chunk when > 0 */
    int srgb;     /* sRGB chunk */
} png_spec;

static int spec_channels(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1; /* palette */
    }
}

static membuf encode_png(const png_spec *s)
{
    membuf m = {NULL, 0, 0};
    int ch = spec_channels(s->color_type);
    size_t row_bytes = ((size_t)s->width * ch * s->depth + 7) / 8;
    unsigned char *pixels = calloc(s->height, row_bytes);
    png_bytep *rows = calloc(s->height, sizeof *rows);
    assert_non_null(pixels);
    assert_non_null(rows);
    for (uint32_t y = 0; y < s->height; y++) {
        unsigned char *row = pixels + y * row_bytes;
        rows[y] = row;
        for (uint32_t i = 0; i < s->width * (uint32_t)ch; i++) {
            unsigned v = s->samples[(size_t)y * s->width * ch + i];
            if (s->depth == 16) {
                row[2 * i] = (unsigned char)(v >> 8);
                row[2 * i + 1] = (unsigned char)v;
            } else if (s->depth == 8) {
                row[i] = (unsigned char)v;
            } else { /* packed, most significant bits first */
                unsigned per = 8u / (unsigned)s->depth;
                row[i / per] |= (unsigned char)(v << (8u - (unsigned)s->depth * (i % per + 1)));
            }
        }
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    assert_non_null(png);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("%s: libpng could not write the test PNG", s->name);
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, s->width, s->height, s->depth, s->color_type, s->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_PLTE(png, info, s->palette, s->npalette);
    if (s->ntrans)
        png_set_tRNS(png, info, s->trans, s->ntrans, NULL);
    if (s->has_key)
        png_set_tRNS(png, info, NULL, 0, &s->key);
    if (s->gamma > 0)
        png_set_gAMA(png, info, s->gamma);
    if (s->srgb)
        png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(pixels);
    return m;
}

/* ------------------------------------------------------------------------ */
/* Expected pixels                                                          */
/* ------------------------------------------------------------------------ */

static unsigned scale8(unsigned v, int depth)
{
    if (depth == 16)
        return (v * 255u + 32767u) / 65535u; /* round(v / 257): never a tie */
    return v * 255u / ((1u << depth) - 1u);
}

static unsigned over_black(unsigned v, unsigned a) { return (v * a + 127u) / 255u; }

static unsigned luma(unsigned r, unsigned g, unsigned b)
{
    return (19595u * r + 38470u * g + 7471u * b + 32768u) >> 16;
}

/* The 8-bit RGBA of pixel i as the file means it. */
static void spec_rgba(const png_spec *s, size_t i, unsigned rgba[4])
{
    int ch = spec_channels(s->color_type);
    const uint16_t *p = s->samples + i * ch;
    switch (s->color_type) {
    case PNG_COLOR_TYPE_GRAY:
        rgba[0] = rgba[1] = rgba[2] = scale8(p[0], s->depth);
        rgba[3] = s->has_key && p[0] == s->key.gray ? 0 : 255;
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        rgba[0] = rgba[1] = rgba[2] = scale8(p[0], s->depth);
        rgba[3] = scale8(p[1], s->depth);
        break;
    case PNG_COLOR_TYPE_RGB:
        for (int c = 0; c < 3; c++)
            rgba[c] = scale8(p[c], s->depth);
        rgba[3] = s->has_key && p[0] == s->key.red && p[1] == s->key.green && p[2] == s->key.blue
                      ? 0
                      : 255;
        break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
        for (int c = 0; c < 4; c++)
            rgba[c] = scale8(p[c], s->depth);
        break;
    default: {
        png_color c = s->palette[p[0]];
        rgba[0] = c.red;
        rgba[1] = c.green;
        rgba[2] = c.blue;
        rgba[3] = p[0] < s->ntrans ? s->trans[p[0]] : 255;
    }
    }
}

/* Check img against s read with `channels` (0: as stored), each value
 * within tol of the rule. */
static void check_pixels(const png_spec *s, const egcam_image *img, uint32_t channels,
                         const char *how, unsigned tol)
{
    int color = (s->color_type & PNG_COLOR_MASK_COLOR) != 0;
    uint32_t want_ch = channels ? channels : color ? 3 : 1;
    if (img->width != s->width || img->height != s->height || img->channels != want_ch ||
        !img->pixels)
        fail_msg("%s (%s, channels %u): got %u x %u x %u", s->name, how, channels, img->width,
                 img->height, img->channels);
    size_t n = (size_t)s->width * s->height;
    for (size_t i = 0; i < n; i++) {
        unsigned rgba[4], want[3];
        spec_rgba(s, i, rgba);
        for (int c = 0; c < 3; c++)
            want[c] = over_black(rgba[c], rgba[3]);
        if (want_ch == 1)
            want[0] = color ? luma(want[0], want[1], want[2]) : want[0];
        for (uint32_t c = 0; c < want_ch; c++) {
            unsigned got = img->pixels[i * want_ch + c];
            if (got > want[c] + tol || got + tol < want[c])
                fail_msg("%s (%s, channels %u): pixel %zu (x %zu, y %zu) channel %u is %u, "
                         "expected %u (file RGBA %u %u %u %u)",
                         s->name, how, channels, i, i % s->width, i / s->width, c, got, want[c],
                         rgba[0], rgba[1], rgba[2], rgba[3]);
        }
    }
}

/* A deterministic stream of numbers. */
static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

/* Samples for s (allocated; free them), covering 0 and the maximum. */
static uint16_t *make_samples(png_spec *s, uint32_t seed)
{
    int ch = spec_channels(s->color_type);
    size_t n = (size_t)s->width * s->height * ch;
    uint16_t *v = malloc(n * sizeof *v);
    assert_non_null(v);
    unsigned max =
        s->color_type == PNG_COLOR_TYPE_PALETTE ? (unsigned)s->npalette - 1 : (1u << s->depth) - 1u;
    for (size_t i = 0; i < n; i++)
        v[i] = (uint16_t)(lcg(&seed) % (max + 1u));
    v[0] = 0;
    v[n - 1] = (uint16_t)max;
    if (s->color_type == PNG_COLOR_TYPE_GRAY_ALPHA || s->color_type == PNG_COLOR_TYPE_RGB_ALPHA)
        for (size_t i = 0; i < n / ch; i += 5) /* some opaque and clear pixels too */
            v[i * ch + ch - 1] = (uint16_t)(i % 10 ? max : 0);
    return v;
}

/* Decode s as bytes and (when via_file) as a file, with channels 0, 1, 3,
 * and check every pixel. 16-bit interlaced files with an alpha channel take
 * libegcam's 16-bit route (libpng issue #853), which composites at 16 bits:
 * within 1 of the rule. */
static void roundtrip_spec(png_spec *s, int via_file)
{
    unsigned tol = s->depth == 16 && s->interlace == PNG_INTERLACE_ADAM7 &&
                   (s->color_type & PNG_COLOR_MASK_ALPHA);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    membuf m = encode_png(s);
    const char *path = tmp_path("case.png");
    if (via_file)
        write_file(path, m.data, m.size);
    const uint32_t requests[3] = {0, 1, 3};
    for (int r = 0; r < 3; r++) {
        egcam_image *img = NULL;
        egcam_status st = egcam_png_decode(ctx, m.data, m.size, requests[r], &img);
        if (st != EGCAM_OK)
            fail_msg("%s: decode failed: %s", s->name, egcam_ctx_last_error(ctx));
        check_pixels(s, img, requests[r], "memory", tol);
        egcam_image_free(img);
        if (via_file) {
            img = NULL;
            st = egcam_png_read(ctx, path, requests[r], &img);
            if (st != EGCAM_OK)
                fail_msg("%s: read failed: %s", s->name, egcam_ctx_last_error(ctx));
            check_pixels(s, img, requests[r], "file", tol);
            egcam_image_free(img);
        }
    }
    free(m.data);
    egcam_ctx_free(ctx);
}

enum { KEY_NONE = 0, KEY_SOME = 1 };

/* Every size and interlace for one colour type and depth. */
static void run_case(const char *kind, int color_type, int depth, int with_trns)
{
    static const uint32_t sizes[][2] = {{13, 11}, {1, 1}, {5, 2}, {2, 9}};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        for (int il = 0; il < 2; il++) {
            png_spec *s = calloc(1, sizeof *s);
            assert_non_null(s);
            char name[128];
            snprintf(name, sizeof name, "%s %d-bit%s %ux%u%s", kind, depth,
                     with_trns ? " tRNS" : "", sizes[z][0], sizes[z][1], il ? " Adam7" : "");
            s->name = name;
            s->color_type = color_type;
            s->depth = depth;
            s->interlace = il ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE;
            s->width = sizes[z][0];
            s->height = sizes[z][1];
            uint32_t seed = (uint32_t)(color_type * 1000 + depth * 10 + with_trns + z * 7);
            if (color_type == PNG_COLOR_TYPE_PALETTE) {
                s->npalette = 1 << depth;
                for (int i = 0; i < s->npalette; i++) {
                    s->palette[i].red = (png_byte)lcg(&seed);
                    s->palette[i].green = (png_byte)lcg(&seed);
                    s->palette[i].blue = (png_byte)lcg(&seed);
                }
                if (with_trns) { /* fewer entries than colours: the rest are opaque */
                    s->ntrans = s->npalette / 2 + 1;
                    for (int i = 0; i < s->ntrans; i++)
                        s->trans[i] = (png_byte)(i == 0 ? 0 : i == 1 ? 255 : lcg(&seed));
                }
            }
            uint16_t *samples = make_samples(s, seed);
            s->samples = samples;
            if (with_trns && color_type != PNG_COLOR_TYPE_PALETTE) {
                /* the key is the colour of a pixel in the middle, so it occurs */
                size_t mid = (size_t)s->width * s->height / 2;
                s->has_key = 1;
                if (color_type == PNG_COLOR_TYPE_GRAY) {
                    s->key.gray = samples[mid];
                } else {
                    s->key.red = samples[3 * mid];
                    s->key.green = samples[3 * mid + 1];
                    s->key.blue = samples[3 * mid + 2];
                }
            }
            roundtrip_spec(s, z == 0);
            free(samples);
            free(s);
        }
    }
}

static void test_png_gray(void **state)
{
    (void)state;
    const int depths[] = {1, 2, 4, 8, 16};
    for (int i = 0; i < 5; i++)
        run_case("gray", PNG_COLOR_TYPE_GRAY, depths[i], KEY_NONE);
}

static void test_png_gray_trns(void **state)
{
    (void)state;
    const int depths[] = {1, 2, 4, 8, 16};
    for (int i = 0; i < 5; i++)
        run_case("gray", PNG_COLOR_TYPE_GRAY, depths[i], KEY_SOME);
}

static void test_png_gray_alpha(void **state)
{
    (void)state;
    run_case("gray+alpha", PNG_COLOR_TYPE_GRAY_ALPHA, 8, KEY_NONE);
    run_case("gray+alpha", PNG_COLOR_TYPE_GRAY_ALPHA, 16, KEY_NONE);
}

static void test_png_rgb(void **state)
{
    (void)state;
    run_case("RGB", PNG_COLOR_TYPE_RGB, 8, KEY_NONE);
    run_case("RGB", PNG_COLOR_TYPE_RGB, 16, KEY_NONE);
    run_case("RGB", PNG_COLOR_TYPE_RGB, 8, KEY_SOME);
    run_case("RGB", PNG_COLOR_TYPE_RGB, 16, KEY_SOME);
}

static void test_png_rgba(void **state)
{
    (void)state;
    run_case("RGBA", PNG_COLOR_TYPE_RGB_ALPHA, 8, KEY_NONE);
    run_case("RGBA", PNG_COLOR_TYPE_RGB_ALPHA, 16, KEY_NONE);
}

static void test_png_palette(void **state)
{
    (void)state;
    const int depths[] = {1, 2, 4, 8};
    for (int i = 0; i < 4; i++) {
        run_case("palette", PNG_COLOR_TYPE_PALETTE, depths[i], KEY_NONE);
        run_case("palette", PNG_COLOR_TYPE_PALETTE, depths[i], KEY_SOME);
    }
}

/* libpng's 16 -> 8 bit rule, checked on every value: round(v / 257). */
static void test_png_16bit_every_value(void **state)
{
    (void)state;
    uint16_t *v = malloc(65536 * sizeof *v);
    assert_non_null(v);
    for (unsigned i = 0; i < 65536; i++)
        v[i] = (uint16_t)(i * 40503u); /* a permutation of 0..65535 (40503 is odd) */
    png_spec s = {.name = "gray 16 every value",
                  .color_type = PNG_COLOR_TYPE_GRAY,
                  .depth = 16,
                  .interlace = PNG_INTERLACE_NONE,
                  .width = 256,
                  .height = 256,
                  .samples = v};
    membuf m = encode_png(&s);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image *img;
    expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 0, &img), EGCAM_OK, NULL);
    assert_int_equal(img->channels, 1);
    for (unsigned i = 0; i < 65536; i++) {
        unsigned want = (unsigned)floor(v[i] / 257.0 + 0.5);
        if (img->pixels[i] != want)
            fail_msg("16-bit %u became %u, expected round(v / 257) = %u", v[i], img->pixels[i],
                     want);
    }
    egcam_image_free(img);
    free(m.data);
    free(v);
    egcam_ctx_free(ctx);
}

/* The documented rules on hand-worked values, independent of the helpers
 * above: RGBA (255,255,255,128) over black is 128 (not libpng's linear-light
 * 188); BT.601 luma of (200,100,50) is 124. */
static void test_png_alpha_and_luma_rules(void **state)
{
    (void)state;
    static const uint16_t px[] = {255, 255, 255, 128, 200, 100, 50, 255,
                                  10,  20,  30,  0,   0,   255, 0,  1};
    png_spec s = {.name = "rules",
                  .color_type = PNG_COLOR_TYPE_RGB_ALPHA,
                  .depth = 8,
                  .interlace = PNG_INTERLACE_NONE,
                  .width = 4,
                  .height = 1,
                  .samples = px};
    membuf m = encode_png(&s);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image *img;
    expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 3, &img), EGCAM_OK, NULL);
    const uint8_t rgb[] = {128, 128, 128, 200, 100, 50, 0, 0, 0, 0, 1, 0};
    assert_memory_equal(img->pixels, rgb, sizeof rgb);
    egcam_image_free(img);
    expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 1, &img), EGCAM_OK, NULL);
    const uint8_t gray[] = {128, 124, 0, 1};
    assert_memory_equal(img->pixels, gray, sizeof gray);
    egcam_image_free(img);
    free(m.data);
    egcam_ctx_free(ctx);
}

/* EGCAM_PNG_ALPHA_WHITE and _DROP on hand-worked values: over white,
 * round((v a + 255 (255 - a)) / 255); dropped, the colour as stored (PIL's
 * convert("RGB")); luma after either. A 16-bit interlaced file (libpng's
 * premultiplied route) loses the colour of a clear pixel: 0 dropped, 255
 * over white. Flags out of range are refused. */
static void test_png_alpha_backgrounds(void **state)
{
    (void)state;
    static const uint16_t px[] = {255, 255, 255, 128, 200, 100, 50, 255,
                                  10,  20,  30,  0,   0,   255, 0,  1};
    png_spec s = {.name = "backgrounds",
                  .color_type = PNG_COLOR_TYPE_RGB_ALPHA,
                  .depth = 8,
                  .interlace = PNG_INTERLACE_NONE,
                  .width = 4,
                  .height = 1,
                  .samples = px};
    membuf m = encode_png(&s);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    const struct {
        uint32_t channels;
        uint8_t want[12];
        size_t size;
    } cases[] = {
        {3 | EGCAM_PNG_ALPHA_WHITE,
         {255, 255, 255, 200, 100, 50, 255, 255, 255, 254, 255, 254},
         12},
        {3 | EGCAM_PNG_ALPHA_DROP, {255, 255, 255, 200, 100, 50, 10, 20, 30, 0, 255, 0}, 12},
        {3 | EGCAM_PNG_ALPHA_BLACK, {128, 128, 128, 200, 100, 50, 0, 0, 0, 0, 1, 0}, 12},
        {1 | EGCAM_PNG_ALPHA_WHITE, {255, 124, 255, 255}, 4},
        {1 | EGCAM_PNG_ALPHA_DROP, {255, 124, 18, 150}, 4},
        {EGCAM_PNG_ALPHA_DROP, {255, 255, 255, 200, 100, 50, 10, 20, 30, 0, 255, 0}, 12},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        egcam_image *img = NULL;
        expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, cases[i].channels, &img), EGCAM_OK,
                      NULL);
        assert_int_equal((size_t)img->channels * img->width, cases[i].size);
        assert_memory_equal(img->pixels, cases[i].want, cases[i].size);
        egcam_image_free(img);
    }
    free(m.data);

    static const uint16_t wide[] = {65535, 0, 0, 0, 0, 65535, 0, 65535};
    png_spec w = {.name = "backgrounds16",
                  .color_type = PNG_COLOR_TYPE_RGB_ALPHA,
                  .depth = 16,
                  .interlace = PNG_INTERLACE_ADAM7,
                  .width = 2,
                  .height = 1,
                  .samples = wide};
    m = encode_png(&w);
    const struct {
        uint32_t channels;
        uint8_t want[6];
    } wide_cases[] = {{3 | EGCAM_PNG_ALPHA_WHITE, {255, 255, 255, 0, 255, 0}},
                      {3 | EGCAM_PNG_ALPHA_DROP, {0, 0, 0, 0, 255, 0}},
                      {3, {0, 0, 0, 0, 255, 0}}};
    for (size_t i = 0; i < 3; i++) {
        egcam_image *img = NULL;
        expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, wide_cases[i].channels, &img),
                      EGCAM_OK, NULL);
        assert_memory_equal(img->pixels, wide_cases[i].want, 6);
        egcam_image_free(img);
    }
    egcam_image *img = NULL;
    expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 3 | EGCAM_PNG_ALPHA_MASK, &img),
                  EGCAM_E_INVALID_ARGUMENT, "EGCAM_PNG_ALPHA_", NULL);
    expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 3 | (1u << 12), &img),
                  EGCAM_E_INVALID_ARGUMENT, "channels", NULL);
    free(m.data);
    egcam_ctx_free(ctx);
}

/* Adam7 and progressive files of the same pixels decode alike: exactly, but
 * for 16-bit files with alpha (libegcam's 16-bit route, within 1). */
static void test_png_interlaced_matches_progressive(void **state)
{
    (void)state;
    enum { W = 37, H = 29 };
    static const struct {
        int color_type, depth;
        unsigned tol;
    } kinds[] = {{PNG_COLOR_TYPE_RGB, 16, 0},       {PNG_COLOR_TYPE_GRAY, 16, 0},
                 {PNG_COLOR_TYPE_RGB_ALPHA, 16, 1}, {PNG_COLOR_TYPE_GRAY_ALPHA, 16, 1},
                 {PNG_COLOR_TYPE_RGB_ALPHA, 8, 0},  {PNG_COLOR_TYPE_GRAY, 2, 0}};
    uint16_t *v = malloc(W * H * 4 * sizeof *v);
    assert_non_null(v);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        uint32_t seed = 99;
        for (int i = 0; i < W * H * 4; i++)
            v[i] = (uint16_t)(lcg(&seed) & ((1u << kinds[k].depth) - 1u));
        egcam_image *img[2];
        size_t sizes[2];
        for (int il = 0; il < 2; il++) {
            png_spec s = {.name = "adam7 vs progressive",
                          .color_type = kinds[k].color_type,
                          .depth = kinds[k].depth,
                          .interlace = il ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                          .width = W,
                          .height = H,
                          .samples = v};
            membuf m = encode_png(&s);
            sizes[il] = m.size;
            expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 3, &img[il]), EGCAM_OK, NULL);
            check_pixels(&s, img[il], 3, "memory", il ? kinds[k].tol : 0);
            free(m.data);
        }
        assert_true(sizes[0] != sizes[1]); /* really two different files */
        for (size_t i = 0; i < (size_t)W * H * 3; i++) {
            int d = img[0]->pixels[i] - img[1]->pixels[i];
            if (d > (int)kinds[k].tol || -d > (int)kinds[k].tol)
                fail_msg("kind %zu: sample %zu is %u progressive, %u interlaced", k, i,
                         img[0]->pixels[i], img[1]->pixels[i]);
        }
        egcam_image_free(img[0]);
        egcam_image_free(img[1]);
    }
    free(v);
    egcam_ctx_free(ctx);
}

/* 16-bit files with gamma information: libpng converts to sRGB (direct
 * path) or to linear light (libegcam's route for interlaced files), which
 * libegcam encodes with the 1/2.2 power: round(255 * (v/65535)^0.45455). */
static void test_png_16bit_gamma(void **state)
{
    (void)state;
    enum { W = 64, H = 48 };
    uint16_t *v = malloc(W * H * 3 * sizeof *v);
    assert_non_null(v);
    uint32_t seed = 7;
    for (int i = 0; i < W * H * 3; i++)
        v[i] = (uint16_t)lcg(&seed);
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    /* Linear data (gAMA 1.0), interlaced: the exact formula. */
    png_spec s = {.name = "gAMA 1.0 Adam7",
                  .color_type = PNG_COLOR_TYPE_RGB,
                  .depth = 16,
                  .interlace = PNG_INTERLACE_ADAM7,
                  .width = W,
                  .height = H,
                  .samples = v,
                  .gamma = 1.0};
    membuf m = encode_png(&s);
    egcam_image *img;
    expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 0, &img), EGCAM_OK, NULL);
    for (size_t i = 0; i < (size_t)W * H * 3; i++) {
        unsigned want = (unsigned)floor(255.0 * pow(v[i] / 65535.0, 0.45455) + 0.5);
        if (img->pixels[i] != want)
            fail_msg("linear %u became %u, expected %u", v[i], img->pixels[i], want);
    }
    egcam_image_free(img);
    free(m.data);
    /* sRGB-like data (gAMA 1/2.2, or an sRGB chunk): interlaced and not
     * agree within 1, and both within 1 of round(v / 257). */
    for (int kind = 0; kind < 2; kind++) {
        egcam_image *pair[2];
        for (int il = 0; il < 2; il++) {
            png_spec g = {.name = kind ? "sRGB chunk" : "gAMA 0.45455",
                          .color_type = PNG_COLOR_TYPE_RGB,
                          .depth = 16,
                          .interlace = il ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                          .width = W,
                          .height = H,
                          .samples = v,
                          .gamma = kind ? 0 : 0.45455,
                          .srgb = kind};
            m = encode_png(&g);
            expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 0, &pair[il]), EGCAM_OK, NULL);
            check_pixels(&g, pair[il], 0, "memory", 1);
            free(m.data);
        }
        for (size_t i = 0; i < (size_t)W * H * 3; i++)
            if (abs(pair[0]->pixels[i] - pair[1]->pixels[i]) > 1)
                fail_msg("%s: sample %zu is %u progressive, %u interlaced", kind ? "sRGB" : "gAMA",
                         i, pair[0]->pixels[i], pair[1]->pixels[i]);
        egcam_image_free(pair[0]);
        egcam_image_free(pair[1]);
    }
    free(v);
    egcam_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* Writing PNGs                                                             */
/* ------------------------------------------------------------------------ */

static void test_png_write_read_roundtrip(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    const uint32_t chans[] = {1, 3, 4};
    for (int k = 0; k < 3; k++) {
        uint32_t ch = chans[k], w = 17, h = 9;
        size_t n = (size_t)w * h;
        uint8_t *px = malloc(n * ch);
        assert_non_null(px);
        uint32_t seed = ch;
        for (size_t i = 0; i < n * ch; i++)
            px[i] = (uint8_t)lcg(&seed);
        px[0] = 0;
        px[n * ch - 1] = 255;
        egcam_image in = {px, w, h, ch, 0};
        const char *path = tmp_path("write.png");
        expect_status(ctx, egcam_png_write(ctx, path, &in), EGCAM_OK, NULL);

        /* What libpng sees in the file: 8-bit, the same layout, exact. */
        png_image pi;
        memset(&pi, 0, sizeof pi);
        pi.version = PNG_IMAGE_VERSION;
        assert_true(png_image_begin_read_from_file(&pi, path));
        assert_int_equal(pi.width, w);
        assert_int_equal(pi.height, h);
        assert_int_equal(pi.format, ch == 1   ? PNG_FORMAT_GRAY
                                    : ch == 3 ? PNG_FORMAT_RGB
                                              : PNG_FORMAT_RGBA);
        uint8_t *back = malloc(n * ch);
        assert_non_null(back);
        assert_true(png_image_finish_read(&pi, NULL, back, 0, NULL));
        png_image_free(&pi);
        assert_memory_equal(back, px, n * ch);
        free(back);

        /* And through egcam_png_read: RGBA comes back composited. */
        egcam_image *img = NULL;
        expect_status(ctx, egcam_png_read(ctx, path, 0, &img), EGCAM_OK, NULL);
        assert_int_equal(img->width, w);
        assert_int_equal(img->height, h);
        assert_int_equal(img->channels, ch == 1 ? 1 : 3);
        for (size_t i = 0; i < n; i++) {
            for (uint32_t c = 0; c < img->channels; c++) {
                unsigned v = px[i * ch + c];
                unsigned want = ch == 4 ? over_black(v, px[i * ch + 3]) : v;
                if (img->pixels[i * img->channels + c] != want)
                    fail_msg("%u channels: pixel %zu channel %u is %u, expected %u", ch, i, c,
                             img->pixels[i * img->channels + c], want);
            }
        }
        egcam_image_free(img);
        free(px);
    }
    egcam_ctx_free(ctx);
}

static void test_png_write_bad_arguments(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    uint8_t px[12] = {0};
    const char *path = tmp_path("bad-write.png");
    egcam_image ok = {px, 2, 2, 3, 0};
    assert_int_equal(egcam_png_write(NULL, path, &ok), EGCAM_E_NULL_ARGUMENT);
    expect_status(ctx, egcam_png_write(ctx, NULL, &ok), EGCAM_E_NULL_ARGUMENT, "path", NULL);
    expect_status(ctx, egcam_png_write(ctx, path, NULL), EGCAM_E_NULL_ARGUMENT, "image", NULL);
    egcam_image im = ok;
    im.pixels = NULL;
    expect_status(ctx, egcam_png_write(ctx, path, &im), EGCAM_E_NULL_ARGUMENT, "pixels", NULL);
    im = ok;
    im.reserved = 1;
    expect_status(ctx, egcam_png_write(ctx, path, &im), EGCAM_E_STRUCT_SIZE, "reserved", NULL);
    im = ok;
    im.width = 0;
    expect_status(ctx, egcam_png_write(ctx, path, &im), EGCAM_E_EMPTY, "0 x 2", NULL);
    im = ok;
    im.height = 0;
    expect_status(ctx, egcam_png_write(ctx, path, &im), EGCAM_E_EMPTY, "2 x 0", NULL);
    const uint32_t bad_channels[] = {0, 2, 5, 255};
    for (int i = 0; i < 4; i++) {
        im = ok;
        im.channels = bad_channels[i];
        expect_status(ctx, egcam_png_write(ctx, path, &im), EGCAM_E_INVALID_ARGUMENT, "channels",
                      NULL);
    }
    /* Too large for libpng: refused before the pixels are touched. */
    im = ok;
    im.width = 2000000;
    expect_status(ctx, egcam_png_write(ctx, path, &im), EGCAM_E_INVALID_ARGUMENT, "too large",
                  NULL);
    im = ok;
    im.width = 1000000;
    im.height = 1000000;
    expect_status(ctx, egcam_png_write(ctx, path, &im), EGCAM_E_INVALID_ARGUMENT, "too large",
                  NULL);
    assert_false(file_exists(path));
    /* A folder that does not exist. */
    char nowhere[1100];
    snprintf(nowhere, sizeof nowhere, "%s/no/such/dir/x.png", tmp_dir);
    expect_status(ctx, egcam_png_write(ctx, nowhere, &ok), EGCAM_E_IO, nowhere, strerror(ENOENT),
                  NULL);
    /* Success clears the message. */
    expect_status(ctx, egcam_png_write(ctx, path, &ok), EGCAM_OK, NULL);
    assert_true(file_exists(path));
    egcam_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* Broken PNGs                                                              */
/* ------------------------------------------------------------------------ */

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Offset of the first chunk of this type (at its length field). */
static size_t find_chunk(const membuf *m, const char *type)
{
    size_t off = 8;
    while (off + 12 <= m->size) {
        if (memcmp(m->data + off + 4, type, 4) == 0)
            return off;
        off += 12 + be32(m->data + off);
    }
    fail_msg("no %s chunk", type);
    return 0;
}

/* Recompute the CRC of the chunk at off after editing it. */
static void fix_crc(membuf *m, size_t off)
{
    uint32_t len = be32(m->data + off);
    put_be32(m->data + off + 8 + len, crc32_of(m->data + off + 4, 4 + len));
}

static membuf small_rgb_png(void)
{
    uint16_t v[8 * 8 * 3];
    uint32_t seed = 5;
    for (int i = 0; i < 8 * 8 * 3; i++)
        v[i] = (uint16_t)(lcg(&seed) & 255);
    png_spec s = {.name = "small",
                  .color_type = PNG_COLOR_TYPE_RGB,
                  .depth = 8,
                  .interlace = PNG_INTERLACE_NONE,
                  .width = 8,
                  .height = 8,
                  .samples = v};
    return encode_png(&s);
}

/* m must be refused, from memory and from a file, with want (E_FORMAT) and
 * messages naming the source and containing needle (may be NULL). */
static void expect_broken(egcam_ctx *ctx, const membuf *m, size_t size, const char *needle,
                          const char *what)
{
    egcam_image *img = (egcam_image *)&img; /* junk: must become NULL */
    egcam_status st = egcam_png_decode(ctx, m->data, size, 0, &img);
    if (st != EGCAM_E_FORMAT)
        fail_msg("%s (%zu bytes, memory): status %s, expected EGCAM_E_FORMAT; \"%s\"", what, size,
                 egcam_status_string(st), egcam_ctx_last_error(ctx));
    assert_null(img);
    expect_status(ctx, st, EGCAM_E_FORMAT, "PNG data", needle, NULL);
    const char *path = tmp_path("broken.png");
    write_file(path, m->data, size);
    img = (egcam_image *)&img;
    st = egcam_png_read(ctx, path, 3, &img);
    if (st != EGCAM_E_FORMAT)
        fail_msg("%s (%zu bytes, file): status %s, expected EGCAM_E_FORMAT; \"%s\"", what, size,
                 egcam_status_string(st), egcam_ctx_last_error(ctx));
    assert_null(img);
    expect_status(ctx, st, EGCAM_E_FORMAT, path, needle, NULL);
}

/* Every cut before the IEND chunk is refused. (A file that lacks only its
 * IEND chunk still holds every pixel; libpng's simplified API stops after
 * the image data, so such a file decodes.) */
static void test_png_truncated(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    membuf m = small_rgb_png();
    size_t iend = find_chunk(&m, "IEND");
    for (size_t cut = 0; cut < iend; cut++) {
        char what[64];
        snprintf(what, sizeof what, "cut at %zu of %zu", cut, m.size);
        expect_broken(ctx, &m, cut, NULL, what);
    }
    free(m.data);
    egcam_ctx_free(ctx);
}

/* A chunk before the image data that claims more bytes than the file has
 * is refused before libpng sees it: libpng would allocate and zero what it
 * claims (up to 2 GiB for a tEXt chunk) before finding the data missing
 * (tests/fuzz/regressions/png). After the image data, such a chunk is never
 * read, and the file decodes as before. */
static void test_png_chunk_longer_than_file(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    membuf m = small_rgb_png();
    size_t idat = find_chunk(&m, "IDAT");
    const uint32_t claims[] = {0x7fffffffu, 0x10000000u, (uint32_t)(m.size - idat)};
    for (int i = 0; i < 3; i++) {
        membuf bad = {malloc(m.size + 8), m.size + 8, 0};
        assert_non_null(bad.data);
        memcpy(bad.data, m.data, idat);
        put_be32(bad.data + idat, claims[i]);
        memcpy(bad.data + idat + 4, "tEXt", 4);
        memcpy(bad.data + idat + 8, m.data + idat, m.size - idat);
#ifdef __linux__
        struct rusage before, after;
        getrusage(RUSAGE_SELF, &before);
#endif
        expect_broken(ctx, &bad, bad.size, "tEXt chunk claims", "a long tEXt");
#ifdef __linux__
        getrusage(RUSAGE_SELF, &after);
        assert_true(after.ru_maxrss - before.ru_maxrss < 256 * 1024); /* KiB */
#endif
        free(bad.data);
    }
    size_t iend = find_chunk(&m, "IEND");
    put_be32(m.data + iend, 0x7fffffffu);
    memcpy(m.data + iend + 4, "tEXt", 4);
    egcam_image *img = NULL;
    expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 0, &img), EGCAM_OK, NULL);
    egcam_image_free(img);
    free(m.data);
    egcam_ctx_free(ctx);
}

static void test_png_bad_crc(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    const char *chunks[] = {"IHDR", "IDAT"};
    for (int k = 0; k < 2; k++) {
        membuf m = small_rgb_png();
        size_t off = find_chunk(&m, chunks[k]);
        m.data[off + 8 + be32(m.data + off) + 1] ^= 0x40; /* the CRC, data intact */
        expect_broken(ctx, &m, m.size, "CRC", chunks[k]);
        free(m.data);
    }
    /* Damaged compressed data under a correct CRC: zlib's error. */
    membuf m = small_rgb_png();
    size_t off = find_chunk(&m, "IDAT");
    for (uint32_t i = 2; i < be32(m.data + off); i++)
        m.data[off + 8 + i] ^= 0xa5;
    fix_crc(&m, off);
    expect_broken(ctx, &m, m.size, NULL, "damaged IDAT");
    free(m.data);
    egcam_ctx_free(ctx);
}

/* An IHDR with other numbers (and a correct CRC). */
static membuf with_ihdr(uint32_t width, uint32_t height, int depth, int color_type)
{
    membuf m = small_rgb_png();
    size_t off = find_chunk(&m, "IHDR");
    put_be32(m.data + off + 8, width);
    put_be32(m.data + off + 12, height);
    m.data[off + 16] = (unsigned char)depth;
    m.data[off + 17] = (unsigned char)color_type;
    fix_crc(&m, off);
    return m;
}

static void test_png_bad_header(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    /* Huge images are refused from the IHDR, before any pixel memory: the
     * message is libegcam's size check, not a failure further on. */
    const uint32_t huge[][2] = {{100000, 100000}, {16385, 16384}, {1000000, 1000000}};
    for (int i = 0; i < 3; i++) {
        membuf m = with_ihdr(huge[i][0], huge[i][1], 8, PNG_COLOR_TYPE_RGB);
        expect_broken(ctx, &m, m.size, "268435456 pixels", "huge");
        free(m.data);
    }
    /* Exactly the limit passes the size check (and then lacks its data;
     * gray, so the image allocated is 256 MiB, zero pages untouched). */
    membuf m = with_ihdr(16384, 16384, 8, PNG_COLOR_TYPE_GRAY);
    egcam_image *img = (egcam_image *)&img;
    expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 0, &img), EGCAM_E_FORMAT, "libpng",
                  NULL);
    assert_null(strstr(egcam_ctx_last_error(ctx), "268435456"));
    assert_null(img);
    free(m.data);
    /* Beyond libpng's own limit of 1000000 a side. */
    m = with_ihdr(2000000, 1, 8, PNG_COLOR_TYPE_GRAY);
    expect_broken(ctx, &m, m.size, "IHDR", "too wide");
    free(m.data);
    m = with_ihdr(0, 8, 8, PNG_COLOR_TYPE_RGB);
    expect_broken(ctx, &m, m.size, "IHDR", "zero width");
    free(m.data);
    m = with_ihdr(8, 0, 8, PNG_COLOR_TYPE_RGB);
    expect_broken(ctx, &m, m.size, "IHDR", "zero height");
    free(m.data);
    m = with_ihdr(8, 8, 3, PNG_COLOR_TYPE_GRAY);
    expect_broken(ctx, &m, m.size, "IHDR", "3-bit");
    free(m.data);
    m = with_ihdr(8, 8, 8, 5);
    expect_broken(ctx, &m, m.size, "IHDR", "colour type 5");
    free(m.data);
    egcam_ctx_free(ctx);
}

static void test_png_not_png(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    static const char text[] = "this is a text file, not a PNG image at all\n";
    membuf m = {(unsigned char *)text, sizeof text - 1, 0};
    expect_broken(ctx, &m, m.size, NULL, "text");
    static const unsigned char jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F',
                                         0,    1,    1,    0,    0, 1,  0,   1,   0,   0};
    m = (membuf){(unsigned char *)jpeg, sizeof jpeg, 0};
    expect_broken(ctx, &m, m.size, NULL, "JPEG");
    /* An empty file, and zero bytes in memory. */
    m = (membuf){(unsigned char *)text, 0, 0};
    expect_broken(ctx, &m, 0, "empty", "empty");
    /* A large file that is not a PNG (read only as far as needed). */
    size_t big = 300000;
    unsigned char *junk = malloc(big);
    assert_non_null(junk);
    for (size_t i = 0; i < big; i++)
        junk[i] = (unsigned char)("not a png "[i % 10]);
    m = (membuf){junk, big, 0};
    expect_broken(ctx, &m, big, "Not a PNG", "large text");
    free(junk);
    egcam_ctx_free(ctx);
}

static void test_png_io_errors(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/does-not-exist.png", tmp_dir);
    egcam_image *img = (egcam_image *)&img;
    expect_status(ctx, egcam_png_read(ctx, missing, 0, &img), EGCAM_E_IO, missing, strerror(ENOENT),
                  NULL);
    assert_null(img);
    /* A folder opens but cannot be read. */
    const char *dir = tmp_path("a-folder.png");
    assert_int_equal(mkdir(dir, 0700), 0);
    img = (egcam_image *)&img;
    expect_status(ctx, egcam_png_read(ctx, dir, 0, &img), EGCAM_E_IO, dir, NULL);
    assert_null(img);
    egcam_ctx_free(ctx);
}

static void test_png_null_arguments(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    membuf m = small_rgb_png();
    const char *path = tmp_path("good.png");
    write_file(path, m.data, m.size);
    egcam_image *img = (egcam_image *)&img; /* junk: a failed call must clear it */
    assert_int_equal(egcam_png_read(NULL, path, 0, &img), EGCAM_E_NULL_ARGUMENT);
    assert_null(img);
    img = (egcam_image *)&img;
    assert_int_equal(egcam_png_decode(NULL, m.data, m.size, 0, &img), EGCAM_E_NULL_ARGUMENT);
    assert_null(img);
    expect_status(ctx, egcam_png_read(ctx, NULL, 0, &img), EGCAM_E_NULL_ARGUMENT, "path", NULL);
    expect_status(ctx, egcam_png_read(ctx, path, 0, NULL), EGCAM_E_NULL_ARGUMENT, "out", NULL);
    expect_status(ctx, egcam_png_decode(ctx, NULL, m.size, 0, &img), EGCAM_E_NULL_ARGUMENT, "data",
                  NULL);
    expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, 0, NULL), EGCAM_E_NULL_ARGUMENT, "out",
                  NULL);
    const uint32_t bad[] = {2, 4, 5, 0xffffffffu};
    for (int i = 0; i < 4; i++) {
        img = (egcam_image *)&img;
        expect_status(ctx, egcam_png_read(ctx, path, bad[i], &img), EGCAM_E_INVALID_ARGUMENT,
                      "channels", NULL);
        assert_null(img);
        expect_status(ctx, egcam_png_decode(ctx, m.data, m.size, bad[i], &img),
                      EGCAM_E_INVALID_ARGUMENT, "channels", NULL);
    }
    /* A success after failures leaves no message. */
    expect_status(ctx, egcam_png_read(ctx, path, 0, &img), EGCAM_OK, NULL);
    egcam_image_free(img);
    egcam_image_free(NULL);
    egcam_tensor_free(NULL);
    free(m.data);
    egcam_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* .npy                                                                     */
/* ------------------------------------------------------------------------ */

static float fixture_value(int i) { return (float)((i - 7) / 3.0); }

static void check_fixture_tensor(const egcam_tensor *t)
{
    assert_int_equal(t->ndim, 3);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    assert_int_equal(t->shape[2], 4);
    assert_int_equal(t->shape[3], 0);
    for (int i = 0; i < 24; i++) {
        float want = fixture_value(i);
        if (memcmp(&t->data[i], &want, 4) != 0)
            fail_msg("element %d is %.9g, expected %.9g", i, t->data[i], want);
    }
}

static void test_npy_numpy_fixtures(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    const char *names[] = {"f32_2x3x4_v1.npy", "f32_2x3x4_v2.npy", "f32_2x3x4_v3.npy"};
    for (int v = 0; v < 3; v++) {
        const char *path = fixture(names[v]);
        size_t size;
        unsigned char *bytes = read_file(path, &size);
        assert_int_equal(bytes[6], v + 1); /* the files hold the version they claim */
        free(bytes);
        egcam_tensor *t = NULL;
        expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_OK, NULL);
        check_fixture_tensor(t);
        egcam_tensor_free(t);
    }
    /* egcam_npy_write writes what NumPy wrote, byte for byte. */
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = fixture_value(i);
    egcam_tensor t = {x, {2, 3, 4}, 3, 0};
    const char *out = tmp_path("numpy-like.npy");
    expect_status(ctx, egcam_npy_write(ctx, out, &t), EGCAM_OK, NULL);
    size_t n_ours, n_numpy;
    unsigned char *ours = read_file(out, &n_ours);
    unsigned char *numpy = read_file(fixture(names[0]), &n_numpy);
    assert_int_equal(n_ours, n_numpy);
    assert_memory_equal(ours, numpy, n_numpy);
    free(ours);
    free(numpy);
    egcam_ctx_free(ctx);
}

static void test_npy_roundtrip(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    static const int64_t shapes[][4] = {{7},          {3, 5},    {2, 3, 4},  {2, 1, 3, 2},
                                        {1, 1, 1, 1}, {1000000}, {12345, 1}, {1, 1, 1, 123457}};
    static const uint32_t ndims[] = {1, 2, 3, 4, 4, 1, 2, 4};
    uint32_t special[] = {0x7fc00001u /* NaN with a payload */,
                          0x80000000u /* -0 */,
                          0x7f800000u,
                          0xff800000u,
                          0x00000001u /* smallest denormal */,
                          0x7f7fffffu /* FLT_MAX */,
                          0x00800000u /* FLT_MIN */,
                          0x3eaaaaabu};
    for (size_t k = 0; k < sizeof ndims / sizeof ndims[0]; k++) {
        size_t n = 1;
        for (uint32_t d = 0; d < ndims[k]; d++)
            n *= (size_t)shapes[k][d];
        float *x = malloc(n * sizeof *x);
        assert_non_null(x);
        uint32_t seed = (uint32_t)k;
        for (size_t i = 0; i < n; i++) {
            uint32_t bits = i < 8 ? special[i] : lcg(&seed) * 2654435761u;
            memcpy(&x[i], &bits, 4);
        }
        egcam_tensor t = {x, {0}, ndims[k], 0};
        memcpy(t.shape, shapes[k], sizeof t.shape);
        const char *path = tmp_path("roundtrip.npy");
        expect_status(ctx, egcam_npy_write(ctx, path, &t), EGCAM_OK, NULL);

        /* NumPy's layout: version 1.0, data at a multiple of 64 bytes. */
        size_t size;
        unsigned char *bytes = read_file(path, &size);
        assert_memory_equal(bytes, "\x93NUMPY\x01\x00", 8);
        size_t data_at = 10 + (bytes[8] | (size_t)bytes[9] << 8);
        assert_int_equal(data_at % 64, 0);
        assert_int_equal(bytes[data_at - 1], '\n');
        assert_int_equal(size, data_at + 4 * n);
        free(bytes);

        egcam_tensor *back = NULL;
        expect_status(ctx, egcam_npy_read(ctx, path, &back), EGCAM_OK, NULL);
        assert_int_equal(back->ndim, ndims[k]);
        for (uint32_t d = 0; d < 4; d++)
            assert_int_equal(back->shape[d], d < ndims[k] ? shapes[k][d] : 0);
        assert_memory_equal(back->data, x, n * 4); /* every bit, NaN payloads too */
        egcam_tensor_free(back);
        free(x);
    }
    egcam_ctx_free(ctx);
}

/* A .npy file with this version and header text (padded like NumPy's when
 * pad > 0; ended by '\n' unless pad < 0) and `count` floats of data. */
static void write_npy(const char *path, unsigned major, unsigned minor, const char *header, int pad,
                      size_t count)
{
    size_t len_size = major >= 2 ? 4 : 2;
    size_t hlen = strlen(header);
    char text[1024];
    assert_true(hlen + 66 < sizeof text);
    memcpy(text, header, hlen);
    if (pad) {
        size_t total = 6 + 2 + len_size + hlen + 1;
        size_t extra = (64 - total % 64) % 64;
        memset(text + hlen, ' ', extra);
        hlen += extra;
    }
    if (pad >= 0)
        text[hlen++] = '\n';
    unsigned char pre[12] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, (unsigned char)minor};
    for (size_t i = 0; i < len_size; i++)
        pre[8 + i] = (unsigned char)(hlen >> (8 * i));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(pre, 1, 8 + len_size, f), 8 + len_size);
    assert_int_equal(fwrite(text, 1, hlen, f), hlen);
    for (size_t i = 0; i < count; i++) {
        float v = fixture_value((int)i);
        assert_int_equal(fwrite(&v, 4, 1, f), 1);
    }
    assert_int_equal(fclose(f), 0);
}

/* Headers written differently from NumPy but meaning the same thing. */
static void test_npy_header_variants(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    static const char *ok[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }",
        "{'shape': (2, 3, 4), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3,4)}",
        "  {  'fortran_order' :\tFalse ,  'shape'  : ( 2 , 3 , 4 , ) , 'descr' : '<f4' , }  ",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L, 4L), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4)}\r",
    };
    const char *path = tmp_path("variant.npy");
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        for (int pad = 0; pad < 2; pad++) {
            for (unsigned major = 1; major <= 3; major++) {
                write_npy(path, major, 0, ok[i], pad, 24);
                egcam_tensor *t = NULL;
                egcam_status st = egcam_npy_read(ctx, path, &t);
                if (st != EGCAM_OK)
                    fail_msg("header %s (version %u, pad %d) refused: %s", ok[i], major, pad,
                             egcam_ctx_last_error(ctx));
                check_fixture_tensor(t);
                egcam_tensor_free(t);
            }
        }
    }
    /* 1-D with its trailing comma; bytes after the data are ignored, as
     * NumPy ignores them. */
    write_npy(path, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (20,), }", 1, 24);
    egcam_tensor *t = NULL;
    expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_OK, NULL);
    assert_int_equal(t->ndim, 1);
    assert_int_equal(t->shape[0], 20);
    assert_int_equal(t->data[19], fixture_value(19));
    egcam_tensor_free(t);
    egcam_ctx_free(ctx);
}

typedef struct bad_header {
    const char *header;
    egcam_status status;
    const char *needle;
} bad_header;

static void test_npy_bad_headers(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
#define H(shape) "{'descr': '<f4', 'fortran_order': False, 'shape': " shape ", }"
    static const bad_header bad[] = {
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }", EGCAM_E_FORMAT, "'<f8'"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3, 4), }", EGCAM_E_FORMAT, "'>f4'"},
        {"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }", EGCAM_E_FORMAT, "'|u1'"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }", EGCAM_E_FORMAT,
         "Fortran"},
        {H("(1, 1, 2, 3, 4)"), EGCAM_E_FORMAT, "5 dimensions"},
        {H("(1, 1, 1, 1, 1, 1, 1, 1, 1, 24)"), EGCAM_E_FORMAT, "10 dimensions"},
        {H("()"), EGCAM_E_FORMAT, "0 dimensions"},
        {H("(2, 0, 4)"), EGCAM_E_EMPTY, "dimension 1 is 0"},
        {H("(0,)"), EGCAM_E_EMPTY, "empty"},
        {"{'descr': '<f4', 'fortran_order': False, }", EGCAM_E_FORMAT, "no shape"},
        {"{'fortran_order': False, 'shape': (2, 3, 4), }", EGCAM_E_FORMAT, "no descr"},
        {"{'descr': '<f4', 'shape': (2, 3, 4), }", EGCAM_E_FORMAT, "no fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), 'x': 1}", EGCAM_E_FORMAT,
         "unknown key"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4)}",
         EGCAM_E_FORMAT, "twice"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3, 4), }", EGCAM_E_FORMAT,
         "True or False"},
        {"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3, 4), }", EGCAM_E_FORMAT,
         "True or False"},
        {"{'descr': '<f4', 'fortran_order': Fakse, 'shape': (2, 3, 4), }", EGCAM_E_FORMAT,
         "True or False"},
        {"{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3, 4), }", EGCAM_E_FORMAT,
         "True or False"},
        {H("(24)"), EGCAM_E_FORMAT, "trailing comma"},
        {H("[2, 3, 4]"), EGCAM_E_FORMAT, "not a tuple"},
        {H("(2, -3, 4)"), EGCAM_E_FORMAT, "non-negative"},
        {H("(2,, 3, 4)"), EGCAM_E_FORMAT, "shape"},
        {H("(2 3 4)"), EGCAM_E_FORMAT, "shape"},
        {H("(2, 3.0, 4)"), EGCAM_E_FORMAT, "shape"},
        {H("(2, 3, 4"), EGCAM_E_FORMAT, "shape"},
        {H("(99999999999999999999,)"), EGCAM_E_FORMAT, "too large"},
        {H("(18446744073709551617,)"), EGCAM_E_FORMAT, "too large"}, /* 2^64 + 1 */
        {H("(9223372036854775808,)"), EGCAM_E_FORMAT, "too large"},  /* 2^63 */
        {H("(4294967296, 4294967296)"), EGCAM_E_FORMAT, "too large"},
        {H("(1000000000,)"), EGCAM_E_FORMAT, "truncated"},
        {H("(2, 3, 5)"), EGCAM_E_FORMAT, "truncated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), } x", EGCAM_E_FORMAT,
         "after the dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), ", EGCAM_E_FORMAT, "header"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3, 4)}", EGCAM_E_FORMAT,
         "expected ','"},
        {"{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3, 4)}", EGCAM_E_FORMAT,
         "expected ':'"},
        {"{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3, 4)}", EGCAM_E_FORMAT, "header"},
        {"{descr: '<f4', fortran_order: False, shape: (2, 3, 4)}", EGCAM_E_FORMAT, "quoted string"},
        {"['descr', '<f4']", EGCAM_E_FORMAT, "not a dict"},
        {"", EGCAM_E_FORMAT, "not a dict"},
    };
#undef H
    const char *path = tmp_path("bad.npy");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_npy(path, 1, 0, bad[i].header, 1, 24);
        egcam_tensor *t = (egcam_tensor *)&t;
        egcam_status st = egcam_npy_read(ctx, path, &t);
        if (st != bad[i].status || !strstr(egcam_ctx_last_error(ctx), bad[i].needle) ||
            !strstr(egcam_ctx_last_error(ctx), path))
            fail_msg("header %s: status %s, message \"%s\"; expected %s mentioning \"%s\"",
                     bad[i].header, egcam_status_string(st), egcam_ctx_last_error(ctx),
                     egcam_status_string(bad[i].status), bad[i].needle);
        assert_null(t);
    }
    /* The header must end with a newline. */
    write_npy(path, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", -1, 24);
    egcam_tensor *nl = NULL;
    expect_status(ctx, egcam_npy_read(ctx, path, &nl), EGCAM_E_FORMAT, "newline", NULL);
    /* A NUL inside the header. */
    write_npy(path, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", 1, 24);
    size_t size;
    unsigned char *bytes = read_file(path, &size);
    bytes[12] = '\0';
    write_file(path, bytes, size);
    free(bytes);
    egcam_tensor *t = NULL;
    expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_E_FORMAT, "header", NULL);
    egcam_ctx_free(ctx);
}

static void test_npy_bad_files(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    size_t size;
    unsigned char *good = read_file(fixture("f32_2x3x4_v1.npy"), &size);
    unsigned char *v2 = read_file(fixture("f32_2x3x4_v2.npy"), &size);
    const char *path = tmp_path("broken.npy");
    unsigned char buf[256];
    egcam_tensor *t;

    /* Bad magic, in each of its bytes. */
    for (int i = 0; i < 6; i++) {
        memcpy(buf, good, size);
        buf[i] ^= 0x20;
        write_file(path, buf, size);
        t = (egcam_tensor *)&t;
        expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_E_FORMAT, path, "magic", NULL);
        assert_null(t);
    }
    /* Versions other than 1.0, 2.0, 3.0. */
    const unsigned char versions[][2] = {{0, 0}, {4, 0}, {1, 1}, {2, 1}, {255, 0}};
    for (int i = 0; i < 5; i++) {
        memcpy(buf, good, size);
        buf[6] = versions[i][0];
        buf[7] = versions[i][1];
        write_file(path, buf, size);
        expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_E_FORMAT, "version", NULL);
    }
    /* Truncated anywhere: in the magic, the length, the header, the data. */
    for (size_t cut = 0; cut < size; cut++) {
        write_file(path, good, cut);
        t = (egcam_tensor *)&t;
        egcam_status st = egcam_npy_read(ctx, path, &t);
        if (st != EGCAM_E_FORMAT)
            fail_msg("cut at %zu: status %s (\"%s\")", cut, egcam_status_string(st),
                     egcam_ctx_last_error(ctx));
        expect_status(ctx, st, EGCAM_E_FORMAT, path, NULL);
        assert_null(t);
    }
    expect_status(ctx, (write_file(path, good, 0), egcam_npy_read(ctx, path, &t)), EGCAM_E_FORMAT,
                  "too short", NULL);
    write_file(path, good, size - 1);
    expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_E_FORMAT, "truncated", "96 bytes",
                  NULL);
    for (size_t cut = 8; cut < 12; cut++) { /* a 2.0 file cut in its 4-byte length */
        write_file(path, v2, cut);
        expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_E_FORMAT, "header length", NULL);
    }
    /* Header lengths pointing past the end of the file. */
    memcpy(buf, good, size);
    buf[8] = (unsigned char)(size - 10 + 1); /* one byte more than the file holds */
    buf[9] = 0;
    write_file(path, buf, size);
    expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_E_FORMAT, "past the end", NULL);
    memcpy(buf, good, size);
    buf[8] = buf[9] = 0xff;
    write_file(path, buf, size);
    expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_E_FORMAT, "65535", "past the end",
                  NULL);
    memcpy(buf, v2, size);
    buf[8] = buf[9] = buf[10] = buf[11] = 0xff;
    write_file(path, buf, size);
    expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_E_FORMAT, "4294967295", "past the end",
                  NULL);
    /* A header length one short or one long: the header no longer ends with
     * its newline. */
    memcpy(buf, good, size);
    buf[8]--;
    write_file(path, buf, size);
    expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_E_FORMAT, "newline", NULL);
    memcpy(buf, good, size);
    buf[8]++;
    write_file(path, buf, size);
    expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_E_FORMAT, "newline", NULL);
    free(good);
    free(v2);
    egcam_ctx_free(ctx);
}

static void test_npy_errors(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    const char *good = fixture("f32_2x3x4_v1.npy");
    egcam_tensor *t = (egcam_tensor *)&t;
    assert_int_equal(egcam_npy_read(NULL, good, &t), EGCAM_E_NULL_ARGUMENT);
    assert_null(t);
    t = (egcam_tensor *)&t;
    expect_status(ctx, egcam_npy_read(ctx, NULL, &t), EGCAM_E_NULL_ARGUMENT, "path", NULL);
    assert_null(t);
    expect_status(ctx, egcam_npy_read(ctx, good, NULL), EGCAM_E_NULL_ARGUMENT, "out", NULL);
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/does-not-exist.npy", tmp_dir);
    t = (egcam_tensor *)&t;
    expect_status(ctx, egcam_npy_read(ctx, missing, &t), EGCAM_E_IO, missing, strerror(ENOENT),
                  NULL);
    assert_null(t);
    const char *dir = tmp_path("a-folder.npy");
    assert_int_equal(mkdir(dir, 0700), 0);
    expect_status(ctx, egcam_npy_read(ctx, dir, &t), EGCAM_E_IO, dir, NULL);

    float x[6] = {1, 2, 3, 4, 5, 6};
    const egcam_tensor ok = {x, {2, 3}, 2, 0};
    const char *path = tmp_path("write-errors.npy");
    assert_int_equal(egcam_npy_write(NULL, path, &ok), EGCAM_E_NULL_ARGUMENT);
    expect_status(ctx, egcam_npy_write(ctx, NULL, &ok), EGCAM_E_NULL_ARGUMENT, "path", NULL);
    expect_status(ctx, egcam_npy_write(ctx, path, NULL), EGCAM_E_NULL_ARGUMENT, "tensor", NULL);
    egcam_tensor bad = ok;
    bad.data = NULL;
    expect_status(ctx, egcam_npy_write(ctx, path, &bad), EGCAM_E_NULL_ARGUMENT, "data", NULL);
    bad = ok;
    bad.reserved = 7;
    expect_status(ctx, egcam_npy_write(ctx, path, &bad), EGCAM_E_STRUCT_SIZE, "reserved", NULL);
    const uint32_t ndims[] = {0, 5, 100};
    for (int i = 0; i < 3; i++) {
        bad = ok;
        bad.ndim = ndims[i];
        expect_status(ctx, egcam_npy_write(ctx, path, &bad), EGCAM_E_INVALID_ARGUMENT, "dimensions",
                      NULL);
    }
    bad = ok;
    bad.shape[1] = 0;
    expect_status(ctx, egcam_npy_write(ctx, path, &bad), EGCAM_E_EMPTY, "dimension 1 is 0", NULL);
    bad = ok;
    bad.shape[0] = -2;
    expect_status(ctx, egcam_npy_write(ctx, path, &bad), EGCAM_E_EMPTY, "dimension 0 is -2", NULL);
    bad = ok;
    bad.shape[0] = (int64_t)1 << 21;
    bad.shape[1] = (int64_t)1 << 20;
    expect_status(ctx, egcam_npy_write(ctx, path, &bad), EGCAM_E_INVALID_ARGUMENT, "too large",
                  NULL);
    bad.shape[0] = INT64_MAX;
    bad.shape[1] = INT64_MAX;
    expect_status(ctx, egcam_npy_write(ctx, path, &bad), EGCAM_E_INVALID_ARGUMENT, "too large",
                  NULL);
    assert_false(file_exists(path));
    char nowhere[1100];
    snprintf(nowhere, sizeof nowhere, "%s/no/such/dir/x.npy", tmp_dir);
    expect_status(ctx, egcam_npy_write(ctx, nowhere, &ok), EGCAM_E_IO, nowhere, strerror(ENOENT),
                  NULL);
    /* Entries of shape past ndim are ignored. */
    bad = ok;
    bad.shape[2] = -1;
    bad.shape[3] = 99;
    expect_status(ctx, egcam_npy_write(ctx, path, &bad), EGCAM_OK, NULL);
    expect_status(ctx, egcam_npy_read(ctx, path, &t), EGCAM_OK, NULL);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[2], 0);
    assert_memory_equal(t->data, x, sizeof x);
    egcam_tensor_free(t);
    egcam_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* Writing: a temporary file renamed onto the destination                   */
/* ------------------------------------------------------------------------ */

/* Entries of folder dir other than . and .. */
static int folder_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int has_text(const char *path, const char *text)
{
    char buf[64] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strcmp(buf, text) == 0;
}

typedef egcam_status (*write_fn)(egcam_ctx *ctx, const char *path, const void *what);
static egcam_status via_png_write(egcam_ctx *ctx, const char *path, const void *what)
{
    return egcam_png_write(ctx, path, what);
}
static egcam_status via_npy_write(egcam_ctx *ctx, const char *path, const void *what)
{
    return egcam_npy_write(ctx, path, what);
}

/* Both writers: a link planted at the destination is replaced, not
 * followed; a failed write (here the file-size limit, as a full disk would
 * do) names the system's reason and leaves the old file and no temporary;
 * folders and devices are refused. */
static void test_writes_replace_atomically(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    static uint8_t pixels[64 * 64 * 3];
    uint32_t noise = 2463534242u; /* incompressible pixels: a PNG over 1000 bytes */
    for (size_t i = 0; i < sizeof pixels; i++) {
        noise ^= noise << 13, noise ^= noise >> 17, noise ^= noise << 5;
        pixels[i] = (uint8_t)noise;
    }
    const egcam_image image = {pixels, 64, 64, 3, 0};
    static float values[4096];
    for (size_t i = 0; i < 4096; i++)
        values[i] = (float)i;
    const egcam_tensor tensor = {values, {64, 64}, 2, 0};
    const struct {
        write_fn write;
        const void *what;
        const char *name;
    } writers[] = {{via_png_write, &image, "out.png"}, {via_npy_write, &tensor, "out.npy"}};

    const char *dir = tmp_path("atomic");
    assert_int_equal(mkdir(dir, 0700), 0);
    for (int i = 0; i < 2; i++) {
        char dest[1100], victim[1100];
        snprintf(dest, sizeof dest, "%s/%s", dir, writers[i].name);
        snprintf(victim, sizeof victim, "%s/victim", dir);
        write_text(victim, "keep me");
        assert_int_equal(symlink("victim", dest), 0);
        expect_status(ctx, writers[i].write(ctx, dest, writers[i].what), EGCAM_OK, NULL);
        assert_true(has_text(victim, "keep me"));
        struct stat st;
        assert_int_equal(lstat(dest, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(folder_entries(dir), 2); /* dest and victim, no temporary */

        /* A write cut short: the old file stays whole, nothing is added. */
        write_text(dest, "old");
        struct rlimit old_limit, small;
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
        small = old_limit;
        small.rlim_cur = 1000;
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
        egcam_status got = writers[i].write(ctx, dest, writers[i].what);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
        signal(SIGXFSZ, old_handler);
        expect_status(ctx, got, EGCAM_E_IO, dest, "write error", strerror(EFBIG), NULL);
        assert_true(has_text(dest, "old"));
        assert_int_equal(folder_entries(dir), 2);
        assert_int_equal(unlink(dest), 0);
        assert_int_equal(unlink(victim), 0);

        expect_status(ctx, writers[i].write(ctx, dir, writers[i].what), EGCAM_E_IO, dir,
                      "is a folder", NULL);
        expect_status(ctx, writers[i].write(ctx, "/dev/null", writers[i].what), EGCAM_E_IO,
                      "/dev/null", "not a regular file", NULL);
        assert_int_equal(folder_entries(dir), 0);
    }
    egcam_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* Memory buffers and ownership                                             */
/* ------------------------------------------------------------------------ */

/* PNG and .npy through memory: what egcam_*_encode makes, egcam_*_decode
 * reads back bit for bit, and is byte for byte what the file writers
 * write. */
static void test_memory_round_trips(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    egcam_image *img;
    expect_status(ctx, egcam_image_new(ctx, 7, 5, 3, &img), EGCAM_OK, NULL);
    for (size_t i = 0; i < 7 * 5 * 3; i++)
        img->pixels[i] = (uint8_t)(i * 37);
    egcam_bytes *png;
    expect_status(ctx, egcam_png_encode(ctx, img, &png), EGCAM_OK, NULL);
    assert_true(egcam_bytes_size(png) > 8);
    assert_memory_equal(egcam_bytes_data(png), "\x89PNG", 4);
    egcam_image *back;
    expect_status(ctx,
                  egcam_png_decode(ctx, egcam_bytes_data(png), egcam_bytes_size(png), 0, &back),
                  EGCAM_OK, NULL);
    assert_int_equal(back->width, 7);
    assert_int_equal(back->channels, 3);
    assert_memory_equal(back->pixels, img->pixels, 7 * 5 * 3);
    const char *path = tmp_path("memory.png");
    expect_status(ctx, egcam_png_write(ctx, path, img), EGCAM_OK, NULL);
    size_t n;
    unsigned char *file = read_file(path, &n);
    assert_int_equal(n, egcam_bytes_size(png));
    assert_memory_equal(file, egcam_bytes_data(png), n);
    free(file);
    egcam_image_free(back);
    egcam_bytes_free(png);

    egcam_tensor *t;
    expect_status(ctx, egcam_tensor_new(ctx, (const int64_t[]){2, 3, 4}, 3, &t), EGCAM_OK, NULL);
    for (int i = 0; i < 24; i++)
        ((float *)t->data)[i] = (float)i / 7.0f;
    egcam_bytes *npy;
    expect_status(ctx, egcam_npy_encode(ctx, t, &npy), EGCAM_OK, NULL);
    egcam_tensor *tback;
    expect_status(ctx, egcam_npy_decode(ctx, egcam_bytes_data(npy), egcam_bytes_size(npy), &tback),
                  EGCAM_OK, NULL);
    assert_int_equal(tback->ndim, 3);
    assert_memory_equal(tback->data, t->data, 24 * sizeof(float));
    path = tmp_path("memory.npy");
    expect_status(ctx, egcam_npy_write(ctx, path, t), EGCAM_OK, NULL);
    file = read_file(path, &n);
    assert_int_equal(n, egcam_bytes_size(npy));
    assert_memory_equal(file, egcam_bytes_data(npy), n);
    free(file);
    /* A cut buffer is refused, as a cut file is. */
    egcam_tensor *cut = (egcam_tensor *)&cut;
    expect_status(ctx,
                  egcam_npy_decode(ctx, egcam_bytes_data(npy), egcam_bytes_size(npy) - 1, &cut),
                  EGCAM_E_FORMAT, "truncated", NULL);
    assert_null(cut);
    expect_status(ctx, egcam_npy_decode(ctx, "", 0, &cut), EGCAM_E_FORMAT, "too short", NULL);
    expect_status(ctx, egcam_npy_decode(ctx, NULL, 4, &cut), EGCAM_E_NULL_ARGUMENT, "data", NULL);
    egcam_bytes *none = (egcam_bytes *)&none;
    expect_status(ctx, egcam_npy_encode(ctx, NULL, &none), EGCAM_E_NULL_ARGUMENT, "tensor", NULL);
    assert_null(none);
    expect_status(ctx, egcam_png_encode(ctx, img, NULL), EGCAM_E_NULL_ARGUMENT, "out", NULL);
    assert_int_equal(egcam_npy_encode(NULL, t, &none), EGCAM_E_NULL_ARGUMENT);
    assert_null(egcam_bytes_data(NULL));
    assert_int_equal(egcam_bytes_size(NULL), 0);
    egcam_bytes_free(NULL);
    egcam_tensor_free(tback);
    egcam_bytes_free(npy);
    egcam_tensor_free(t);
    egcam_image_free(img);
    egcam_ctx_free(ctx);
}

/* egcam_image_free() frees what the library made and nothing else: an
 * image the caller made, or a copy of one of the library's, is left alone
 * (freeing it would be free() of the wrong pointer); the library's images
 * and tensors are valid inputs to the writers. Tensors: test_api. */
static void test_ownership(void **state)
{
    (void)state;
    egcam_ctx *ctx;
    assert_int_equal(egcam_ctx_new(&ctx), EGCAM_OK);
    uint8_t pixels[12] = {0};
    egcam_image mine = {pixels, 2, 2, 3, 0};
    egcam_image_free(&mine); /* no-op: ASan would report a bad free */
    egcam_image *ours;
    expect_status(ctx, egcam_image_new(ctx, 2, 2, 3, &ours), EGCAM_OK, NULL);
    egcam_image copy = *ours;
    egcam_image_free(&copy); /* a copy on the stack: left alone */
    /* The library's own objects are valid inputs everywhere. */
    expect_status(ctx, egcam_png_write(ctx, tmp_path("ours.png"), ours), EGCAM_OK, NULL);
    egcam_image_free(ours);
    egcam_tensor *t;
    expect_status(ctx, egcam_tensor_new(ctx, (const int64_t[]){4}, 1, &t), EGCAM_OK, NULL);
    expect_status(ctx, egcam_npy_write(ctx, tmp_path("ours.npy"), t), EGCAM_OK, NULL);
    egcam_tensor_free(t);

    egcam_image *img = (egcam_image *)&img;
    expect_status(ctx, egcam_image_new(ctx, 0, 2, 3, &img), EGCAM_E_EMPTY, "0 x 2", NULL);
    assert_null(img);
    expect_status(ctx, egcam_image_new(ctx, 2, 2, 2, &img), EGCAM_E_INVALID_ARGUMENT, "channels",
                  NULL);
    expect_status(ctx, egcam_image_new(ctx, 1 << 20, 1 << 20, 1, &img), EGCAM_E_INVALID_ARGUMENT,
                  "pixels", NULL);
    expect_status(ctx, egcam_image_new(ctx, 2, 2, 3, NULL), EGCAM_E_NULL_ARGUMENT, "out", NULL);
    assert_int_equal(egcam_image_new(NULL, 2, 2, 3, &img), EGCAM_E_NULL_ARGUMENT);
    egcam_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */

static void find_fixtures(int argc, char **argv)
{
    const char *env = getenv("EGCAM_IO_FIXTURES");
    if (argc > 1) {
        snprintf(fixture_dir, sizeof fixture_dir, "%s", argv[1]);
    } else if (env && *env) {
        snprintf(fixture_dir, sizeof fixture_dir, "%s", env);
    } else {
        const char *file = __FILE__;
        const char *slash = strrchr(file, '/');
        int len = slash ? (int)(slash - file) : 1;
        snprintf(fixture_dir, sizeof fixture_dir, "%.*s/fixtures/io", len, slash ? file : ".");
    }
}

int main(int argc, char **argv)
{
    find_fixtures(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_gray),
        cmocka_unit_test(test_png_gray_trns),
        cmocka_unit_test(test_png_gray_alpha),
        cmocka_unit_test(test_png_rgb),
        cmocka_unit_test(test_png_rgba),
        cmocka_unit_test(test_png_palette),
        cmocka_unit_test(test_png_16bit_every_value),
        cmocka_unit_test(test_png_alpha_and_luma_rules),
        cmocka_unit_test(test_png_alpha_backgrounds),
        cmocka_unit_test(test_png_interlaced_matches_progressive),
        cmocka_unit_test(test_png_16bit_gamma),
        cmocka_unit_test(test_png_write_read_roundtrip),
        cmocka_unit_test(test_png_write_bad_arguments),
        cmocka_unit_test(test_writes_replace_atomically),
        cmocka_unit_test(test_memory_round_trips),
        cmocka_unit_test(test_ownership),
        cmocka_unit_test(test_png_truncated),
        cmocka_unit_test(test_png_chunk_longer_than_file),
        cmocka_unit_test(test_png_bad_crc),
        cmocka_unit_test(test_png_bad_header),
        cmocka_unit_test(test_png_not_png),
        cmocka_unit_test(test_png_io_errors),
        cmocka_unit_test(test_png_null_arguments),
        cmocka_unit_test(test_npy_numpy_fixtures),
        cmocka_unit_test(test_npy_roundtrip),
        cmocka_unit_test(test_npy_header_variants),
        cmocka_unit_test(test_npy_bad_headers),
        cmocka_unit_test(test_npy_bad_files),
        cmocka_unit_test(test_npy_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
