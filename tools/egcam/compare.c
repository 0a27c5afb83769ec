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

enum { MAX_TILES = 1 + 7, MAX_ROWS = 3 * CLI_MAX_TARGETS };

/* What one input's panel is made of: per estimator m, target t and
 * combiner c, an overlay and its caption; per target, its title. */
typedef struct panel_parts {
    egcam_image *overlays[3][CLI_MAX_TARGETS][7];
    char captions[3][7][64];
    char titles[CLI_MAX_TARGETS][256];
} panel_parts;

/* One estimator: one explanation for every target, then each combiner's
 * overlay combined from it. */
static int compare_method(cli_session *r, const cli_input *in, egcam_image *picture, int m,
                          panel_parts *p)
{
    const cli_options *o = r->o;
    uint32_t method = o->methods[m], targets;
    cli_targets(r, &targets);
    egcam_result *base[CLI_MAX_TARGETS] = {NULL};
    double ms;
    if (cli_session_explain_many(r, &in, 1, method, o->combiners[0], base, &ms) != 0)
        return 1;
    int rc = 0;
    for (uint32_t t = 0; t < targets && !rc; t++)
        for (int c = 0; c < o->combiner_count && !rc; c++) {
            egcam_result *res = base[t];
            double t0 = cli_now_ms();
            if (c > 0 && egcam_result_combine(r->ctx, base[t], o->combiners[c], &res) != EGCAM_OK) {
                fprintf(stderr, "egcam: %s: %s: %s\n", in->path, cli_method_title(method),
                        egcam_ctx_last_error(r->ctx));
                rc = 1;
                break;
            }
            uint32_t h, w;
            const float *map = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w);
            if (egcam_render_overlay(r->ctx, picture, map, h, w, o->colormap, o->opacity,
                                     &p->overlays[m][t][c]) != EGCAM_OK) {
                fprintf(stderr, "egcam: %s: %s\n", in->path, egcam_ctx_last_error(r->ctx));
                rc = 1;
            } else {
                caption(p->captions[m][c], sizeof p->captions[m][c], o, method, o->combiners[c]);
                int32_t cls = egcam_result_class(res);
                snprintf(p->titles[t], sizeof p->titles[t], "class %d%s%s  logit %.3f", cls,
                         cli_label(r, cls) ? " " : "", cli_label(r, cls) ? cli_label(r, cls) : "",
                         egcam_result_logit(res));
                cli_report(r, in, method, res, c ? cli_now_ms() - t0 : ms);
            }
            if (res != base[t])
                egcam_result_free(res);
        }
    for (uint32_t t = 0; t < targets; t++)
        egcam_result_free(base[t]);
    return rc;
}

/* The panel's rows: one per target (the input, then each estimator), or in
 * a grid of combiners one per estimator and target (the input, then each
 * combiner). */
static int compare_rows(cli_session *r, const cli_input *in, egcam_image *picture, panel_parts *p,
                        egcam_image **rows, int *row_count)
{
    const cli_options *o = r->o;
    uint32_t targets;
    cli_targets(r, &targets);
    int grid = o->combiner_count > 1;
    int per_target = grid ? o->method_count : 1;
    *row_count = (int)targets * per_target;
    for (int row = 0; row < *row_count; row++) {
        int t = row / per_target, m0 = grid ? row % per_target : 0;
        egcam_panel_tile tiles[MAX_TILES] = {{picture, in->name, NULL}};
        int n = 1;
        for (int m = m0; m < (grid ? m0 + 1 : o->method_count); m++)
            for (int c = 0; c < o->combiner_count; c++)
                tiles[n++] = (egcam_panel_tile){p->overlays[m][t][c], p->captions[m][c], NULL};
        /* A grid names the estimator of each row; the title (class, logit)
         * heads each target's first row. */
        char heading[320];
        int first = row % per_target == 0;
        if (grid)
            snprintf(heading, sizeof heading, "%s%s%s", cli_method_title(o->methods[m0]),
                     first ? "    " : "", first ? p->titles[t] : "");
        if (egcam_render_panel(r->ctx, tiles, (uint32_t)n, grid ? heading : p->titles[t],
                               &rows[row]) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s: %s\n", in->path, egcam_ctx_last_error(r->ctx));
            return 1;
        }
    }
    return 0;
}

static int compare_input(cli_session *r, const cli_input *in)
{
    const cli_options *o = r->o;
    egcam_image scratch;
    uint8_t *pixels = NULL;
    egcam_image *picture = input_picture(in, &scratch, &pixels);
    panel_parts *p = calloc(1, sizeof *p);
    egcam_image *rows[MAX_ROWS] = {NULL};
    int row_count = 0, rc = picture && p ? 0 : 1;
    if (rc)
        fprintf(stderr, "egcam: %s: out of memory\n", in->path);
    for (int m = 0; m < o->method_count && !rc; m++)
        rc = compare_method(r, in, picture, m, p);
    if (!rc)
        rc = compare_rows(r, in, picture, p, rows, &row_count);
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
    for (int k = 0; k < MAX_ROWS; k++)
        egcam_image_free(rows[k]);
    if (p)
        for (int m = 0; m < 3; m++)
            for (int t = 0; t < CLI_MAX_TARGETS; t++)
                for (int c = 0; c < 7; c++)
                    egcam_image_free(p->overlays[m][t][c]);
    free(p);
    free(pixels);
    return rc;
}

static int compare_one(cli_session *r, const cli_input *const *ins, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++)
        rc |= compare_input(r, ins[i]);
    return rc;
}

int cli_compare_main(cli_options *o)
{
    /* One input at a time: each estimator's explanation is one call already. */
    return cli_session_each_batch(o, o->methods, o->method_count, 1, compare_one);
}
