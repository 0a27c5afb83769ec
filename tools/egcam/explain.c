/* explain.c - `egcam explain`: the inputs explained with one method, a
 * batch of them at a time, for each target; each result's maps written as
 * .npy and, for images, an overlay as PNG (docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

#include "commands.h"
#include "outputs.h"
#include "report.h"
#include "session.h"

/* What the outputs of target t of an input are called: the input's name,
 * and with several targets NAME.classK (--class) or NAME.topR (--top). */
static void target_name(const cli_session *r, const cli_input *in, uint32_t t, char *buf,
                        size_t size)
{
    const cli_options *o = r->o;
    if (!o->target_count)
        snprintf(buf, size, "%s", in->name);
    else if (o->top)
        snprintf(buf, size, "%s.top%u", in->name, t + 1);
    else
        snprintf(buf, size, "%s.class%d", in->name, o->targets[t]);
}

static int write_result(cli_session *r, const cli_input *in, const char *name,
                        const egcam_result *res, double ms)
{
    uint32_t h, w, lh, lw;
    const float *map = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w);
    const float *layer = egcam_result_map(res, EGCAM_MAP_LAYER, &lh, &lw);
    egcam_tensor map_t = {map, {h, w}, 2, 0}, layer_t = {layer, {lh, lw}, 2, 0};
    cli_outputs o = {r, name, {NULL}, 0};
    int rc =
        cli_output(&o, ".map.npy", &map_t, NULL) || cli_output(&o, ".layer.npy", &layer_t, NULL);
    if (!rc && in->image) {
        egcam_image *overlay = NULL;
        if (egcam_render_overlay(r->ctx, in->image, map, h, w, r->o->colormap, r->o->opacity,
                                 &overlay) != EGCAM_OK) {
            fprintf(stderr, "egcam: %s: %s\n", in->path, egcam_ctx_last_error(r->ctx));
            rc = 1;
        } else {
            rc = cli_output(&o, ".overlay.png", NULL, overlay);
        }
        egcam_image_free(overlay);
    }
    cli_outputs_end(&o, rc);
    if (!rc)
        cli_report(r, in, r->o->cfg.method, res, ms);
    return rc;
}

/* n inputs of one shape in one call; their results written in order. */
static int explain_batch(cli_session *r, const cli_input *const *ins, int n)
{
    uint32_t targets;
    cli_targets(r, &targets);
    size_t count = (size_t)n * targets;
    egcam_result **results = calloc(count, sizeof *results);
    if (!results) {
        fprintf(stderr, "egcam: out of memory\n");
        return 1;
    }
    double ms;
    int rc = cli_session_explain_many(r, ins, n, r->o->cfg.method, r->o->cfg.combiner, results,
                                      &ms) != 0;
    for (int i = 0; i < n; i++)
        for (uint32_t t = 0; t < targets; t++) {
            const egcam_result *res = results[(size_t)i * targets + t];
            char name[4096];
            target_name(r, ins[i], t, name, sizeof name);
            if (res && write_result(r, ins[i], name, res, ms / (double)n) != 0)
                rc = 1;
        }
    for (size_t k = 0; k < count; k++)
        egcam_result_free(results[k]);
    free(results);
    return rc;
}

int cli_explain_main(cli_options *o)
{
    return cli_session_each_batch(o, &o->cfg.method, 1, 0, explain_batch);
}
