/*
 * egcam_image.h - images in, pictures out: PNG and .npy, in files or in
 * memory, the preprocessing that turns an image into a model's input
 * tensor, and the pictures made from maps (colour maps, overlays, panels).
 *
 * Everything here is libegcam-image (pkg-config egcam-image), the one
 * library of the family that links libpng; it needs libegcam and no
 * backend. A program that only explains links libegcam alone.
 *
 * Ownership, as everywhere in libegcam: an object the library hands out is
 * made by a _new() or a reader (egcam_image_new, egcam_png_read, ...) and
 * freed by its _free(). egcam_image_free() and egcam_tensor_free()
 * (egcam.h) free only what the library made: given an image or tensor you
 * made yourself (or a copy of one of ours), they do nothing. Images,
 * tensors and buffers you pass in are borrowed for the call.
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
    uint8_t *pixels; /* height * width * channels bytes */
    uint32_t width;
    uint32_t height;
    uint32_t channels; /* 1 gray, 3 RGB, 4 RGBA */
    uint32_t reserved; /* 0 in an image you make; the library marks its
                           own here (leave it as it is) */
} egcam_image;

/** A new width x height image of 1, 3 or 4 channels, all pixels 0.
 *  @param[out] out  free with egcam_image_free()
 *  @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT, EGCAM_E_EMPTY (a size of 0),
 *  EGCAM_E_INVALID_ARGUMENT (channels; more than EGCAM_PNG_MAX_PIXELS),
 *  EGCAM_E_OUT_OF_MEMORY. @since 0.1 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_image_new(egcam_ctx *ctx, uint32_t width,
                                                       uint32_t height, uint32_t channels,
                                                       egcam_image **out);

/** Free an image libegcam made (its pixels too). NULL, and an image you
 *  made yourself, are left alone. */
EGCAM_API void egcam_image_free(egcam_image *image);

/* ------------------------------------------------------------------------ */
/* Encoded bytes: a PNG or .npy file made in memory                         */
/* ------------------------------------------------------------------------ */

/** Bytes the library encoded (egcam_png_encode, egcam_npy_encode). */
typedef struct egcam_bytes egcam_bytes;

/** The bytes and their count, owned by bytes (NULL and 0 for NULL). */
EGCAM_API const void *egcam_bytes_data(const egcam_bytes *bytes);
EGCAM_API size_t      egcam_bytes_size(const egcam_bytes *bytes);
/** NULL is a no-op. */
EGCAM_API void egcam_bytes_free(egcam_bytes *bytes);

/* ------------------------------------------------------------------------ */
/* PNG                                                                      */
/* ------------------------------------------------------------------------ */

/* Largest image read: width * height above this is refused (EGCAM_E_FORMAT)
 * before anything is allocated. (libpng also refuses a width or a height
 * above 1000000, its default limit.) */
#define EGCAM_PNG_MAX_PIXELS ((uint64_t)1 << 28)

/* What alpha becomes (or'ed into egcam_png_read()'s channels). @since 0.1 */
#define EGCAM_PNG_ALPHA_BLACK 0u        /* composited over black (default) */
#define EGCAM_PNG_ALPHA_WHITE (1u << 8) /* composited over white */
#define EGCAM_PNG_ALPHA_DROP  (2u << 8) /* dropped: the colour as stored */
#define EGCAM_PNG_ALPHA_MASK  (3u << 8)

/**
 * Read a PNG file of any kind (gray, gray + alpha, RGB, RGBA, palette,
 * 1 to 16 bits, interlaced) as 8-bit pixels.
 *
 * Samples become 8-bit as libpng's simplified API makes them: 1, 2 and
 * 4-bit values v scale to v * 255 / (2^bits - 1), 16-bit ones to
 * round(v / 257); gAMA and sRGB chunks are honoured (converted to sRGB), and
 * files without them are taken as sRGB, 16-bit ones too.
 * Alpha (an alpha channel or tRNS) is composited over black on those 8-bit
 * sRGB values, per channel: round(v * alpha / 255) (not in linear light);
 * or over white, round((v * alpha + 255 * (255 - alpha)) / 255), with
 * EGCAM_PNG_ALPHA_WHITE; or dropped, the colour as stored, as PIL's
 * convert("RGB") does (torchvision's usual loading), with
 * EGCAM_PNG_ALPHA_DROP (16-bit interlaced files, which libpng gives
 * premultiplied, have lost the colour of fully transparent pixels: 0).
 * Colour becomes gray (channels 1) by ITU-R BT.601 luma after compositing,
 * (19595 R + 38470 G + 7471 B + 32768) >> 16 as Pillow's convert("L");
 * gray becomes RGB by repetition.
 * 16-bit interlaced files are decoded at 16 bits, because libpng's direct
 * 16-to-8-bit path garbles them (libpng issue #853): their opaque pixels
 * come out as above when the file has no gamma information; pixels with
 * partial alpha may differ by 1, and files with gamma information are
 * encoded with the 1/2.2 power, within 1 of the non-interlaced result
 * (more in the darkest shades of linear files, where libpng's direct path
 * is the less precise).
 * A file that lacks only its final IEND chunk is read: every pixel is there.
 *
 * @param[in]  channels  1: gray; 3: RGB; 0: as stored (1 for gray images,
 *                       3 otherwise: palette images are colour); or'ed
 *                       with one EGCAM_PNG_ALPHA_* (default: over black).
 * @param[out] out       free with egcam_image_free(); NULL on failure
 * @return EGCAM_OK, EGCAM_E_IO (cannot open or read), EGCAM_E_FORMAT (not
 *         a PNG, corrupt, truncated, or larger than EGCAM_PNG_MAX_PIXELS;
 *         the message quotes libpng), EGCAM_E_INVALID_ARGUMENT (channels),
 *         EGCAM_E_NULL_ARGUMENT, EGCAM_E_OUT_OF_MEMORY.
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_png_read(egcam_ctx *ctx, const char *path,
                                                      uint32_t channels, egcam_image **out);

/** egcam_png_read() from size bytes in memory (0 bytes: EGCAM_E_FORMAT). */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_png_decode(egcam_ctx *ctx, const void *data,
                                                        size_t size, uint32_t channels,
                                                        egcam_image **out);

