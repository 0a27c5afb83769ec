/* explain.c - `egcam explain`: each input explained with one method, its
 * maps written as .npy and, for images, an overlay as PNG (docs/cli.md). */
#include <stdio.h>

#include <egcam/egcam.h>
#include <egcam/egcam_image.h>

#include "commands.h"
#include "outputs.h"
#include "report.h"
#include "session.h"

static int explain_input(cli_session *r, const cli_input *in)
{
    double ms;
    egcam_result *res =
        cli_session_explain(r, in->tensor, in->path, r->o->cfg.method, r->o->cfg.combiner, &ms);
    if (!res)
        return 1;
    uint32_t h, w, lh, lw;
    const float *map = egcam_result_map(res, EGCAM_MAP_NORMALIZED, &h, &w);
    const float *layer = egcam_result_map(res, EGCAM_MAP_LAYER, &lh, &lw);
    egcam_tensor map_t = {map, {h, w}, 2, 0}, layer_t = {layer, {lh, lw}, 2, 0};
    cli_outputs o = {r, in->name, {NULL}, 0};
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
    egcam_result_free(res);
    return rc;
}

int cli_explain_main(cli_options *o)
{
    return cli_session_each_input(o, &o->cfg.method, 1, explain_input);
}
