/*
 * png.c - PNG files in and out through libpng's simplified API (png_image),
 * which reports errors in png_image.message instead of longjmp-ing: there is
 * no setjmp in libegcam.
 *
 * Reading decodes from memory (a file is read whole first, so that read
 * errors are libegcam's E_IO and everything libpng says is E_FORMAT). It
 * asks libpng for 8-bit samples in the file's own layout (gray or RGB, with
 * alpha when the file has an alpha channel or tRNS), so libpng only expands
 * palettes and low bit depths, scales 16 bits to 8 and applies gamma from
 * gAMA/sRGB chunks. Everything else (alpha over black, gray <-> RGB) is done
 * here with exact integer formulas: libpng's own compositing with a NULL
 * background blends, in linear light, onto whatever the output buffer
 * already holds. 16-bit interlaced files take another route, below.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "image.h"

/* ---- reading ------------------------------------------------------------ */

static const unsigned char png_signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What alpha becomes (EGCAM_PNG_ALPHA_*): a background of 0 or 255, or
 * none (the colour as stored, alpha dropped). */
enum { DROP_ALPHA = -1 };

/* v over background bg with alpha a, all sRGB-encoded 8-bit values:
 * round((v*a + bg*(255-a))/255) (never a tie, since 255 is odd); v itself
 * when alpha is dropped. */
static inline uint8_t over(unsigned v, unsigned a, int bg)
{
    if (bg == DROP_ALPHA)
        return (uint8_t)v;
    return (uint8_t)((v * a + (unsigned)bg * (255u - a) + 127u) / 255u);
}

/* ITU-R BT.601 luma in 16-bit fixed point, as Pillow's convert("L"). The
 * weights sum to 65536, so white stays 255. */
static inline uint8_t luma(unsigned r, unsigned g, unsigned b)
{
    return (uint8_t)((19595u * r + 38470u * g + 7471u * b + 32768u) >> 16);
}

/* Convert n pixels of 8-bit samples in place from src_ch (1 G, 2 GA, 3 RGB,
 * 4 RGBA) to dst_ch (1 or 3) channels. p has room for n * max(src_ch,
 * dst_ch) bytes. */
static void convert_pixels(uint8_t *p, size_t n, unsigned src_ch, unsigned dst_ch, int bg)
{
    if (src_ch == dst_ch)
        return;
    if (dst_ch == 3 && src_ch < 3) { /* grows: walk backwards */
        for (size_t i = n; i-- > 0;) {
            uint8_t v = src_ch == 2 ? over(p[2 * i], p[2 * i + 1], bg) : p[i];
            p[3 * i] = p[3 * i + 1] = p[3 * i + 2] = v;
        }
        return;
    }
    /* shrinks: walk forwards, reading a pixel before writing it */
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = p + src_ch * i;
        uint8_t r, g, b;
        if (src_ch <= 2) {
            r = g = b = src_ch == 2 ? over(s[0], s[1], bg) : s[0];
        } else if (src_ch == 4) {
            r = over(s[0], s[3], bg);
            g = over(s[1], s[3], bg);
            b = over(s[2], s[3], bg);
        } else {
            r = s[0];
            g = s[1];
            b = s[2];
        }
        if (dst_ch == 1) {
            p[i] = src_ch <= 2 ? r : luma(r, g, b);
        } else {
            p[3 * i] = r;
            p[3 * i + 1] = g;
            p[3 * i + 2] = b;
        }
    }
}

/*
 * 16-bit interlaced files. libpng's direct 16-to-8-bit path for Adam7 images
 * (png_image_read_direct_scaled, the fix of CVE-2025-65018 in 1.6.51, also
 * in Debian 12's 1.6.39-2+deb12u4) copies a stale row buffer over the rows a
 * pass does not touch: libpng issue #853, open in 1.6.55. Those files are
 * read at 16 bits instead, where libpng returns colour premultiplied by
 * alpha, and brought to 8 bits here:
 *  - when no gAMA, sRGB, iCCP or cICP chunk precedes the image data, libpng
 *    passes the samples through (input and output both "linear") and they
 *    are scaled by round(v / 257), like the direct path does;
 *  - otherwise libpng converts to linear light, which is encoded here with
 *    the 1/2.2 power libpng uses for its 8-bit sRGB output.
 * Opaque pixels of files of the first kind match the direct path exactly;
 * the rest may differ by one level (alpha is undone and redone at 8 bits).
 */

