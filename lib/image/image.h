/*
 * image.h - what the files of lib/image share (libegcam-image). They reach
 * the core only through lib/core/internal.h, and the context only through
 * the public API.
 */
#ifndef EGCAM_IMAGE_IMAGE_H
#define EGCAM_IMAGE_IMAGE_H

#include "../core/internal.h"
#include "egcam/egcam_image.h"

/* ---- the images the library hands out (objects.c) ----------------------------- */
/* Made as lib/core/internal.h says of tensors (one block, EGCAM__OWNED_MARK),
 * so that egcam_image_free() is one free() and refuses anything else. Never
 * point the pixels of such an image anywhere else. */

/* A width x height image (each >= 1) of 1, 3 or 4 channels; pixels zeroed
 * and aligned for any type. NULL when an argument is invalid, the size
 * overflows size_t, or memory runs out. */
egcam_image *egcam__image_new(uint32_t width, uint32_t height, uint32_t channels);
/* The same with room for `room` >= channels bytes per pixel (a decoder's
 * wider samples), and egcam__image_shrink() to give the spare room back
 * (the image as it was when the memory cannot be had back). */
egcam_image *egcam__image_alloc(uint32_t width, uint32_t height, uint32_t channels, uint32_t room);
egcam_image *egcam__image_shrink(egcam_image *img);

/* ---- images as floats (planes.c) ------------------------------------------------ */
/* Check a caller's image: NULL, NULL pixels, reserved bytes, zero size,
 * channels other than 1/3/4, more than EGCAM_PNG_MAX_PIXELS; `what` names
 * it in the message. */
egcam_status egcam__check_image(egcam_ctx *ctx, const egcam_image *img, const char *what);

/* A checked image as `channels` (1 or 3) float planes of values 0..255,
 * resized to oh x ow with antialiasing: gray repeated for RGB, RGB to gray
 * by BT.601 luma, alpha ignored. out holds channels * oh * ow floats.
 * EGCAM_E_OUT_OF_MEMORY (without a message) when scratch cannot be had. */
egcam_status egcam__image_planes(const egcam_image *img, uint32_t channels, size_t oh, size_t ow,
                                 float *out);

/* ---- what the library writes (output.c) ------------------------------------------ */
/* A stream being written: a temporary file beside path, renamed onto it at
 * the end, or memory. Every failure names path ("memory") and strerror. */
typedef struct egcam__output {
    FILE *f;
    const char *path; /* the destination, borrowed; "memory" */
    char *tmp;        /* a file's temporary path */
    char *mem;        /* memory: open_memstream()'s buffer ... */
    size_t mem_size;  /* ... and its size */
} egcam__output;

egcam_status egcam__output_write(egcam_ctx *ctx, egcam__output *out, const void *data, size_t n);

/* A format's encoder: what it encodes, written to out (a checked object). */
typedef egcam_status (*egcam__encoder)(egcam_ctx *ctx, egcam__output *out, const void *what);

/* Encode `what` to the file at path (path non-NULL: refused when it names a
 * folder, a device or a pipe; a link there is replaced, not followed), or
 * to memory as a new *bytes (path NULL). On failure nothing is left: no
 * temporary, the destination untouched, *bytes not set. */
egcam_status egcam__encode(egcam_ctx *ctx, const char *path, egcam_bytes **bytes,
                           egcam__encoder encode, const void *what);

/* ---- colour maps (colormap.c) ---------------------------------------------------- */
/* The 256 RGB entries of an EGCAM_COLORMAP_*, or NULL for an unknown one. */
const uint8_t (*egcam__colormap_table(uint32_t colormap))[3];
/* The entry for v: clamped to [0, 1], NaN as 0, then matplotlib's rule. */
size_t egcam__colormap_index(float v);

/* ---- bitmap font (font.c) -------------------------------------------------------- */
/* Fixed cells of misc-fixed 6x10; scale multiplies both. */
#define EGCAM__FONT_WIDTH 6
#define EGCAM__FONT_HEIGHT 10

/* Width in pixels of one line of text at scale: characters times cell. */
size_t egcam__text_width(const char *text, uint32_t scale);
/* Draw one line of text (bytes outside printable ASCII as '?') into a
 * width x height RGB buffer, the top-left of its first cell at (x, y),
 * clipped to the buffer; only the glyphs' pixels are painted, in color. */
void egcam__draw_text(uint8_t *rgb, size_t width, size_t height, ptrdiff_t x, ptrdiff_t y,
                      const char *text, uint32_t scale, const uint8_t color[3]);

#endif /* EGCAM_IMAGE_IMAGE_H */
