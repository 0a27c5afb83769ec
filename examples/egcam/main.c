/*
 * egcam - explain image classifiers from the command line.
 *
 *   egcam explain --model FILE --layer PATH [options] INPUT...
 *   egcam compare --model FILE --layer PATH [options] INPUT...
 *   egcam layers  --model FILE --input-shape C,H,W
 *   egcam eval    --model FILE --layer PATH --data PATH [options]
 *
 * Exit status: 0 success, 1 runtime error (the others inputs still run),
 * 2 bad usage. Errors are one line on stderr naming the file or flag;
 * standard output carries the program's own output only (process.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>
#include <egcam/egcam_torch.h>

#include "inputs.h"
#include "json.h"
#include "options.h"
#include "process.h"
#include "progress.h"
#include "session.h"

typedef cli_session run;

int cli_eval(cli_options *o); /* eval.c */

/* A result whose gradient at the layer was zero everywhere: the map is
 * empty, which is arithmetic, not an explanation. Said on stderr. */
static void warn_zero_gradient(run *r, const cli_input *in, uint32_t method,
                               const egcam_result *res)
{
    if (!(egcam_result_flags(res) & EGCAM_RESULT_ZERO_GRADIENT))
        return;
    cli_progress_done(&r->progress);
    fprintf(stderr,
            "egcam: %s: %s: warning: the gradient of the target at layer '%s' is zero "
            "everywhere, so the map is empty: the explained output does not depend on this "
            "layer's output as laid out (in a vision transformer's last block only the class "
            "token reaches the head, and the tokens layout leaves it out); choose an earlier "
            "layer, such as that block's norm1\n",
            in->path, cli_method_title(method), r->o->layer);
}

static void print_json(run *r, const cli_input *in, uint32_t method,
                       const egcam_result *res, double ms)
{
    FILE *out = cli_out();
    const egcam_config *cfg = &r->o->cfg;
    int32_t cls = egcam_result_class(res);
    uint32_t samples = method == EGCAM_METHOD_GRADCAM      ? 1
                       : method == EGCAM_METHOD_INTEGRATED ? cfg->steps
                                                           : cfg->samples;
    fprintf(out, "{\"input\": ");
    cli_json_string(out, in->path);
    fprintf(out, ", \"name\": ");
    cli_json_string(out, in->name);
    fprintf(out, ", \"method\": \"%s\", \"class\": %d, \"label\": ", cli_method_name(method),
            cls);
    if (cli_label(r, cls))
        cli_json_string(out, cli_label(r, cls));
    else
        fprintf(out, "null");
    fprintf(out,
            ", \"logit\": %.9g, \"completeness\": %.9g, \"samples\": %u, \"milliseconds\": %.3f, "
            "\"zero_gradient\": %s}\n",
            egcam_result_logit(res), egcam_result_completeness(res), samples, ms,
            egcam_result_flags(res) & EGCAM_RESULT_ZERO_GRADIENT ? "true" : "false");
    fflush(out);
    warn_zero_gradient(r, in, method, res);
}

static char *out_path(const run *r, const char *name, const char *suffix)
{
    size_t n = strlen(r->o->out_dir) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", r->o->out_dir, name, suffix);
    return p;
}

/* The files one input has written so far: if a later one fails, the
 * earlier ones are removed again, so that an input gets all its outputs or
 * none. (Each file is written whole or not at all by the library.) */
typedef struct outputs {
    const run *r;
    const char *name;
    char *paths[4];
    int count;
} outputs;

/* Write NAME + suffix: the tensor as .npy, or the image as PNG. */
static int output(outputs *o, const char *suffix, const egcam_tensor *tensor,
                  const egcam_image *image)
{
    char *path = out_path(o->r, o->name, suffix);
    egcam_status st = !path   ? EGCAM_E_OUT_OF_MEMORY
                      : tensor ? egcam_npy_write(o->r->ctx, path, tensor)
                               : egcam_png_write(o->r->ctx, path, image);
    if (st != EGCAM_OK) {
        fprintf(stderr, "egcam: %s\n", path ? egcam_ctx_last_error(o->r->ctx) : "out of memory");
        free(path);
        return 1;
    }
    o->paths[o->count++] = path;
    return 0;
}