/* The chunks before the image data, walked by the two checks below. */
enum chunk_kind { CHUNK_IDAT, CHUNK_WHOLE, CHUNK_CUT };

/* The chunk whose header starts at off (8 for the first; off <= n):
 * CHUNK_IDAT when it is the first IDAT; CHUNK_CUT when its header is cut
 * short or it claims more bytes (with its CRC) than n - off; else
 * CHUNK_WHOLE, with *next where the following chunk starts. */
static enum chunk_kind chunk_at(const unsigned char *d, size_t n, size_t off, size_t *next)
{
    if (n - off < 8)
        return CHUNK_CUT;
    if (memcmp(d + off + 4, "IDAT", 4) == 0)
        return CHUNK_IDAT;
    uint32_t len = be32(d + off);
    if ((uint64_t)len + 12 > n - off)
        return CHUNK_CUT;
    *next = off + 12 + (size_t)len;
    return CHUNK_WHOLE;
}

/* Whether a chunk before the first IDAT can tell libpng the transfer
 * function. Malformed chunk lists answer yes (the safe route). */
static int has_colour_chunk(const unsigned char *d, size_t n)
{
    static const char types[][5] = {"gAMA", "sRGB", "iCCP", "cICP"};
    size_t off = 8, next;
    enum chunk_kind kind = CHUNK_CUT;
    while (n >= off && (kind = chunk_at(d, n, off, &next)) == CHUNK_WHOLE) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (memcmp(d + off + 4, types[i], 4) == 0)
                return 1;
        off = next;
    }
    return kind != CHUNK_IDAT;
}

/* The offset of the first chunk before the image data that claims more
 * bytes (with its CRC) than the file has left, or 0 when there is none or d
 * is not a PNG. libpng reads every chunk before the first IDAT whole, and
 * for some (tEXt, iTXt, ...) first allocates and zeroes a buffer of the
 * length claimed, up to 2^31 - 1 bytes (Debian 12's libpng 1.6.39 does not
 * cap it), before it finds the data missing: such a file fails anyway, and
 * checking first keeps 50 bytes of it from costing 2 GiB of memory. */
static size_t truncated_chunk(const unsigned char *d, size_t n)
{
    if (n < 8 || memcmp(d, png_signature, sizeof png_signature) != 0)
        return 0;
    size_t off = 8, next;
    enum chunk_kind kind;
    while ((kind = chunk_at(d, n, off, &next)) == CHUNK_WHOLE)
        off = next;
    /* A chunk header cut short is left to libpng, which says so. */
    return kind == CHUNK_CUT && n - off >= 8 ? off : 0;
}

/* Convert n pixels of native-endian 16-bit samples (src_ch channels, colour
 * premultiplied by alpha) in place to 8-bit dst_ch channels, with enc the
 * encoding of an unpremultiplied 16-bit value. */
static void convert_pixels16(uint8_t *p, size_t n, unsigned src_ch, unsigned dst_ch,
                             const uint8_t *enc, int bg)
{
    int alpha = src_ch == 2 || src_ch == 4;
    unsigned colours = alpha ? src_ch - 1 : src_ch;
    /* Gray (2 bytes) to RGB (3 bytes) grows; everything else shrinks. */
    int backwards = dst_ch > 2 * src_ch;
    for (size_t k = 0; k < n; k++) {
        size_t i = backwards ? n - 1 - k : k;
        uint16_t s[4];
        memcpy(s, p + 2 * src_ch * i, 2 * src_ch);
        unsigned a = alpha ? s[src_ch - 1] : 65535u;
        unsigned a8 = (a * 255u + 32767u) / 65535u;
        uint8_t c[3];
        for (unsigned j = 0; j < colours; j++) {
            uint32_t v = s[j];
            if (a == 0) { /* premultiplied: the stored colour is gone */
                c[j] = bg == DROP_ALPHA ? 0 : (uint8_t)bg;
                continue;
            }
            if (a != 65535u) { /* undo the premultiplication */
                v = (v * 65535u + a / 2) / a;
                v = v > 65535u ? 65535u : v;
            }
            c[j] = a == 65535u ? enc[v] : over(enc[v], a8, bg);
        }
        if (colours == 1)
            c[1] = c[2] = c[0];
        if (dst_ch == 1) {
            p[i] = colours == 1 ? c[0] : luma(c[0], c[1], c[2]);
        } else {
            p[3 * i] = c[0];
            p[3 * i + 1] = c[1];
            p[3 * i + 2] = c[2];
        }
    }
}

