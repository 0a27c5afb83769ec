/*
 * resample.c - the one resampler of the libraries: float planes resized
 * with a triangle (bilinear) filter on half-pixel centres. It serves the
 * map upsampling of results (maps.c) and, in libegcam-image, preprocessing,
 * overlays and panels (lib/image/planes.c).
 *
 * The filter is the one of PIL's BILINEAR resize and of PyTorch's
 * interpolate(mode="bilinear", align_corners=False, antialias=True), which
 * torchvision's resize(antialias=True) calls: output pixel d of an axis
 * scaled by s = in/out is centred at c = (d + 1/2) s in input coordinates,
 * and input pixel j (centred at j + 1/2) weighs tri((j + 1/2 - c) / f),
 * tri(t) = max(0, 1 - |t|), normalised over the pixels inside the image.
 * f = 1 when enlarging, which is plain bilinear interpolation; when shrinking
 * with antialiasing f = s, so the filter widens and every input pixel counts.
 * Without antialiasing f = 1 always: two taps, exactly PyTorch's
 * antialias=False bilinear, clamping included (the weights of taps outside
 * the image are dropped and the rest renormalised, which is what clamping the
 * sample position to the edge pixel amounts to).
 *
 * Weights are computed where they are used rather than tabled, so that the
 * resampler itself never allocates and the map upsampler, which cannot fail,
 * can share it.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

typedef struct axis {
    size_t in;
    double scale;   /* in / out */
    double support; /* half-width of the filter in input pixels */
    double inv;     /* 1 / filter scale */
} axis;

static axis axis_make(size_t in, size_t out, int antialias)
{
    double scale = (double)in / (double)out;
    double f = antialias && scale > 1.0 ? scale : 1.0;
    return (axis){in, scale, f, 1.0 / f};
}

/* The input pixels [first, end) under output pixel d, centred at c. The
 * bounds round as PIL's do, so the same taps are visited. */
typedef struct taps {
    size_t first, end;
    double c;
} taps;

static taps taps_at(const axis *a, size_t d)
{
    double c = ((double)d + 0.5) * a->scale;
    double lo = floor(c - a->support + 0.5), hi = floor(c + a->support + 0.5);
    return (taps){lo > 0.0 ? (size_t)lo : 0, hi < (double)a->in ? (size_t)hi : a->in, c};
}

static double weight(const axis *a, const taps *t, size_t j)
{
    double u = fabs(((double)j + 0.5 - t->c) * a->inv);
    return u < 1.0 ? 1.0 - u : 0.0;
}

/* Output pixel d of one row. The weight sum is > 0: the input pixel nearest
 * the centre is less than one filter half-width away. */
static float sample_row(const axis *a, size_t d, const float *row)
{
    taps t = taps_at(a, d);
    double sum = 0.0, wsum = 0.0;
    for (size_t j = t.first; j < t.end; j++) {
        double w = weight(a, &t, j);
        sum += w * row[j];
        wsum += w;
    }
    return (float)(sum / wsum);
}

void egcam__resample(const float *in, size_t ih, size_t iw, float *out, size_t oh, size_t ow,
                     int antialias, float *tmp)
{
    if (ih == oh && iw == ow) { /* the filter is the identity here; skip the work */
        memcpy(out, in, ih * iw * sizeof *in);
        return;
    }
    axis ax = axis_make(iw, ow, antialias), ay = axis_make(ih, oh, antialias);
    /* Horizontal pass first, as PIL does. With tmp, each input row is filtered
     * once; without, each output row filters again the rows it needs. The
     * horizontal result is rounded to float either way, so both give the same
     * bits. */
    if (tmp)
        for (size_t r = 0; r < ih; r++)
            for (size_t x = 0; x < ow; x++)
                tmp[r * ow + x] = sample_row(&ax, x, in + r * iw);
    for (size_t y = 0; y < oh; y++) {
        taps t = taps_at(&ay, y);
        for (size_t x = 0; x < ow; x++) {
            double sum = 0.0, wsum = 0.0;
            for (size_t r = t.first; r < t.end; r++) {
                double w = weight(&ay, &t, r);
                sum += w * (tmp ? tmp[r * ow + x] : sample_row(&ax, x, in + r * iw));
                wsum += w;
            }
            out[y * ow + x] = (float)(sum / wsum);
        }
    }
}