static void outputs_end(outputs *o, int failed)
{
    for (int i = 0; i < o->count; i++) {
        if (failed)
            remove(o->paths[i]);
        free(o->paths[i]);
    }
    o->count = 0;
}

/* The picture of an input: the PNG as read, or for a .npy input its
 * channel mean scaled to [0, 255]. */
static egcam_image *input_picture(const cli_input *in, egcam_image *scratch, uint8_t **pixels)
{
    if (in->image)
        return in->image;
    const egcam_tensor *t = in->tensor;
    size_t c = (size_t)t->shape[0], hw = (size_t)(t->shape[1] * t->shape[2]);
    float *mean = calloc(hw, sizeof *mean);
    *pixels = malloc(hw);
    if (!mean || !*pixels) {
        free(mean);
        return NULL;
    }
    float lo = 0, hi = 0;
    for (size_t p = 0; p < hw; p++) {
        for (size_t k = 0; k < c; k++)
            mean[p] += t->data[k * hw + p] / (float)c;
        lo = p == 0 || mean[p] < lo ? mean[p] : lo;
        hi = p == 0 || mean[p] > hi ? mean[p] : hi;
    }
    for (size_t p = 0; p < hw; p++) { /* NaN and infinities (refused later) as 0 */
        float v = hi > lo ? 255.0f * (mean[p] - lo) / (hi - lo) + 0.5f : 0.0f;
        (*pixels)[p] = (uint8_t)(v >= 0.0f && v <= 255.0f ? v : 0.0f);
    }
    free(mean);
    *scratch = (egcam_image){*pixels, (uint32_t)t->shape[2], (uint32_t)t->shape[1], 1, 0};
    return scratch;
}

static int explain_input(run *r, const cli_input *in)
{
    double ms;
    egcam_result *res = cli_explain(r, in->tensor, in->path, r->o->cfg.method, &ms);
    if (!res)
        return 1;
    uint32_t h, w, lh, lw;
    const float *map = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w);
    const float *layer = egcam_result_map(res, EGCAM_MAP_LAYER, &lh, &lw);
    egcam_tensor map_t = {map, {h, w}, 2, 0}, layer_t = {layer, {lh, lw}, 2, 0};
    outputs o = {r, in->name, {NULL}, 0};
    int rc = output(&o, ".map.npy", &map_t, NULL) || output(&o, ".layer.npy", &layer_t, NULL);
    if (!rc && in->image) {
        egcam_image *overlay = NULL;
        if (egcam_render_overlay(r->ctx, in->image, map, h, w, r->o->colormap, r->o->opacity,
                                 &overlay) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s: %s\n", in->path, egcam_ctx_last_error(r->ctx));
            rc = 1;
        } else {
            rc = output(&o, ".overlay.png", NULL, overlay);
        }
        egcam_image_free(overlay);
    }
    outputs_end(&o, rc);
    if (!rc)
        print_json(r, in, r->o->cfg.method, res, ms);
    egcam_result_free(res);
    return rc;
}

static int compare_input(run *r, const cli_input *in)
{
    static const uint32_t methods[3] = {EGCAM_METHOD_GRADCAM, EGCAM_METHOD_INTEGRATED,
                                        EGCAM_METHOD_EXPECTED};
    egcam_image scratch, *overlays[3] = {NULL, NULL, NULL};
    uint8_t *pixels = NULL;
    egcam_image *picture = input_picture(in, &scratch, &pixels);
    char title[256] = "";
    int rc = picture ? 0 : 1;
    for (int m = 0; m < 3 && rc == 0; m++) {
        double ms;
        egcam_result *res = cli_explain(r, in->tensor, in->path, methods[m], &ms);
        if (!res) {
            rc = 1;
            break;
        }
        uint32_t h, w;
        const float *map = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w);
        if (egcam_render_overlay(r->ctx, picture, map, h, w, r->o->colormap, r->o->opacity,
                                 &overlays[m]) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s: %s\n", in->path, egcam_ctx_last_error(r->ctx));
            rc = 1;
        } else {
            int32_t cls = egcam_result_class(res);
            snprintf(title, sizeof title, "class %d%s%s  logit %.3f", cls,
                     cli_label(r, cls) ? " " : "", cli_label(r, cls) ? cli_label(r, cls) : "",
                     egcam_result_logit(res));
            print_json(r, in, methods[m], res, ms);
        }
        egcam_result_free(res);
    }
    if (rc == 0) {
        egcam_panel_tile tiles[4] = {{picture, in->name, NULL},
                                     {overlays[0], cli_method_title(methods[0]), NULL},
                                     {overlays[1], cli_method_title(methods[1]), NULL},
                                     {overlays[2], cli_method_title(methods[2]), NULL}};
        egcam_image *panel = NULL;
        outputs o = {r, in->name, {NULL}, 0};
        if (egcam_render_panel(r->ctx, tiles, 4, title, &panel) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s: %s\n", in->path, egcam_ctx_last_error(r->ctx));
            rc = 1;
        } else {
            rc = output(&o, ".panel.png", NULL, panel);
        }
        outputs_end(&o, rc);
        egcam_image_free(panel);
    }
    for (int m = 0; m < 3; m++)
        egcam_image_free(overlays[m]);
    free(pixels);
    return rc;
}

