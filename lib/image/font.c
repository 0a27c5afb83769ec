/*
 * font.c - one line of text in a fixed-width bitmap font, for captions.
 * The glyphs are X11's public-domain misc-fixed 6x10 (font_glyphs.h, made
 * by make_font.py from Debian's xfonts-base). Scaling is by whole pixels,
 * so text stays sharp at any size.
 */
#include <string.h>

#include "font_glyphs.h"
#include "image.h"

_Static_assert(EGCAM__GLYPH_WIDTH == EGCAM__FONT_WIDTH && EGCAM__GLYPH_HEIGHT == EGCAM__FONT_HEIGHT,
               "internal.h and font_glyphs.h disagree on the cell size");

size_t egcam__text_width(const char *text, uint32_t scale)
{
    return text ? strlen(text) * EGCAM__FONT_WIDTH * scale : 0;
}

static const uint8_t *glyph(unsigned char ch)
{
    if (ch < EGCAM__GLYPH_FIRST || ch > EGCAM__GLYPH_LAST)
        ch = '?'; /* control characters and bytes of UTF-8 sequences */
    return egcam__glyphs[ch - EGCAM__GLYPH_FIRST];
}

void egcam__draw_text(uint8_t *rgb, size_t width, size_t height, ptrdiff_t x, ptrdiff_t y,
                      const char *text, uint32_t scale, const uint8_t color[3])
{
    if (!text)
        return;
    ptrdiff_t s = (ptrdiff_t)scale, w = (ptrdiff_t)width, h = (ptrdiff_t)height;
    for (const unsigned char *p = (const unsigned char *)text; *p;
         p++, x += EGCAM__FONT_WIDTH * s) {
        const uint8_t *g = glyph(*p);
        for (ptrdiff_t gy = 0; gy < EGCAM__FONT_HEIGHT * s; gy++) {
            ptrdiff_t py = y + gy;
            if (py < 0 || py >= h)
                continue;
            uint8_t bits = g[gy / s];
            for (ptrdiff_t gx = 0; gx < EGCAM__FONT_WIDTH * s; gx++) {
                ptrdiff_t px = x + gx;
                if (px < 0 || px >= w || !(bits & (0x80 >> (gx / s))))
                    continue;
                memcpy(rgb + ((size_t)py * width + (size_t)px) * 3, color, 3);
            }
        }
    }
}
