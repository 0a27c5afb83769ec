/*
 * egcam_image.h - images in, pictures out: PNG and .npy files, the
 * preprocessing that turns an image into a model's input tensor, and the
 * pictures made from maps (colour maps, overlays, panels).
 *
 * Everything here is part of libegcam (it uses libpng); nothing needs a
 * backend. Images and tensors that the library returns are allocated by it
 * and freed with egcam_image_free() / egcam_tensor_free(). Images and
 * tensors the caller passes in are borrowed for the call.
 */
#ifndef EGCAM_IMAGE_H
#define EGCAM_IMAGE_H

#include "egcam.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Images: 8-bit, interleaved, row-major. The layout is frozen for the life  */
/* of the SONAME.                                                           */
/* ------------------------------------------------------------------------ */
typedef struct egcam_image {
    uint8_t *pixels;    /* height * width * channels bytes */
    uint32_t width;
    uint32_t height;
    uint32_t channels;  /* 1 gray, 3 RGB, 4 RGBA */
    uint32_t reserved;  /* must be 0 */
} egcam_image;

/** Free an image returned by libegcam (its pixels too). NULL is a no-op.
 *  Never pass an image you made yourself. */
EGCAM_API void egcam_image_free(egcam_image *image);

/** Free a tensor returned by libegcam (its data too). NULL is a no-op. */
EGCAM_API void egcam_tensor_free(egcam_tensor *tensor);

/* ------------------------------------------------------------------------ */
/* PNG                                                                      */
/* ------------------------------------------------------------------------ */

/* Largest image read: width * height above this is refused (EGCAM_E_FORMAT)
 * before anything is allocated. */
#define EGCAM_PNG_MAX_PIXELS ((uint64_t)1 << 28)

/**
 * Read a PNG file of any kind (gray, gray + alpha, RGB, RGBA, palette,
 * 1 to 16 bits, interlaced) as 8-bit pixels.
 *
 * @param[in]  channels  1: gray; 3: RGB; 0: as stored (1 for gray images,
 *                       3 otherwise). Alpha is composited over black.
 * @param[out] out       free with egcam_image_free()
 * @return EGCAM_OK, EGCAM_E_IO (cannot open), EGCAM_E_FORMAT (not a PNG,
 *         corrupt, truncated, or larger than EGCAM_PNG_MAX_PIXELS),
 *         EGCAM_E_INVALID_ARGUMENT, EGCAM_E_NULL_ARGUMENT,
 *         EGCAM_E_OUT_OF_MEMORY.
 */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_png_read(egcam_ctx *ctx, const char *path, uint32_t channels, egcam_image **out);

/** egcam_png_read() from size bytes in memory. */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_png_decode(egcam_ctx *ctx, const void *data, size_t size, uint32_t channels,
                 egcam_image **out);

/** Write an 8-bit PNG: gray, RGB or RGBA after image->channels. */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_png_write(egcam_ctx *ctx, const char *path, const egcam_image *image);

/* ------------------------------------------------------------------------ */
/* NumPy .npy files: little-endian float32 in C order, 1 to 4 dimensions.    */
/* ------------------------------------------------------------------------ */

/** Read a .npy file (format 1.0 to 3.0, dtype '<f4', C order).
 *  @param[out] out  free with egcam_tensor_free()
 *  @return EGCAM_OK, EGCAM_E_IO, EGCAM_E_FORMAT (bad magic or header, other
 *  dtype, Fortran order, more than 4 dimensions, truncated data). */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_npy_read(egcam_ctx *ctx, const char *path, egcam_tensor **out);

/** Write a tensor as a .npy file (format 1.0, '<f4'). */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_npy_write(egcam_ctx *ctx, const char *path, const egcam_tensor *tensor);

/* ------------------------------------------------------------------------ */
/* Preprocessing: image -> model input [C, H, W]                            */
/* ------------------------------------------------------------------------ */