/* The 16 -> 8-bit encoding of the 16-bit route (NULL when out of memory). */
static uint8_t *encoding_table(int linear_light)
{
    uint8_t *t = egcam__malloc(65536);
    if (!t)
        return NULL;
    for (uint32_t v = 0; v < 65536; v++)
        t[v] = linear_light ? (uint8_t)floor(255.0 * pow(v / 65535.0, 0.45455) + 0.5)
                            : (uint8_t)((v * 255u + 32767u) / 65535u);
    return t;
}

static int is_out_of_memory(const char *message)
{
    /* libpng says "Out of memory", "out of memory" or "... out of memory" */
    return strstr(message, "ut of memory") != NULL;
}

/* The status and message for a libpng failure on `name`. */
static egcam_status decode_failed(egcam_ctx *ctx, const png_image *pi, const char *name)
{
    const char *msg = pi->message[0] ? pi->message : "unknown libpng error";
    if (is_out_of_memory(msg))
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "%s: out of memory (libpng: %s)", name, msg);
    return egcam__fail(ctx, EGCAM_E_FORMAT, "%s: not a valid PNG (libpng: %s)", name, msg);
}

/* Decode size bytes of PNG named `name` in messages. */
static egcam_status decode(egcam_ctx *ctx, const unsigned char *data, size_t size, const char *name,
                           uint32_t channels, egcam_image **out)
{
    if (size == 0)
        return egcam__fail(ctx, EGCAM_E_FORMAT, "%s: not a valid PNG (it is empty)", name);
    size_t cut = truncated_chunk(data, size);
    if (cut) {
        char type[5] = "";
        for (int i = 0; i < 4; i++) {
            unsigned char c = data[cut + 4 + i];
            type[i] = (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (char)c : '?';
        }
        return egcam__fail(ctx, EGCAM_E_FORMAT,
                           "%s: not a valid PNG (truncated: its %s chunk claims %lu bytes, "
                           "%zu are left)",
                           name, type, (unsigned long)be32(data + cut), size - cut - 8);
    }
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, data, size)) {
        egcam_status st = decode_failed(ctx, &pi, name);
        png_image_free(&pi);
        return st;
    }
    uint64_t pixels = (uint64_t)pi.width * pi.height;
    if (pixels > EGCAM_PNG_MAX_PIXELS) {
        png_image_free(&pi);
        return egcam__fail(ctx, EGCAM_E_FORMAT,
                           "%s: the PNG is %u x %u, more than the %llu pixels libegcam reads", name,
                           (unsigned)pi.width, (unsigned)pi.height,
                           (unsigned long long)EGCAM_PNG_MAX_PIXELS);
    }
    /* libpng accepted the header, so the IHDR is at its place. */
    int interlaced = size > 28 && memcmp(data + 12, "IHDR", 4) == 0 && data[28] != 0;
    int wide = (pi.format & PNG_FORMAT_FLAG_LINEAR) && interlaced; /* the 16-bit route */
    int linear_light = wide && has_colour_chunk(data, size);

    /* Samples in the file's layout: 8 bits, or 16 on the 16-bit route. */
    uint32_t format = pi.format & (PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA);
    unsigned src_ch = PNG_IMAGE_SAMPLE_CHANNELS(format);
    int bg = (channels & EGCAM_PNG_ALPHA_MASK) == EGCAM_PNG_ALPHA_WHITE  ? 255
             : (channels & EGCAM_PNG_ALPHA_MASK) == EGCAM_PNG_ALPHA_DROP ? DROP_ALPHA
                                                                         : 0;
    channels &= ~EGCAM_PNG_ALPHA_MASK;
    unsigned dst_ch = channels ? channels : (format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    unsigned src_bytes = wide ? 2 * src_ch : src_ch;
    unsigned room = src_bytes > dst_ch ? src_bytes : dst_ch;
    pi.format = format | (wide ? PNG_FORMAT_FLAG_LINEAR : 0);
    /* Without gamma information, 16-bit samples are taken as sRGB-encoded
     * like 8-bit ones (libpng would take them as linear); the 16-bit route
     * wants them passed through unless it asked for linear light. */
    if (!wide || linear_light)
        pi.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;

    uint8_t *enc = wide ? encoding_table(linear_light) : NULL;
    egcam_image *img = wide && !enc ? NULL : egcam__image_alloc(pi.width, pi.height, dst_ch, room);
    if (!img) {
        png_image_free(&pi);
        free(enc);
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "%s: out of memory for a %u x %u image",
                           name, (unsigned)pi.width, (unsigned)pi.height);
    }
    /* No background: the output keeps the file's alpha, so libpng composites
     * nothing (with a NULL background it would blend onto whatever the buffer
     * holds). The stride, in samples, fits: width <= 1000000 (libpng's limit). */
    if (!png_image_finish_read(&pi, NULL, img->pixels, (png_int_32)(pi.width * src_ch), NULL)) {
        egcam_status st = decode_failed(ctx, &pi, name);
        png_image_free(&pi);
        free(img);
        free(enc);
        return st;
    }
    png_image_free(&pi);
    if (wide)
        convert_pixels16(img->pixels, (size_t)pixels, src_ch, dst_ch, enc, bg);
    else
        convert_pixels(img->pixels, (size_t)pixels, src_ch, dst_ch, bg);
    free(enc);
    if (room > dst_ch)
        img = egcam__image_shrink(img);
    *out = img;
    return EGCAM_OK;
}