static int run_inputs(cli_options *o, enum cli_command cmd)
{
    run r;
    char **paths = NULL, **names = NULL;
    int n = -1;
    int bad = 0;
    if (cli_session_open(&r, o) == 0)
        n = cli_list_inputs(o->inputs, o->input_count, &paths, &bad);
    if (n > 0 && !(names = cli_output_names(paths, n))) {
        cli_free_list(paths, n);
        n = -1;
    }
    int failed = n < 0 || bad;
    uint64_t per_item = cmd == CLI_COMPARE ? 1 + o->cfg.steps + o->cfg.samples
                        : o->cfg.method == EGCAM_METHOD_INTEGRATED ? o->cfg.steps
                                                                   : o->cfg.samples;
    if (n > 0)
        cli_progress_start(&r.progress, r.ctx, n, per_item);
    for (int i = 0; i < n; i++) { /* a failed input is reported; the others still run */
        cli_input in;
        cli_progress_item(&r.progress, i, paths[i]);
        if (cli_load_input(r.ctx, paths[i], names[i], &o->pre, &in) != 0 ||
            (cmd == CLI_COMPARE ? compare_input(&r, &in) : explain_input(&r, &in)) != 0)
            failed = 1;
        cli_input_free(&in);
    }
    cli_progress_done(&r.progress);
    if (n > 0) {
        cli_free_list(paths, n);
        cli_free_list(names, n);
    }
    cli_session_close(&r);
    return failed;
}

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

static void usage(FILE *to)
{
    fputs("usage: egcam explain|compare|layers|eval [options]   (egcam COMMAND --help for more)\n"
          "\n"
          "  explain  explain inputs with one method: maps as .npy, overlays as PNG\n"
          "  compare  Grad-CAM, Integrated and Expected Grad-CAM side by side, as PNG panels\n"
          "  layers   list a model's layers, their output shapes and the layout each needs\n"
          "  eval     score the three methods' faithfulness and localisation on a data set\n",
          to);
}

static int run_command(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(cli_out());
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        fprintf(cli_out(), "egcam %s\n", egcam_version_string());
        return 0;
    }
    enum cli_command cmd;
    if (strcmp(argv[1], "explain") == 0)
        cmd = CLI_EXPLAIN;
    else if (strcmp(argv[1], "compare") == 0)
        cmd = CLI_COMPARE;
    else if (strcmp(argv[1], "layers") == 0)
        cmd = CLI_LAYERS;
    else if (strcmp(argv[1], "eval") == 0)
        cmd = CLI_EVAL;
    else {
        fprintf(stderr, "egcam: unknown command '%s' (explain, compare, layers or eval)\n",
                argv[1]);
        return 2;
    }
    cli_options o;
    int rc = cli_parse(cmd, argc - 1, argv + 1, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (cli_check_headroom("to start") != 0)
        return 1;
    cli_reserve_blas();
    if (cmd == CLI_EVAL)
        return cli_eval(&o);
    if (cmd != CLI_LAYERS)
        return run_inputs(&o, cmd);
    egcam_ctx *ctx;
    if (egcam_ctx_new(&ctx) != EGCAM_OK) {
        fprintf(stderr, "egcam: out of memory\n");
        return 1;
    }
    rc = list_layers(&o, ctx);
    egcam_ctx_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    if (cli_process_start() != 0)
        cli_exit(1);
    cli_exit(run_command(argc, argv));
}
