/*
 * render.c - pictures made from maps: a coloured map blended over an image,
 * and panels of captioned tiles. Resizing is the shared resampler's
 * (resample.c), colours come from colormap.c, text from font.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

static uint8_t to_byte(double v) { return v <= 0.0 ? 0 : v >= 255.0 ? 255 : (uint8_t)(v + 0.5); }

/* ---- overlay ------------------------------------------------------------ */

static egcam_status check_overlay(egcam_ctx *ctx, const egcam_image *image, const float *map,
                                  uint32_t height, uint32_t width, uint32_t colormap, float opacity)
{
    egcam_status st = egcam__check_image(ctx, image, "the image");
    if (st != EGCAM_OK)
        return st;
    if (!map)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_render_overlay: map is NULL");
    if (!height || !width)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "the map is %ux%u", height, width);
    if ((uint64_t)height * width > EGCAM_PNG_MAX_PIXELS)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "the map is too large (%ux%u)", height,
                           width);
    if (!egcam__colormap_table(colormap))
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "colormap %u is unknown; expected an EGCAM_COLORMAP_* value", colormap);
    if (!isfinite(opacity))
        return egcam__fail(ctx, EGCAM_E_NON_FINITE, "opacity is not finite");
    if (opacity < 0.0f || opacity > 1.0f)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "opacity is %g; must be in [0, 1]",
                           (double)opacity);
    /* A NaN would spread through resizing; infinity too (inf * 0). */
    return egcam__check_finite(ctx, map, (size_t)height * width, "the map");
}

egcam_status egcam_render_overlay(egcam_ctx *ctx, const egcam_image *image, const float *map,
                                  uint32_t height, uint32_t width, uint32_t colormap, float opacity,
                                  egcam_image **out)
{
    if (out) /* even without a ctx, a failed call leaves no output */
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_render_overlay: out is NULL");
    egcam_status st = check_overlay(ctx, image, map, height, width, colormap, opacity);
    if (st != EGCAM_OK)
        return st;

    size_t ih = image->height, iw = image->width, n = ih * iw;
    float *resized = NULL, *tmp = NULL;
    const float *m = map;
    if (height != ih || width != iw) {
        /* Antialiased, so a map shrunk onto a small image is averaged rather
         * than point-sampled; enlarging (the usual case) is plain bilinear. */
        resized = egcam__malloc(n * sizeof *resized);
        tmp = egcam__malloc((size_t)height * iw * sizeof *tmp);
        if (!resized || !tmp) {
            free(resized);
            free(tmp);
            return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the resized map");
        }
        egcam__resample(map, height, width, resized, ih, iw, 1, tmp);
        free(tmp);
        m = resized;
    }
    egcam_image *img = egcam__image_new(image->width, image->height, 3);
    if (!img) {
        free(resized);
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the overlay");
    }
    /* out = round((1 - opacity) * pixel + opacity * colour), per channel, in
     * double; gray shows as RGB, the alpha of RGBA is ignored. */
    const uint8_t(*table)[3] = egcam__colormap_table(colormap);
    double a = opacity, b = 1.0 - a;
    size_t ic = image->channels;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *px = image->pixels + i * ic, *col = table[egcam__colormap_index(m[i])];
        for (size_t c = 0; c < 3; c++)
            img->pixels[i * 3 + c] = to_byte(b * px[ic == 1 ? 0 : c] + a * col[c]);
    }
    free(resized);
    *out = img;
    return EGCAM_OK;
}

/* ---- panel -------------------------------------------------------------- */

/* Layout, all in pixels; s is the text scale, M = 4 s the margin:
 *
 *   M | title (10 s high, centred), M      -- only with a title
 *   tiles, T high, each centred in its column, columns M apart and M from
 *   the sides | M | captions (10 s high, centred under their tile), M
 *                                           -- only if some caption is set
 *   M
 *
 * T is the first tile's height, times the smallest whole factor that makes
 * it at least MIN_TILE, so a 28x28 tile shows at 140x140 and its caption
 * stays readable; s = 1 + T / 256 grows the text with large tiles. A column
 * is as wide as its tile (scaled to T, aspect kept) or its caption, whichever
 * is wider; the panel is widened for the title if needed. */
#define MIN_TILE 128u

static const uint8_t black[3] = {0, 0, 0};

typedef struct layout {
    size_t tile_h, scale, margin, text_h;
    size_t width, height;
    size_t tiles_y, captions_y;
} layout;