/**
 * How an image becomes a model's input. Initialise with
 * egcam_preprocess_init() (identity: keep the size and channels, scale to
 * [0, 1], mean 0, std 1) or egcam_preprocess_init_imagenet(); same ABI rules
 * as egcam_config.
 */
typedef struct egcam_preprocess {
    size_t   struct_size;
    uint32_t width, height;  /* output size; 0: the image's */
    uint32_t channels;       /* 1 or 3; 0: the image's (RGBA counts as 3).
                                Gray becomes RGB by repetition; RGB becomes
                                gray by ITU-R BT.601 luma. */
    uint32_t reserved0;      /* must be 0 */
    float    mean[3];        /* per channel, after scaling to [0, 1] */
    float    std[3];         /* per channel, > 0 */
    uint8_t  reserved[32];   /* must be 0 */
} egcam_preprocess;

/** Identity preprocessing over the first size bytes of *p. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_preprocess_init_sized(egcam_preprocess *p,
                                                                   size_t size);
#define egcam_preprocess_init(p) egcam_preprocess_init_sized((p), sizeof *(p))

/** The torchvision ImageNet preset: 3 channels, mean (0.485, 0.456, 0.406),
 *  std (0.229, 0.224, 0.225); the size is left to the caller. */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_preprocess_init_imagenet_sized(egcam_preprocess *p, size_t size);
#define egcam_preprocess_init_imagenet(p) egcam_preprocess_init_imagenet_sized((p), sizeof *(p))

/**
 * Resize (bilinear, half-pixel centres; when shrinking, the filter widens
 * with the scale so that every source pixel counts, as PIL's and
 * torchvision's antialiased resize do), convert channels, scale to [0, 1]
 * and normalise: out = (pixel / 255 - mean) / std.
 * @param[out] out  [C, H, W]; free with egcam_tensor_free()
 */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_preprocess_image(egcam_ctx *ctx, const egcam_image *image, const egcam_preprocess *p,
                       egcam_tensor **out);

/* ------------------------------------------------------------------------ */
/* Pictures                                                                 */
/* ------------------------------------------------------------------------ */

#define EGCAM_COLORMAP_TURBO    1u
#define EGCAM_COLORMAP_JET      2u
#define EGCAM_COLORMAP_VIRIDIS  3u
#define EGCAM_COLORMAP_INFERNO  4u

/** The colour of v in [0, 1] (clamped) in a colour map, into rgb[3].
 *  @return EGCAM_OK or EGCAM_E_INVALID_ARGUMENT for an unknown map. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_colormap(uint32_t colormap, float v, uint8_t rgb[3]);

/** Look a colour map up by name ("turbo", "jet", "viridis", "inferno");
 *  0 when unknown. */
EGCAM_API uint32_t egcam_colormap_by_name(const char *name);

/**
 * The map (height x width values in [0, 1], e.g. EGCAM_MAP_NORMALIZED)
 * coloured and blended over image: out = (1 - opacity) * image + opacity *
 * colour. The map is resized to the image (bilinear) when sizes differ; a
 * gray image is shown as RGB. opacity in [0, 1].
 * @param[out] out  RGB; free with egcam_image_free()
 */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_render_overlay(egcam_ctx *ctx, const egcam_image *image, const float *map, uint32_t height,
                     uint32_t width, uint32_t colormap, float opacity, egcam_image **out);

/** One tile of a panel: a picture and the caption written under it. */
typedef struct egcam_panel_tile {
    const egcam_image *image;  /* borrowed */
    const char        *caption; /* ASCII; may be NULL */
} egcam_panel_tile;

/**
 * Tiles side by side, each scaled to the height of the first, with its
 * caption below in a built-in bitmap font, and an optional title above.
 * @param[out] out  RGB; free with egcam_image_free()
 */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_render_panel(egcam_ctx *ctx, const egcam_panel_tile *tiles, uint32_t count,
                   const char *title, egcam_image **out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EGCAM_IMAGE_H */
