/* compare.c - `egcam compare`: each input explained with the three methods,
 * drawn side by side in one PNG panel (docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

#include "commands.h"
#include "outputs.h"
#include "report.h"
#include "session.h"

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

static const uint32_t methods[3] = {EGCAM_METHOD_GRADCAM, EGCAM_METHOD_INTEGRATED,
                                    EGCAM_METHOD_EXPECTED};

static int compare_input(cli_session *r, const cli_input *in)
{
    egcam_image scratch, *overlays[3] = {NULL, NULL, NULL};
    uint8_t *pixels = NULL;
    egcam_image *picture = input_picture(in, &scratch, &pixels);
    char title[256] = "";
    int rc = picture ? 0 : 1;
    for (int m = 0; m < 3 && rc == 0; m++) {
        double ms;
        egcam_result *res = cli_session_explain(r, in->tensor, in->path, methods[m], &ms);
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
            cli_report(r, in, methods[m], res, ms);
        }
        egcam_result_free(res);
    }
    if (rc == 0) {
        egcam_panel_tile tiles[4] = {{picture, in->name, NULL},
                                     {overlays[0], cli_method_title(methods[0]), NULL},
                                     {overlays[1], cli_method_title(methods[1]), NULL},
                                     {overlays[2], cli_method_title(methods[2]), NULL}};
        egcam_image *panel = NULL;
        cli_outputs o = {r, in->name, {NULL}, 0};
        if (egcam_render_panel(r->ctx, tiles, 4, title, &panel) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s: %s\n", in->path, egcam_ctx_last_error(r->ctx));
            rc = 1;
        } else {
            rc = cli_output(&o, ".panel.png", NULL, panel);
        }
        cli_outputs_end(&o, rc);
        egcam_image_free(panel);
    }
    for (int m = 0; m < 3; m++)
        egcam_image_free(overlays[m]);
    free(pixels);
    return rc;
}

int cli_compare_main(cli_options *o)
{
    return cli_session_each_input(o, methods, 3, compare_input);
}