static egcam_status check_read_args(egcam_ctx *ctx, const char *fn, const void *src,
                                    const char *src_name, uint32_t channels, egcam_image **out)
{
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    if (!src)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: %s is NULL", fn, src_name);
    uint32_t alpha = channels & EGCAM_PNG_ALPHA_MASK, ch = channels & ~EGCAM_PNG_ALPHA_MASK;
    if ((ch != 0 && ch != 1 && ch != 3) || alpha > EGCAM_PNG_ALPHA_DROP)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "%s: channels is %u; expected 0 (as stored), 1 or 3, with at most "
                           "one EGCAM_PNG_ALPHA_* flag",
                           fn, (unsigned)channels);
    return EGCAM_OK;
}

/* The whole file in memory (the compressed PNG is small next to its pixels).
 * Stops early, with what it has, when the start is not a PNG signature. */
static egcam_status read_whole_file(egcam_ctx *ctx, const char *path, unsigned char **out,
                                    size_t *out_size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return egcam__fail(ctx, EGCAM_E_IO, "%s: %s", path, strerror(errno));
    size_t cap = (size_t)1 << 16, n = 0;
    unsigned char *buf = egcam__malloc(cap);
    egcam_status st = EGCAM_OK;
    while (buf) {
        size_t want = cap - n;
        size_t got = fread(buf + n, 1, want, f);
        n += got;
        if (got < want) {
            if (ferror(f))
                st = egcam__fail(ctx, EGCAM_E_IO, "%s: read error: %s", path,
                                 errno ? strerror(errno) : "unknown");
            break;
        }
        if (memcmp(buf, png_signature, sizeof png_signature) != 0)
            break; /* enough to tell it is not a PNG */
        unsigned char *bigger = cap <= SIZE_MAX / 2 ? egcam__realloc(buf, cap * 2) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (!buf)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "%s: out of memory reading the file", path);
    if (st != EGCAM_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_size = n;
    return EGCAM_OK;
}

egcam_status egcam_png_read(egcam_ctx *ctx, const char *path, uint32_t channels, egcam_image **out)
{
    if (out) /* even without a ctx, a failed call leaves no output */
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    egcam_status st = check_read_args(ctx, "egcam_png_read", path, "path", channels, out);
    if (st != EGCAM_OK)
        return st;
    unsigned char *data = NULL;
    size_t size = 0;
    if ((st = read_whole_file(ctx, path, &data, &size)) != EGCAM_OK)
        return st;
    st = decode(ctx, data, size, path, channels, out);
    free(data);
    return st;
}

egcam_status egcam_png_decode(egcam_ctx *ctx, const void *data, size_t size, uint32_t channels,
                              egcam_image **out)
{
    if (out) /* even without a ctx, a failed call leaves no output */
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    egcam_status st = check_read_args(ctx, "egcam_png_decode", data, "data", channels, out);
    if (st != EGCAM_OK)
        return st;
    return decode(ctx, data, size, "PNG data", channels, out);
}

/* ---- writing ------------------------------------------------------------ */

/* The checks both writers make, naming fn. */
static egcam_status check_image_to_write(egcam_ctx *ctx, const char *fn, const egcam_image *image)
{
    if (!image)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: image is NULL", fn);
    if (!image->pixels)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "%s: image has NULL pixels", fn);
    if (!egcam__reserved_ok(image->reserved))
        return egcam__fail(ctx, EGCAM_E_STRUCT_SIZE, "%s: image reserved field is not 0", fn);
    if (image->width == 0 || image->height == 0)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "%s: image is %u x %u", fn, (unsigned)image->width,
                           (unsigned)image->height);
    uint32_t ch = image->channels;
    if (ch != 1 && ch != 3 && ch != 4)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "%s: image has %u channels; expected 1, 3 or 4", fn, (unsigned)ch);
    /* libpng's limits: its default user limit on width and height, and a
     * 32-bit byte count for the whole image in the simplified API. */
    if (image->width > PNG_USER_WIDTH_MAX || image->height > PNG_USER_HEIGHT_MAX ||
        (uint64_t)image->width * image->height * ch > 0xffffffffu)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "%s: a %u x %u image is too large for libpng "
                           "(at most %u pixels a side, 4 GiB in all)",
                           fn, (unsigned)image->width, (unsigned)image->height,
                           (unsigned)PNG_USER_WIDTH_MAX);
    return EGCAM_OK;
}