/** Write an 8-bit PNG: gray, RGB or RGBA after image->channels.
 *  The file is written to a temporary name beside path and renamed onto
 *  it: a reader never sees half a file, a failed write (a full disk)
 *  leaves the old file and no temporary, and a symbolic link at path is
 *  replaced, not followed. A path that names a folder, a device or a pipe
 *  is refused.
 *  @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT (path, image or its pixels),
 *  EGCAM_E_STRUCT_SIZE (reserved not valid), EGCAM_E_EMPTY (a size of 0),
 *  EGCAM_E_INVALID_ARGUMENT (channels not 1, 3 or 4; more than 1000000
 *  pixels a side or 4 GiB in all, libpng's limits), EGCAM_E_IO (with the
 *  system's reason), EGCAM_E_OUT_OF_MEMORY. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_png_write(egcam_ctx *ctx, const char *path,
                                                       const egcam_image *image);

/** The same PNG, made in memory (an image to send, not to store).
 *  @param[out] out  free with egcam_bytes_free(); NULL on failure
 *  @since 0.1 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_png_encode(egcam_ctx *ctx, const egcam_image *image,
                                                        egcam_bytes **out);

/* ------------------------------------------------------------------------ */
/* NumPy .npy files: little-endian float32 in C order, 1 to 4 dimensions.    */
/* ------------------------------------------------------------------------ */

/** Read a .npy file (format 1.0 to 3.0, dtype '<f4', C order). The header
 *  dict may list its keys in any order, with any spacing; it must end with
 *  '\n', as the format says. Bytes after the data are ignored, as NumPy
 *  ignores them.
 *  @param[out] out  free with egcam_tensor_free(); NULL on failure
 *  @return EGCAM_OK, EGCAM_E_IO, EGCAM_E_FORMAT (bad magic or header, other
 *  dtype, Fortran order, 0 or more than 4 dimensions, more than 2^40
 *  elements, truncated data), EGCAM_E_EMPTY (a dimension of 0: an empty
 *  array), EGCAM_E_NULL_ARGUMENT, EGCAM_E_OUT_OF_MEMORY. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_npy_read(egcam_ctx *ctx, const char *path,
                                                      egcam_tensor **out);

/** egcam_npy_read() from size bytes in memory (0 bytes: EGCAM_E_FORMAT).
 *  @since 0.1 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_npy_decode(egcam_ctx *ctx, const void *data,
                                                        size_t size, egcam_tensor **out);

/** Write a tensor as a .npy file (format 1.0, '<f4'), byte for byte as
 *  NumPy 1.24's np.save: the header padded so that the data start at a
 *  multiple of 64 bytes. Written as egcam_png_write() writes: a temporary
 *  renamed onto path.
 *  @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT, EGCAM_E_STRUCT_SIZE (reserved
 *  not valid), EGCAM_E_INVALID_ARGUMENT (ndim not 1..4, over 2^40
 *  elements), EGCAM_E_EMPTY (a dimension <= 0), EGCAM_E_IO (with the
 *  system's reason), EGCAM_E_OUT_OF_MEMORY. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_npy_write(egcam_ctx *ctx, const char *path,
                                                       const egcam_tensor *tensor);

/** The same .npy file, made in memory.
 *  @param[out] out  free with egcam_bytes_free(); NULL on failure
 *  @since 0.1 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_npy_encode(egcam_ctx *ctx, const egcam_tensor *tensor,
                                                        egcam_bytes **out);

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
    uint32_t width, height; /* output size; 0: the image's. With resize, the
                                centre crop taken from the resized image
                                (0: none, the resized image as it is) */
    uint32_t channels;      /* 1 or 3; 0: the image's (RGBA counts as 3).
                                Gray becomes RGB by repetition; RGB becomes
                                gray by ITU-R BT.601 luma. */
    uint32_t resize;        /* 0 (default): stretch to width x height. Else
                                torchvision's Resize(resize) then
                                CenterCrop((height, width)): the shorter side
                                becomes `resize` and the longer
                                floor(resize * long / short), aspect kept;
                                then the centre height x width, its top
                                row round((rh - height) / 2) with halves to
                                even as Python rounds, zeros where the crop
                                is larger than the image (as CenterCrop
                                pads). @since 0.1 */
    float    mean[3];       /* per channel, after scaling to [0, 1] */
    float    std[3];        /* per channel, > 0 */
    uint8_t  reserved[32];  /* must be 0 */
} egcam_preprocess;

