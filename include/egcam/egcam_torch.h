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
 * [N, classes]. The layer is named by its dotted module path as PyTorch
 * writes it ("layer4", "layer4.1.conv2", "features.29", "blocks.11.norm1").
 * The model is neither re-exported nor modified: libegcam rewrites a copy
 * of its forward graph to return the layer's output next to the logits.
 *
 * The layer's activations are its own output, even when a later operation
 * modifies that tensor in place (a conv followed by ReLU(inplace=True)),
 * and gradients are taken with respect to that same tensor. Gradients flow
 * from the logits down to the layer only: never below it, never into the
 * parameters. Forwards that need no gradient run in inference mode.
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
 * (egcam_torch_options.layout). */
#define EGCAM_TORCH_LAYOUT_CHANNELS  1u  /* [N, K, h, w] as they are (default) */
#define EGCAM_TORCH_LAYOUT_TOKENS    2u  /* [N, T, D] tokens of a vision
                                            transformer: the first prefix_tokens
                                            (class token...) are dropped, the
                                            rest laid on a grid_height x
                                            grid_width grid of D channels */

/**
 * Options of egcam_torch_open(). Initialise with egcam_torch_options_init();
 * the same ABI rules as egcam_config apply (struct_size, zero reserved tail).
 */
typedef struct egcam_torch_options {
    size_t      struct_size;    /* set by egcam_torch_options_init() */
    const char *device;         /* NULL or "cpu" (default), "cuda", "cuda:N";
                                   borrowed for the call. CUDA needs a LibTorch
                                   built with it (else EGCAM_E_UNSUPPORTED). */
    uint32_t    layout;         /* EGCAM_TORCH_LAYOUT_*; default CHANNELS */
    uint32_t    prefix_tokens;  /* TOKENS: leading tokens off the grid;
                                   default 1 (one class token) */
    uint32_t    grid_height;    /* TOKENS: 0 (default): a square grid */
    uint32_t    grid_width;     /* TOKENS: 0 (default): a square grid */
    uint8_t     reserved[40];   /* must be 0 */
} egcam_torch_options;

/** Fill the first size bytes of *opts with the defaults. */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_torch_options_init_sized(egcam_torch_options *opts, size_t size);

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
 *         TorchScript), EGCAM_E_INVALID_ARGUMENT (no such layer: the message
 *         lists the closest paths), EGCAM_E_UNSUPPORTED (forward does not
 *         return one tensor; the layer runs inside a branch or loop; no
 *         CUDA), EGCAM_E_NULL_ARGUMENT, EGCAM_E_STRUCT_SIZE,
 *         EGCAM_E_OUT_OF_MEMORY, EGCAM_E_BACKEND (LibTorch failed).
 */
EGCAM_API EGCAM_NODISCARD egcam_status
egcam_torch_open(egcam_ctx *ctx, const char *model_path, const char *layer,
                 const egcam_torch_options *opts, egcam_backend **out);

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
egcam_torch_list_layers(egcam_ctx *ctx, const char *model_path, uint32_t channels,
                        uint32_t height, uint32_t width, const egcam_torch_options *opts,
                        egcam_torch_layers **out);

/** Number of modules listed (0 for NULL). */
EGCAM_API size_t egcam_torch_layers_count(const egcam_torch_layers *layers);

/** Module i's dotted path, owned by layers; NULL when i is out of range. */
EGCAM_API const char *egcam_torch_layers_path(const egcam_torch_layers *layers, size_t i);

/** Module i's output shape into shape[0..3] (batch first); returns its
 *  number of dimensions, 0 when not a tensor of at most 4 dimensions. */
EGCAM_API uint32_t egcam_torch_layers_shape(const egcam_torch_layers *layers, size_t i,
                                            int64_t shape[4]);

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