/* The encoder of egcam__encode() (a checked image). */
static egcam_status encode_png(egcam_ctx *ctx, egcam__output *out, const void *what)
{
    const egcam_image *image = what;
    uint32_t ch = image->channels;
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = image->width;
    pi.height = image->height;
    pi.format = ch == 1 ? PNG_FORMAT_GRAY : ch == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
    egcam_status st = EGCAM_OK;
    errno = 0;
    if (!png_image_write_to_stdio(&pi, out->f, 0, image->pixels, (png_int_32)(image->width * ch),
                                  NULL)) {
        /* A failed write is the system's, with its reason (a full disk),
         * not only libpng's "Write Error". */
        int err = errno;
        const char *msg = pi.message[0] ? pi.message : "unknown libpng error";
        if (ferror(out->f))
            st = egcam__fail(ctx, EGCAM_E_IO, "%s: write error: %s", out->path,
                             err ? strerror(err) : msg);
        else if (is_out_of_memory(msg))
            st = egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "%s: out of memory (libpng: %s)",
                             out->path, msg);
        else
            st = egcam__fail(ctx, EGCAM_E_IO, "%s: cannot write the PNG (libpng: %s)", out->path,
                             msg);
    }
    png_image_free(&pi);
    return st;
}

egcam_status egcam_png_write(egcam_ctx *ctx, const char *path, const egcam_image *image)
{
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!path)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_png_write: path is NULL");
    egcam_status st = check_image_to_write(ctx, "egcam_png_write", image);
    return st != EGCAM_OK ? st : egcam__encode(ctx, path, NULL, encode_png, image);
}

egcam_status egcam_png_encode(egcam_ctx *ctx, const egcam_image *image, egcam_bytes **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_png_encode: out is NULL");
    egcam_status st = check_image_to_write(ctx, "egcam_png_encode", image);
    return st != EGCAM_OK ? st : egcam__encode(ctx, NULL, out, encode_png, image);
}
