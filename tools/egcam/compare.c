/* compare.c - `egcam compare`: each input explained with the estimators,
 * drawn side by side in one PNG panel; with several combiners, a grid of
 * estimators down and combiners across, each row from one explanation
 * (docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Rows stacked top to bottom on white, each centred (panels of one input
 * share their height and tile count, so widths differ by captions only). */
static egcam_image *stack(egcam_ctx *ctx, egcam_image *const *rows, int count)
{
    uint32_t width = 0, height = 0;
    for (int r = 0; r < count; r++) {
        width = rows[r]->width > width ? rows[r]->width : width;
        height += rows[r]->height;
    }
    egcam_image *out = NULL;
    if (egcam_image_new(ctx, width, height, 3, &out) != EGCAM_OK)
        return NULL;
    memset(out->pixels, 255, (size_t)width * height * 3);
    uint32_t y = 0;
    for (int r = 0; r < count; r++) {
        const egcam_image *row = rows[r];
        uint32_t x = (width - row->width) / 2;
        for (uint32_t j = 0; j < row->height; j++)
            memcpy(out->pixels + ((size_t)(y + j) * width + x) * 3,
                   row->pixels + (size_t)j * row->width * 3, (size_t)row->width * 3);
        y += row->height;
    }
    return out;
}

/* A tile's caption: the estimator where the picture is one row (then the
 * combiner too, unless it is Grad-CAM's), the combiner in a grid. */
static void caption(char *buf, size_t size, const cli_options *o, uint32_t method,
                    uint32_t combiner)
{
    if (o->combiner_count > 1)
        snprintf(buf, size, "%s", egcam_combiner_name(combiner));
    else if (combiner == EGCAM_COMBINER_GRADCAM)
        snprintf(buf, size, "%s", cli_method_title(method));
    else
        snprintf(buf, size, "%s, %s", cli_method_title(method), egcam_combiner_name(combiner));
}

enum { MAX_TILES = 1 + 7 };

/* One estimator's row: the input, then its overlay for each combiner,
 * combined from the one explanation. */
static int compare_row(cli_session *r, const cli_input *in, egcam_image *picture, uint32_t method,
                       egcam_image **overlays, char (*captions)[64], char *title, size_t size)
{
    const cli_options *o = r->o;
    double ms;
    egcam_result *base = cli_session_explain(r, in->tensor, in->path, method, o->combiners[0], &ms);
    if (!base)
        return 1;
    int rc = 0;
    for (int c = 0; c < o->combiner_count && !rc; c++) {
        egcam_result *res = base;
        double t0 = cli_now_ms();
        if (c > 0 && egcam_result_combine(r->ctx, base, o->combiners[c], &res) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s: %s: %s\n", in->path, cli_method_title(method),
                    egcam_ctx_last_error(r->ctx));
            rc = 1;
            break;
        }
        uint32_t h, w;
        const float *map = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w);
        if (egcam_render_overlay(r->ctx, picture, map, h, w, o->colormap, o->opacity,
                                 &overlays[c]) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s: %s\n", in->path, egcam_ctx_last_error(r->ctx));
            rc = 1;
        } else {
            caption(captions[c], sizeof captions[c], o, method, o->combiners[c]);
            int32_t cls = egcam_result_class(res);
            snprintf(title, size, "class %d%s%s  logit %.3f", cls, cli_label(r, cls) ? " " : "",
                     cli_label(r, cls) ? cli_label(r, cls) : "", egcam_result_logit(res));
            cli_report(r, in, method, res, c ? cli_now_ms() - t0 : ms);
        }
        if (res != base)
            egcam_result_free(res);
    }
    egcam_result_free(base);
    return rc;
}

static int compare_input(cli_session *r, const cli_input *in)
{
    const cli_options *o = r->o;
    egcam_image scratch;
    uint8_t *pixels = NULL;
    egcam_image *picture = input_picture(in, &scratch, &pixels);
    egcam_image *overlays[3][7] = {{NULL}}, *rows[3] = {NULL};
    char captions[3][7][64], title[256] = "";
    int grid = o->combiner_count > 1, rc = picture ? 0 : 1;
    for (int m = 0; m < o->method_count && !rc; m++)
        rc = compare_row(r, in, picture, o->methods[m], overlays[m], captions[m], title,
                         sizeof title);
    /* One row (the input, then each estimator), or a grid: a row per
     * estimator, a column per combiner. */
    int row_count = grid ? o->method_count : 1;
    for (int row = 0; row < row_count && !rc; row++) {
        egcam_panel_tile tiles[MAX_TILES] = {{picture, in->name, NULL}};
        int n = 1;
        for (int m = grid ? row : 0; m < (grid ? row + 1 : o->method_count); m++)
            for (int c = 0; c < o->combiner_count; c++)
                tiles[n++] = (egcam_panel_tile){overlays[m][c], captions[m][c], NULL};
        char heading[320];
        if (grid)
            snprintf(heading, sizeof heading, "%s%s%s", cli_method_title(o->methods[row]),
                     row == 0 ? "    " : "", row == 0 ? title : "");
        if (egcam_render_panel(r->ctx, tiles, (uint32_t)n, grid ? heading : title, &rows[row]) !=
            EGCAM_OK) {
            fprintf(stderr, "egcam: %s: %s\n", in->path, egcam_ctx_last_error(r->ctx));
            rc = 1;
        }
    }
    egcam_image *panel = NULL;
    if (!rc && !(panel = row_count == 1 ? rows[0] : stack(r->ctx, rows, row_count))) {
        fprintf(stderr, "egcam: %s: %s\n", in->path, egcam_ctx_last_error(r->ctx));
        rc = 1;
    }
    if (!rc) {
        cli_outputs out = {r, in->name, {NULL}, 0};
        rc = cli_output(&out, ".panel.png", NULL, panel);
        cli_outputs_end(&out, rc);
    }
    if (panel != rows[0])
        egcam_image_free(panel);
    for (int m = 0; m < 3; m++) {
        egcam_image_free(rows[m]);
        for (int c = 0; c < 7; c++)
            egcam_image_free(overlays[m][c]);
    }
    free(pixels);
    return rc;
}

int cli_compare_main(cli_options *o)
{
    return cli_session_each_input(o, o->methods, o->method_count, compare_input);
}