static egcam_status plan(egcam_ctx *ctx, const egcam_panel_tile *tiles, uint32_t count,
                         const char *title, size_t *tile_w, size_t *col_w, layout *L)
{
    size_t h0 = tiles[0].image->height;
    L->tile_h = h0 < MIN_TILE ? h0 * ((MIN_TILE + h0 - 1) / h0) : h0;
    L->scale = 1 + L->tile_h / 256;
    L->margin = 4 * L->scale;
    L->text_h = EGCAM__FONT_HEIGHT * L->scale;
    int captions = 0;
    uint64_t width = L->margin;
    for (uint32_t i = 0; i < count; i++) {
        const egcam_image *im = tiles[i].image;
        double w = floor((double)im->width * (double)L->tile_h / im->height + 0.5);
        if (w > (double)EGCAM_PNG_MAX_PIXELS)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "tile %u is too wide", i);
        tile_w[i] = w < 1.0 ? 1 : (size_t)w;
        size_t text_w = egcam__text_width(tiles[i].caption, (uint32_t)L->scale);
        col_w[i] = text_w > tile_w[i] ? text_w : tile_w[i];
        captions |= tiles[i].caption != NULL;
        width += (uint64_t)col_w[i] + L->margin;
        if (width > EGCAM_PNG_MAX_PIXELS)
            return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT, "the panel is too wide");
    }
    if (title) {
        uint64_t title_w = egcam__text_width(title, (uint32_t)L->scale) + 2 * L->margin;
        width = title_w > width ? title_w : width;
    }
    L->tiles_y = L->margin + (title ? L->text_h + L->margin : 0);
    L->captions_y = L->tiles_y + L->tile_h + L->margin;
    uint64_t height = L->tiles_y + L->tile_h + L->margin + (captions ? L->text_h + L->margin : 0);
    if (width * height > EGCAM_PNG_MAX_PIXELS)
        return egcam__fail(ctx, EGCAM_E_INVALID_ARGUMENT,
                           "the panel would be too large "
                           "(%llux%llu)",
                           (unsigned long long)width, (unsigned long long)height);
    L->width = (size_t)width;
    L->height = (size_t)height;
    return EGCAM_OK;
}

/* A tile scaled to h x w, as RGB, with its top-left corner at (x, y) of the panel. */
static egcam_status draw_tile(const egcam_image *tile, size_t h, size_t w, egcam_image *panel,
                              size_t x, size_t y)
{
    float *planes = egcam__malloc(3 * h * w * sizeof *planes);
    if (!planes)
        return EGCAM_E_OUT_OF_MEMORY;
    egcam_status st = egcam__image_planes(tile, 3, h, w, planes);
    for (size_t r = 0; st == EGCAM_OK && r < h; r++) {
        uint8_t *dst = panel->pixels + ((y + r) * panel->width + x) * 3;
        for (size_t c = 0; c < w; c++)
            for (size_t k = 0; k < 3; k++)
                dst[c * 3 + k] = to_byte(planes[(k * h + r) * w + c]);
    }
    free(planes);
    return st;
}

static egcam_status check_tiles(egcam_ctx *ctx, const egcam_panel_tile *tiles, uint32_t count)
{
    if (!tiles)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_render_panel: tiles is NULL");
    if (!count)
        return egcam__fail(ctx, EGCAM_E_EMPTY, "egcam_render_panel: no tiles");
    for (uint32_t i = 0; i < count; i++) {
        char what[32];
        snprintf(what, sizeof what, "tile %u", i);
        egcam_status st = egcam__check_image(ctx, tiles[i].image, what);
        if (st != EGCAM_OK)
            return st;
        if (tiles[i].reserved)
            return egcam__fail(ctx, EGCAM_E_STRUCT_SIZE,
                               "egcam_render_panel: tile %u: "
                               "reserved is not NULL (a newer header?)",
                               i);
    }
    return EGCAM_OK;
}

egcam_status egcam_render_panel(egcam_ctx *ctx, const egcam_panel_tile *tiles, uint32_t count,
                                const char *title, egcam_image **out)
{
    if (out) /* even without a ctx, a failed call leaves no output */
        *out = NULL;
    if (!ctx)
        return EGCAM_E_NULL_ARGUMENT;
    egcam__clear_error(ctx);
    if (!out)
        return egcam__fail(ctx, EGCAM_E_NULL_ARGUMENT, "egcam_render_panel: out is NULL");
    egcam_status st = check_tiles(ctx, tiles, count);
    if (st != EGCAM_OK)
        return st;
    size_t *tile_w = egcam__malloc(2 * (size_t)count * sizeof *tile_w);
    if (!tile_w)
        return egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for the panel layout");
    size_t *col_w = tile_w + count;
    layout L = {0};
    egcam_image *panel = NULL;
    if ((st = plan(ctx, tiles, count, title, tile_w, col_w, &L)) != EGCAM_OK)
        goto done;
    panel = egcam__image_new((uint32_t)L.width, (uint32_t)L.height, 3);
    if (!panel) {
        st = egcam__fail(ctx, EGCAM_E_OUT_OF_MEMORY, "out of memory for a %zux%zu panel", L.width,
                         L.height);
        goto done;
    }
    memset(panel->pixels, 255, L.width * L.height * 3);
    if (title)
        egcam__draw_text(panel->pixels, L.width, L.height,
                         (ptrdiff_t)(L.width - egcam__text_width(title, (uint32_t)L.scale)) / 2,
                         (ptrdiff_t)L.margin, title, (uint32_t)L.scale, black);
    size_t x = L.margin;
    for (uint32_t i = 0; i < count; i++) {
        st = draw_tile(tiles[i].image, L.tile_h, tile_w[i], panel, x + (col_w[i] - tile_w[i]) / 2,
                       L.tiles_y);
        if (st != EGCAM_OK) {
            st = egcam__fail(ctx, st, "out of memory while scaling tile %u", i);
            goto done;
        }
        size_t text_w = egcam__text_width(tiles[i].caption, (uint32_t)L.scale);
        egcam__draw_text(panel->pixels, L.width, L.height, (ptrdiff_t)(x + (col_w[i] - text_w) / 2),
                         (ptrdiff_t)L.captions_y, tiles[i].caption, (uint32_t)L.scale, black);
        x += col_w[i] + L.margin;
    }
done:
    free(tile_w);
    if (st != EGCAM_OK) {
        egcam_image_free(panel);
        return st;
    }
    *out = panel;
    return EGCAM_OK;
}
