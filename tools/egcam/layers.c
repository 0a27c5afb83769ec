/* layers.c - `egcam layers`: every module of a model with its output shape
 * for one input and the layout that output needs (docs/cli.md). */
#include <stdio.h>

#include <egcam/egcam.h>
#include <egcam/egcam_torch.h>

#include "commands.h"
#include "process.h"

static const char *layout_name(uint32_t layout)
{
    return layout == EGCAM_TORCH_LAYOUT_CHANNELS        ? "channels"
           : layout == EGCAM_TORCH_LAYOUT_CHANNELS_LAST ? "channels_last"
           : layout == EGCAM_TORCH_LAYOUT_TOKENS        ? "tokens"
                                                        : "-";
}

static int list_layers(cli_options *o, egcam_ctx *ctx)
{
    egcam_torch_layers *layers;
    if (egcam_torch_list_layers(ctx, o->model, o->input_shape[0], o->input_shape[1],
                                o->input_shape[2], &o->torch, &layers) != EGCAM_OK) {
        fprintf(stderr, "egcam: %s: %s\n", o->model, egcam_ctx_last_error(ctx));
        return 1;
    }
    FILE *out = cli_out();
    for (size_t i = 0; i < egcam_torch_layers_count(layers); i++) {
        int64_t shape[4];
        uint32_t ndim = egcam_torch_layers_shape(layers, i, shape), prefix;
        uint32_t layout = egcam_torch_layers_layout(layers, i, &prefix);
        char dims[96] = "-";
        for (uint32_t d = 0, n = 0; d < ndim; d++)
            n += (uint32_t)snprintf(dims + n, sizeof dims - n, "%s%lld", d ? " x " : "",
                                    (long long)shape[d]);
        fprintf(out, "%-40s %-24s %s", egcam_torch_layers_path(layers, i), dims,
                layout_name(layout));
        if (layout == EGCAM_TORCH_LAYOUT_TOKENS && prefix != 1)
            fprintf(out, " --prefix-tokens %u", prefix);
        fputc('\n', out);
    }
    egcam_torch_layers_free(layers);
    return 0;
}

int cli_layers_main(cli_options *o)
{
    egcam_ctx *ctx;
    if (egcam_ctx_new(&ctx) != EGCAM_OK) {
        fprintf(stderr, "egcam: out of memory\n");
        return 1;
    }
    int rc = list_layers(o, ctx);
    egcam_ctx_free(ctx);
    return rc;
}
