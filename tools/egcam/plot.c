/* plot.c - a tiny line plotter: enough for mean deletion/insertion curves. */
#include "plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MARGIN = 12 };

static void dot(egcam_image *img, int x, int y, const uint8_t c[3], int thick)
{
    for (int dy = -thick / 2; dy <= thick / 2; dy++)
        for (int dx = -thick / 2; dx <= thick / 2; dx++) {
            int px = x + dx, py = y + dy;
            if (px >= 0 && py >= 0 && (uint32_t)px < img->width && (uint32_t)py < img->height)
                memcpy(img->pixels + ((size_t)py * img->width + (size_t)px) * 3, c, 3);
        }
}

/* Bresenham's line. */
static void line(egcam_image *img, int x0, int y0, int x1, int y1, const uint8_t c[3], int thick)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    for (int err = dx + dy;;) {
        dot(img, x0, y0, c, thick);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy)
            err += dy, x0 += sx;
        if (e2 <= dx)
            err += dx, y0 += sy;
    }
}

egcam_image *cli_plot(const double *const *curves, const uint8_t (*colors)[3], int series,
                      uint32_t points, uint32_t width, uint32_t height)
{
    egcam_image *img = malloc(sizeof *img);
    uint8_t *pixels = malloc((size_t)width * height * 3);
    if (!img || !pixels) {
        free(img);
        free(pixels);
        return NULL;
    }
    *img = (egcam_image){pixels, width, height, 3, 0};
    memset(pixels, 255, (size_t)width * height * 3);
    int x0 = MARGIN, y0 = (int)height - MARGIN, w = (int)width - 2 * MARGIN,
        h = (int)height - 2 * MARGIN;
    static const uint8_t grid[3] = {225, 225, 225}, axis[3] = {0, 0, 0};
    for (int k = 1; k <= 4; k++) { /* quarters of both axes */
        line(img, x0 + w * k / 4, y0, x0 + w * k / 4, y0 - h, grid, 1);
        line(img, x0, y0 - h * k / 4, x0 + w, y0 - h * k / 4, grid, 1);
    }
    line(img, x0, y0, x0 + w, y0, axis, 1);
    line(img, x0, y0, x0, y0 - h, axis, 1);
    for (int s = 0; s < series; s++)
        for (uint32_t i = 0; i + 1 < points; i++) {
            double a = curves[s][i], b = curves[s][i + 1];
            if (!isfinite(a) || !isfinite(b))
                continue;
            int xa = x0 + (int)lround((double)w * i / (points - 1));
            int xb = x0 + (int)lround((double)w * (i + 1) / (points - 1));
            int ya = y0 - (int)lround(h * fmin(fmax(a, 0), 1));
            int yb = y0 - (int)lround(h * fmin(fmax(b, 0), 1));
            line(img, xa, ya, xb, yb, colors[s], 2);
        }
    return img;
}

void cli_plot_free(egcam_image *plot)
{
    if (plot)
        free(plot->pixels);
    free(plot);
}
