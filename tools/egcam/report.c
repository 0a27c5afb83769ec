/* report.c - a result's JSON line and warnings (report.h). */
#include "report.h"

#include <stdio.h>

#include "json.h"
#include "process.h"

/* A result whose gradient at the layer was zero everywhere: the map is
 * empty, which is arithmetic, not an explanation. Said on stderr. */
static void warn_zero_gradient(cli_session *r, const cli_input *in, uint32_t method,
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

enum { TOP_CLASSES = 5 };

/* ", "top": [...]": the input's TOP_CLASSES most probable classes (fewer
 * when the model has fewer), largest first, ties to the lower class: what
 * the model predicted, beside what was explained. */
static void report_top(FILE *out, const cli_session *r, const egcam_result *res)
{
    uint32_t count = 0;
    const float *logits = egcam_result_logits(res, &count);
    const float *probs = egcam_result_probabilities(res, NULL);
    int32_t top[TOP_CLASSES];
    uint32_t n = 0;
    for (uint32_t c = 0; c < count; c++) { /* insertion into the short list */
        uint32_t at = n < TOP_CLASSES ? n++ : TOP_CLASSES;
        while (at > 0 && logits[c] > logits[top[at - 1]]) {
            if (at < TOP_CLASSES)
                top[at] = top[at - 1];
            at--;
        }
        if (at < TOP_CLASSES)
            top[at] = (int32_t)c;
    }
    fprintf(out, ", \"top\": [");
    for (uint32_t i = 0; i < n; i++) {
        fprintf(out, "%s{\"class\": %d, \"label\": ", i ? ", " : "", top[i]);
        if (cli_label(r, top[i]))
            cli_json_string(out, cli_label(r, top[i]));
        else
            fprintf(out, "null");
        fprintf(out, ", \"logit\": %.9g, \"probability\": %.6g}", logits[top[i]], probs[top[i]]);
    }
    fprintf(out, "]");
}

void cli_report(cli_session *r, const cli_input *in, uint32_t method, const egcam_result *res,
                double ms)
{
    FILE *out = cli_out();
    int32_t cls = egcam_result_class(res);
    /* The gradients the explanation took, as the library counts them. */
    egcam_config cfg;
    const egcam_refset *set = cli_method_config(r, method, &cfg);
    uint64_t samples = 0;
    if (egcam_explain_cost(r->ctx, &cfg, in->tensor, set, NULL, &samples, NULL) != EGCAM_OK)
        samples = 0;
    fprintf(out, "{\"input\": ");
    cli_json_string(out, in->path);
    fprintf(out, ", \"name\": ");
    cli_json_string(out, in->name);
    fprintf(out, ", \"method\": \"%s\", \"combiner\": \"%s\", \"class\": %d, \"label\": ",
            cli_method_name(method), egcam_combiner_name(egcam_result_combiner(res)), cls);
    if (cli_label(r, cls))
        cli_json_string(out, cli_label(r, cls));
    else
        fprintf(out, "null");
    fprintf(out,
            ", \"logit\": %.9g, \"completeness\": %.9g, \"samples\": %llu, \"milliseconds\": %.3f, "
            "\"zero_gradient\": %s",
            egcam_result_logit(res), egcam_result_completeness(res), (unsigned long long)samples,
            ms, egcam_result_flags(res) & EGCAM_RESULT_ZERO_GRADIENT ? "true" : "false");
    if (!r->mask_seed) /* a seed over a segmentation output: its logits are pixels */
        report_top(out, r, res);
    fprintf(out, "}\n");
    fflush(out);
    warn_zero_gradient(r, in, method, res);
}