/** Identity preprocessing over the first size bytes of *p. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_preprocess_init_sized(egcam_preprocess *p,
                                                                   size_t            size);
#define egcam_preprocess_init(p) egcam_preprocess_init_sized((p), sizeof *(p))

/** The torchvision ImageNet preset: 3 channels, mean (0.485, 0.456, 0.406),
 *  std (0.229, 0.224, 0.225); the size is left to the caller. torchvision's
 *  evaluation transform (Resize(256), CenterCrop(224), ToTensor,
 *  Normalize) is this with resize = 256 and width = height = 224: the same
 *  values to 1/255 of the pixel range (PIL rounds its resized pixels to
 *  8 bits; libegcam keeps them in float). */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_preprocess_init_imagenet_sized(egcam_preprocess *p,
                                                                            size_t            size);
#define egcam_preprocess_init_imagenet(p) egcam_preprocess_init_imagenet_sized((p), sizeof *(p))

/**
 * Resize (or resize and centre-crop, with p->resize) (bilinear, half-pixel centres; when shrinking, the filter widens
 * with the scale so that every source pixel counts, as PIL's and
 * torchvision's antialiased resize do), convert channels, scale to [0, 1]
 * and normalise: out = (pixel / 255 - mean) / std.
 * @param[out] out  [C, H, W]; free with egcam_tensor_free()
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_preprocess_image(egcam_ctx              *ctx,
                                                              const egcam_image      *image,
                                                              const egcam_preprocess *p,
                                                              egcam_tensor          **out);

/* ------------------------------------------------------------------------ */
/* Pictures                                                                 */
/* ------------------------------------------------------------------------ */

#define EGCAM_COLORMAP_TURBO   1u
#define EGCAM_COLORMAP_JET     2u
#define EGCAM_COLORMAP_VIRIDIS 3u
#define EGCAM_COLORMAP_INFERNO 4u

/** The colour of v in a colour map, into rgb[3]: v is clamped to [0, 1]
 *  (NaN counts as 0), then entry floor(v * 256) of the map's 256 (255 for
 *  v = 1), as matplotlib looks up its colour maps.
 *  @return EGCAM_OK, EGCAM_E_NULL_ARGUMENT, or EGCAM_E_INVALID_ARGUMENT for
 *  an unknown map. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_colormap(uint32_t colormap, float v, uint8_t rgb[3]);

/** Look a colour map up by its lower-case name ("turbo", "jet", "viridis",
 *  "inferno"); 0 when unknown or NULL. */
EGCAM_API uint32_t egcam_colormap_by_name(const char *name);

/**
 * The map (height x width values in [0, 1], e.g. EGCAM_MAP_NORMALIZED)
 * coloured and blended over image: out = round((1 - opacity) * image +
 * opacity * colour) per channel. The map is resized to the image (as
 * egcam_preprocess_image resizes) when sizes differ; a gray image is shown
 * as RGB, and an RGBA image's alpha is ignored. opacity in [0, 1].
 * @param[out] out  RGB; free with egcam_image_free()
 * @return EGCAM_OK; EGCAM_E_NON_FINITE for NaN or infinity in the map;
 *         EGCAM_E_INVALID_ARGUMENT (opacity, colour map, image too large),
 *         EGCAM_E_NULL_ARGUMENT, EGCAM_E_EMPTY, EGCAM_E_OUT_OF_MEMORY.
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_render_overlay(egcam_ctx         *ctx,
                                                            const egcam_image *image,
                                                            const float *map, uint32_t height,
                                                            uint32_t width, uint32_t colormap,
                                                            float opacity, egcam_image **out);

/** One tile of a panel: a picture and the caption written under it. Passed
 *  as an array, so its layout is frozen for the life of the SONAME; the
 *  reserved pointer (must be NULL) leaves room for one later field. */
typedef struct egcam_panel_tile {
    const egcam_image *image;    /* borrowed */
    const char        *caption;  /* ASCII; may be NULL */
    const void        *reserved; /* must be NULL */
} egcam_panel_tile;

/**
 * Tiles side by side on white, with each caption centred below in black
 * in a built-in bitmap font (X11 misc-fixed 6x10), and an optional title
 * above. Tiles keep their aspect and are scaled to one height: the first
 * tile's height times the smallest whole number that makes it at least
 * 128 pixels, so small images stay legible; the text scales with it.
 * @param[out] out  RGB; free with egcam_image_free()
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_render_panel(egcam_ctx              *ctx,
                                                          const egcam_panel_tile *tiles,
                                                          uint32_t count, const char *title,
                                                          egcam_image **out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EGCAM_IMAGE_H */
