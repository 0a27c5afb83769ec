/*
 * egcam_torch.h - the LibTorch backend: explain any TorchScript image
 * classifier by naming a layer (libegcam-torch, pkg-config egcam-torch).
 *
 *     egcam_backend *backend;
 *     if (egcam_torch_open(ctx, "resnet18.pt", "layer4", NULL, &backend) != EGCAM_OK)
 *         fprintf(stderr, "%s\n", egcam_ctx_last_error(ctx));
 *
 * The model file is any TorchScript module, scripted or traced, whose
 * forward takes one image batch [N, C, H, W] and returns one logits tensor
 * [N, classes]. Further arguments of forward take their defaults (as
 * LibTorch fills them); one without a default is refused at open, named.
 * A forward returning a tuple or a dict is explained through the element
 * egcam_torch_options.output names. An output of more dimensions
 * ([N, classes, H, W], a segmentation model's) is flattened to [N, L]:
 * explain a class over a region by a seed over it (egcam_config.
 * target_weights: 1 at the class's plane over the region's pixels, as
 * pytorch-grad-cam's SemanticSegmentationTarget sums them). The layer is named by its dotted module path as PyTorch
 * writes it ("layer4", "layer4.1.conv2", "features.29"; a ViT's last block's
 * norm is "blocks.11.norm1" in timm, "encoder.layers.encoder_layer_11.ln_1"
 * in torchvision, and either name on the other's model is answered with
 * this one).
 * The model is neither re-exported nor modified: libegcam rewrites a copy
 * of its forward graph to return the layer's output next to the logits.
 *
 * The layer's activations are its own output, even when a later operation
 * modifies that tensor in place (a conv followed by ReLU(inplace=True)),
 * and gradients are taken with respect to that same tensor. Gradients flow
 * from the logits down to the layer only: never below it, never into the
 * parameters. Forwards that need no gradient run in inference mode.
 *
 * A model file is code: TorchScript runs what it holds. Open only models
 * you trust. Before LibTorch reads a file, the backend verifies it as an
 * archive (every record's CRC-32 and size, the directory against the
 * records, the inflated size against max_model_bytes), so a damaged or
 * truncated file is refused instead of crashing LibTorch's loader; it does
 * not check that the code in a whole archive is well formed. See
 * docs/torch.md, "What is checked and what must be trusted".
 *
 * Plain C; nothing from LibTorch appears here or in the exported symbols.
 * Every entry point catches every C++ exception and returns a status.
 */
#ifndef EGCAM_TORCH_H
#define EGCAM_TORCH_H

#include "egcam.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the layer's output becomes K x h x w activations
 * (egcam_torch_options.layout). A 4-D output is checked against the input:
 * when its grid does not fit the input in the order chosen and fits in the
 * other (a channels-last [1, 7, 7, 768] read as 7 channels on a 7 x 768
 * grid), explaining fails with EGCAM_E_UNSUPPORTED naming the other
 * layout, unless EGCAM_TORCH_FLAG_KEEP_LAYOUT is set.
 * egcam_torch_layers_layout() tells which layout each module needs. */
#define EGCAM_TORCH_LAYOUT_CHANNELS      1u /* [N, K, h, w] as they are (default) */
#define EGCAM_TORCH_LAYOUT_TOKENS        2u /* [N, T, D] tokens of a vision transformer (below) */
#define EGCAM_TORCH_LAYOUT_CHANNELS_LAST 3u /* [N, h, w, K]: Swin's and ConvNeXt's blocks */
/* Tokens: the first prefix_tokens (the class token...) are dropped and the
 * rest laid on a grid_height x grid_width grid of D channels. Channels-last
 * also fits any block whose output was permuted. */

/* Flags (egcam_torch_options.flags). */
/** Take the layout as given: skip the check that refuses a 4-D output
 *  whose grid fits the input only in the other channel order. */
#define EGCAM_TORCH_FLAG_KEEP_LAYOUT (1u << 0)
/** Run the network below the layer exactly as the model is written. By
 *  default it runs frozen, as torch.jit.freeze and optimize_for_inference
 *  leave it (batch norm folded into the convolutions before it, weights
 *  prepacked): no pass needs a gradient below the layer, and the passes
 *  cost 0.7 to 0.9 of the exact ones on CPU. Folding changes float
 *  rounding: activations differ from the exact path's by 1e-4 of their
 *  largest magnitude at most on the models tested, and a ReLU above the
 *  layer at its threshold may switch, and an element of the gradient
 *  with it (docs/torch.md). A model LibTorch
 *  cannot freeze runs exactly, flag or not; egcam_backend_name() is
 *  "libtorch" on the frozen path and "libtorch-exact" on the exact one. */
#define EGCAM_TORCH_FLAG_EXACT (1u << 1)

/**
 * Options of egcam_torch_open(). Initialise with egcam_torch_options_init();
 * the same ABI rules as egcam_config apply (struct_size, zero reserved tail).
 */
typedef struct egcam_torch_options {
    size_t      struct_size;                         /* set by egcam_torch_options_init() */
    const char *device;                              /* NULL or "cpu" (default), "cuda", "cuda:N";
                                   borrowed for the call. CUDA needs a LibTorch
                                   built with it (else EGCAM_E_UNSUPPORTED). */
    uint32_t    layout;                              /* EGCAM_TORCH_LAYOUT_*; default CHANNELS */
    uint32_t    prefix_tokens;                       /* TOKENS: leading tokens off the grid;
                                   default 1 (one class token) */
    uint32_t    grid_height;                         /* TOKENS: 0 (default): a square grid */
    uint32_t    grid_width;                          /* TOKENS: 0 (default): a square grid */
    uint64_t    max_model_bytes;                     /* the most bytes the model file's records
                                   may hold once inflated, in all: a larger
                                   file is refused (EGCAM_E_FORMAT) before
                                   anything is inflated. 0 (default): twice
                                   the file's size plus 64 MiB, at most
                                   16 GiB. Debug records are not counted:
                                   they are never read. */
    uint32_t    flags;                               /* EGCAM_TORCH_FLAG_*; default 0 */
    uint32_t    reserved0;                           /* must be 0 */
    const char *output;                              /* for a forward that returns a tuple or a
                                   dict: the element holding the logits, its
                                   index ("0") or key ("out", as torchvision's
                                   segmentation models return); NULL (default)
                                   for a forward that returns a tensor.
                                   Borrowed for the call. @since 0.1 */
    uint8_t     reserved[24 - sizeof(const char *)]; /* must be 0; 28 bytes
                                   after flags on every data model */
} egcam_torch_options;

/** Fill the first size bytes of *opts with the defaults. */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_torch_options_init_sized(egcam_torch_options *opts,
                                                                      size_t               size);

#define egcam_torch_options_init(opts) egcam_torch_options_init_sized((opts), sizeof *(opts))

/**
 * Open a TorchScript model cut at a layer, as a backend.
 *
 * @param[in]  ctx         receives the message on failure; required
 * @param[in]  model_path  a TorchScript file (torch.jit.save)
 * @param[in]  layer       dotted module path of the target layer
 * @param[in]  opts        NULL for the defaults
 * @param[out] out         the backend; free with egcam_backend_free()
 * @return EGCAM_OK; EGCAM_E_IO (cannot read the file), EGCAM_E_FORMAT (not
 *         TorchScript; a damaged archive: a CRC or size that does not match;
 *         more inflated bytes than max_model_bytes), EGCAM_E_INVALID_ARGUMENT
 *         (no such layer: the message
 *         lists the closest paths; an output that names no element of the
 *         result), EGCAM_E_UNSUPPORTED (forward needs an argument besides
 *         the image that has no default; returns a tuple or dict and no
 *         output is chosen; the layer runs inside a branch or loop; no
 *         CUDA), EGCAM_E_NULL_ARGUMENT, EGCAM_E_STRUCT_SIZE,
 *         EGCAM_E_OUT_OF_MEMORY, EGCAM_E_BACKEND (LibTorch failed).
 *
 * Explaining then fails with EGCAM_E_UNSUPPORTED for logits that are not
 * floating point (integers, booleans, complex numbers), logits that carry
 * no gradient back to the layer (a detached output), and a 4-D layer
 * output in the wrong channel order (see the layouts above); with
 * EGCAM_E_OUT_OF_MEMORY when LibTorch cannot allocate.
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_torch_open(egcam_ctx *ctx, const char *model_path,
                                                        const char                *layer,
                                                        const egcam_torch_options *opts,
                                                        egcam_backend            **out);

/** Every module of a model with the shape of its output for one input. */
typedef struct egcam_torch_layers egcam_torch_layers;

/**
 * List every module path of a model (in definition order, as PyTorch's
 * named_modules() gives them) with the shape of its output for one input of
 * channels x height x width zeros: the paths egcam_torch_open() accepts.
 * Modules that never run on the forward's main path, or whose output is
 * not one tensor, are listed with ndim 0.
 * @param[out] out  free with egcam_torch_layers_free()
 */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_torch_list_layers(egcam_ctx *ctx, const char *model_path, uint32_t channels, uint32_t height,
                        uint32_t width, const egcam_torch_options *opts, egcam_torch_layers **out);

/** Number of modules listed (0 for NULL). */
EGCAM_API size_t egcam_torch_layers_count(const egcam_torch_layers *layers);

/** Module i's dotted path, owned by layers; NULL when i is out of range. */
EGCAM_API const char *egcam_torch_layers_path(const egcam_torch_layers *layers, size_t i);

/** Module i's output shape into shape[0..3] (batch first); returns its
 *  number of dimensions, 0 when not a tensor of at most 4 dimensions. */
EGCAM_API uint32_t egcam_torch_layers_shape(const egcam_torch_layers *layers, size_t i,
                                            int64_t shape[4]);

/** The EGCAM_TORCH_LAYOUT_* module i's output needs for the listed input
 *  shape: CHANNELS or CHANNELS_LAST for 4-D outputs (the order whose grid
 *  fits the input), TOKENS for [N, T, D] when 1, 0 or 2 leading tokens
 *  leave a square grid (that count in *prefix_tokens, which may be NULL);
 *  0 when none applies or i is out of range. @since 0.1 */
EGCAM_API uint32_t egcam_torch_layers_layout(const egcam_torch_layers *layers, size_t i,
                                             uint32_t *prefix_tokens);

/** NULL is a no-op. */
EGCAM_API void egcam_torch_layers_free(egcam_torch_layers *layers);

/**
 * The number of threads LibTorch uses inside one operation. Process-wide
 * (LibTorch keeps one setting for the whole process): call it once, before
 * explaining, not per context. 0 leaves LibTorch's default.
 */
EGCAM_API EGCAM_NODISCARD egcam_status egcam_torch_set_threads(egcam_ctx *ctx, uint32_t threads);

/** 1 when the LibTorch in use can run on a CUDA device, else 0. */
EGCAM_API int egcam_torch_cuda_available(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EGCAM_TORCH_H */
